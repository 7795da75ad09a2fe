"""The frontend's one error type, shared by every stage."""

from __future__ import annotations


class Unsupported(Exception):
    """The frontend declines a function; ``reason`` says why, in words a user reads.

    Raised by any stage (decode, stackflow, typeinfer, lower); the function then stays
    interpreted (or another backend tries it).  Never used for a run-time failure:
    those are bailouts (a non-OK :class:`autotier.abi.Status`).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def at_line(what: str, line: int | None) -> str:
    """``what`` with a line number appended when one is known."""
    return f"{what} at line {line}" if line is not None else what


def a(noun: str) -> str:
    """``noun`` with its indefinite article: "a list", "an int"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun
