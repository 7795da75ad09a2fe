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
    LIST = 6  # an exact list (a borrowed PyObject *); its elements' kinds are speculated
    TUPLE = 7  # an exact tuple, likewise
    LIST_ITER = 8  # an iterator over a list (the list, the next index)
    TUPLE_ITER = 9  # an iterator over a tuple (the tuple, the next index)
    NONE = 10  # None (held as an i1 0): a result, or what a store "returns"
    OBJECT = 11  # a new reference (i8*): a tuple built for the root's return, only
    ARRAY = 12  # an exact numpy.ndarray (a borrowed PyObject *); dtype, ndim: Typed.arrays
    ARRAY_ITER = 13  # an iterator over a 1-d array (the array, the next index)
    COMPLEX = 14  # an exact complex, held as <2 x double> (frontend/cvalues.py)
    # an instance of exactly one user class (a PyObject *); its class: Typed.instances
    INSTANCE = 15
    # ``reversed()`` of a list or tuple (the sequence, the next index, counting down)
    LIST_RITER = 16
    TUPLE_RITER = 17
    # numpy scalars, held as their machine type (frontend/npvalues.py, npscalars.py)
    NP_BOOL = 20
    NP_INT8 = 21
    NP_INT16 = 22
    NP_INT32 = 23
    NP_INT64 = 24
    NP_UINT8 = 25
    NP_UINT16 = 26
    NP_UINT32 = 27
    NP_UINT64 = 28
    NP_FLOAT32 = 29
    NP_FLOAT64 = 30


Kinds = frozenset[VKind]
NO_KINDS: Kinds = frozenset()
SCALARS: Kinds = frozenset({VKind.INT, VKind.FLOAT, VKind.BOOL})
SEQUENCES: Kinds = frozenset({VKind.LIST, VKind.TUPLE})
SEQ_ITERS: Kinds = frozenset({VKind.LIST_ITER, VKind.TUPLE_ITER, VKind.LIST_RITER,
                              VKind.TUPLE_RITER})
#: reversed iterators (``reversed(xs)``: the index counts down)
REVERSED_ITERS: Kinds = frozenset({VKind.LIST_RITER, VKind.TUPLE_RITER})
NP_SCALARS: Kinds = frozenset(k for k in VKind if k.name.startswith("NP_"))
#: numpy's integer scalars: an index as their value (``__index__``); numpy.bool_ is not
NP_INTS: Kinds = frozenset(k for k in NP_SCALARS if k.name.startswith(("NP_INT", "NP_UINT")))
#: what a numpy dtype's elements are
NP_OF_DTYPE = {k.name.removeprefix("NP_").lower(): k for k in NP_SCALARS}
#: a sequence kind -> the kind of an iterator over it, and back
ITER_OF = {VKind.LIST: VKind.LIST_ITER, VKind.TUPLE: VKind.TUPLE_ITER,
           VKind.ARRAY: VKind.ARRAY_ITER}
#: a sequence kind -> the kind of ``reversed()`` of it
RITER_OF = {VKind.LIST: VKind.LIST_RITER, VKind.TUPLE: VKind.TUPLE_RITER}
ITERATED = {**{v: k for k, v in ITER_OF.items()}, **{v: k for k, v in RITER_OF.items()}}


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


def vkind_of(kind: object) -> VKind:
    """The kind of a parameter of signature entry ``kind`` (abi.Kind, ArrayKind or
    NumpyKind)."""
    from autotier.abi import ArrayKind, InstanceKind, InstancesKind, NumpyKind

    if isinstance(kind, InstancesKind):
        return VKind(kind.seq)
    if isinstance(kind, ArrayKind):
        return VKind.ARRAY
    if isinstance(kind, InstanceKind):
        return VKind.INSTANCE
    if isinstance(kind, NumpyKind):
        return NP_OF_DTYPE[kind.dtype]
    return VKind(kind)  # type: ignore[arg-type]
