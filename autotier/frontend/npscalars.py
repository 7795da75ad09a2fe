"""numpy scalar semantics for the frontend: kinds, NEP 50 promotion, values and traps.

The frontend holds numpy scalars (``numpy.float64`` ... ``numpy.bool_``) unboxed, as the
machine type, with numpy 2's semantics.  This module is the one description of those
semantics it types and lowers by; it is pure Python (no llvmlite) and decides three things
for each operation:

- its *kinds*: :func:`binary` and :func:`result_kind` (NEP 50: a Python ``int`` or
  ``float`` operand is *weak* and takes the numpy operand's kind, ``float32 + 1.0`` is
  float32, ``int64 + 1`` is int64, ``int32 + 1.5`` is float64; a Python ``bool`` is a
  ``numpy.bool_``), :func:`unary_kind`, :func:`builtin_result`, :func:`math_result`;
  what numpy refuses (``bool - bool``, ``float & float``, ``-bool``) raises
  :class:`~autotier.frontend.errors.Unsupported`;
- the *value* native code computes (:func:`evaluate`, :func:`unary`, :func:`builtin`):
  integers wrap in their width, floats are IEEE operations in the kind's precision
  (float32 in single precision), numpy's own floor division and modulo;
- its *traps*: where numpy warns (``RuntimeWarning: overflow encountered in scalar
  add``, ``divide by zero ...``, ``invalid value ...``, ``overflow encountered in cast``)
  or raises (``ValueError: Integers to negative integer powers are not allowed.``,
  ``OverflowError: Python integer 1000 out of bounds for int8``).  Each reference
  function returns the wrapped value *and* the trap; the lowering computes the same
  predicate beside the value and deoptimises when it holds, so numpy runs the operation
  itself and warns or raises under the user's ``numpy.errstate``.  A rule's
  ``exact_guard`` says whether its predicate is exactly numpy's (it warns iff the trap is
  set) or conservative (set also where numpy would answer quietly: only slower).

The predicates assume numpy's error state ignores underflow (its default): numpy never
warns for an underflow then.  A lowering must guard that state (or deoptimise for tiny
results) before relying on them; every other error state is handled by deoptimising.

Values are Python numbers: ints in their kind's range, floats as doubles (a float32 value
is a double holding that float32; a float32 signalling nan cannot be held, so the
float32 references never see one), bools as ``bool``.  Measured with numpy
:data:`NUMPY_MEASURED` by ``tools/npscalar_survey.py``; ``tests/frontend/test_npscalars.py``
checks every rule against numpy.

The description is in three modules, every public name of which this one re-exports
(the frontend, the tools and the tests import them from here): :mod:`.npkinds` (the
kinds and their promotion), :mod:`.nprules` (each operation's kinds, conversions and
traps) and :mod:`.npreference` (the values and traps native code computes).
"""

from __future__ import annotations

from autotier.frontend.npkinds import (
    BOOL,
    FLOAT32,
    FLOAT64,
    INT8,
    INT16,
    INT32,
    INT64,
    INT_KINDS,
    KINDS,
    NUMPY_MEASURED,
    UINT8,
    UINT16,
    UINT32,
    UINT64,
    NpKind,
    Number,
    Operand,
    Sort,
    holds,
    kind_of,
    promote,
)
from autotier.frontend.npreference import (
    F32_MAX,
    Outcome,
    bool_binary,
    builtin,
    c_pow,
    convert,
    evaluate,
    float_binary,
    float_divmod,
    ieee_trap,
    int_binary,
    is_snan,
    is_snan_bits,
    round_f32,
    unary,
    wrap,
)
from autotier.frontend.nprules import (
    ARITH,
    BINOPS,
    BITWISE,
    CMPOPS,
    MATH_BOOL,
    MATH_FLOAT,
    MATH_INT,
    BinaryRule,
    Builtin,
    Conv,
    NumpyRefuses,
    Trap,
    Unary,
    binary,
    builtin_result,
    math_result,
    result_kind,
    unary_kind,
)

__all__ = [
    "ARITH",
    "BINOPS",
    "BITWISE",
    "BOOL",
    "CMPOPS",
    "F32_MAX",
    "FLOAT32",
    "FLOAT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "INT_KINDS",
    "KINDS",
    "MATH_BOOL",
    "MATH_FLOAT",
    "MATH_INT",
    "NUMPY_MEASURED",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "BinaryRule",
    "Builtin",
    "Conv",
    "NpKind",
    "Number",
    "NumpyRefuses",
    "Operand",
    "Outcome",
    "Sort",
    "Trap",
    "Unary",
    "binary",
    "bool_binary",
    "builtin",
    "builtin_result",
    "c_pow",
    "convert",
    "evaluate",
    "float_binary",
    "float_divmod",
    "holds",
    "ieee_trap",
    "int_binary",
    "is_snan",
    "is_snan_bits",
    "kind_of",
    "math_result",
    "promote",
    "result_kind",
    "round_f32",
    "unary",
    "unary_kind",
    "wrap",
]
