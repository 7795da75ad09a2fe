"""A profile function native entries do not treat as a tool: autotier's own tests
count with it which calls the interpreter ran, without sending every call there.

Any other profile or trace function on a thread makes every entry run the function in
the interpreter (``Bail.TRACED``), so that the tool sees what it sees undecorated.
``FRAME_COUNTER`` alone is exempt, and only while no trace function is set; its
identity is compiled into each entry, on the cold path taken while a thread is watched.
"""

from __future__ import annotations

from types import CodeType, FrameType


class FrameCounter:
    """Counts the Python frames started for a set of code objects."""

    def __init__(self) -> None:
        self.codes: frozenset[CodeType] = frozenset()
        self.seen = [0]

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code in self.codes:
            self.seen[0] += 1


FRAME_COUNTER = FrameCounter()
