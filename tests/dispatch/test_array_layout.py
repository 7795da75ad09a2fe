"""The ndarray and descr layout probe (dispatch/arrays.layout) finds each field itself."""

from __future__ import annotations

import numpy as np

from autotier.dispatch import arrays


def test_the_layout_found_validates_on_this_numpy():
    lay = arrays.layout()
    assert arrays._byteorder_offset(np.dtype("f8"), np.dtype(">f8"), np.dtype("<f8")) == (
        lay.byteorder)


def test_a_byte_like_the_byteorder_before_it_is_not_taken_for_it():
    # bytes of length 61 have ob_size's low byte '=' (0x3d) at offset 16, before their
    # contents at 32: a single byte compared alone (the probe before, which failed now
    # and then when a byte of the type object's address, placed by ASLR, was '=') takes
    # offset 16; the byte that is '=', '>' and '<' in the three objects is at 32 + 5
    native, big, little = (bytes(5) + c + bytes(55) for c in (b"=", b">", b"<"))
    assert len(native) == 61 and ord("=") == 61
    assert arrays._byteorder_offset(native, big, little) == 32 + 5
