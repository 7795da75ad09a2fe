"""Value kinds and operators: the vocabulary the IR and the typing rules share."""

from __future__ import annotations

from enum import Enum, IntEnum

# ------------------------------------------------------------------ kinds


class VKind(IntEnum):
    """What a value can be at run time.  INT, FLOAT, BOOL equal ``abi.Kind``'s values."""

    UNDEF = 0  # an unbound local variable (reading it raises UnboundLocalError)
    INT = 1
    FLOAT = 2
    BOOL = 3
    RANGE = 4  # a range object (start, stop, step)
    ITER = 5  # a range iterator (next value, items left, step)


Kinds = frozenset[VKind]
NO_KINDS: Kinds = frozenset()
SCALARS: Kinds = frozenset({VKind.INT, VKind.FLOAT, VKind.BOOL})


def kinds_text(kinds: Kinds) -> str:
    if not kinds:
        return "never"
    return "|".join(k.name.lower() for k in sorted(kinds))


# ------------------------------------------------------------------ operators


class BinOp(Enum):
    ADD = "+"
    SUB = "-"
    MUL = "*"
    TRUEDIV = "/"
    FLOORDIV = "//"
    MOD = "%"
    POW = "**"
    LSHIFT = "<<"
    RSHIFT = ">>"
    AND = "&"
    OR = "|"
    XOR = "^"
    MATMUL = "@"


class UnOp(Enum):
    NEG = "-"
    POS = "+"
    INVERT = "~"
    NOT = "not"


class CmpOp(Enum):
    LT = "<"
    LE = "<="
    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
