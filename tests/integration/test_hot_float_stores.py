"""Float attributes overwritten in place through the whole runtime (issue 11,
``docs/architecture.md`` "Instances"): a float the instance alone holds is written in
place; one a caller kept is replaced by a new float, so the kept one keeps its value.
"""

from __future__ import annotations

import struct

import autotier
from tests.runtime.helpers import make_hot, promote


class Body:
    def __init__(self, x, vx, m):
        self.x = x
        self.vx = vx
        self.m = m


def advance(b, dt):
    b.x += b.vx * dt
    b.vx *= 0.99
    return b.m * b.vx * b.vx


def test_floats_held_elsewhere_keep_their_values():
    hf = make_hot(advance)
    body = Body(0.0, 1.0, 2.0)
    promote(hf, body, 0.1)
    twin = Body(body.x, body.vx, body.m)
    for step in range(20):
        kept = [body.x, body.vx] if step % 3 else []
        values = [struct.pack("<d", v) for v in kept]
        assert hf(body, 0.1) == advance(twin, 0.1)
        assert [struct.pack("<d", v) for v in kept] == values
        assert (body.x, body.vx) == (twin.x, twin.vx)
    assert autotier.stats(hf).bailouts == 0


def test_a_float_the_instance_alone_holds_is_written_in_place():
    hf = make_hot(advance)
    body = Body(0.0, 1.0, 2.0)
    promote(hf, body, 0.1)
    hf(body, 0.1)  # the body's floats are now its own
    twin = Body(body.x * 1.0, body.vx * 1.0, body.m)  # (floats of its own, equal)
    where = id(body.x), id(body.vx)
    for _ in range(10):
        assert hf(body, 0.1) == advance(twin, 0.1)
    assert (id(body.x), id(body.vx)) == where
    assert (body.x, body.vx) == (twin.x, twin.vx)
