"""The builtins and ``math`` members compiled code may use, and how names resolve.

:class:`Resolver` answers LOAD_GLOBAL and LOAD_ATTR at compile time: a global bound
to an int/float/bool becomes a constant, ``abs``/``min``/... and ``math.*`` become
*statics* (compile-time values the stack simulation carries to the CALL that uses
them), and every namespace entry consulted is recorded as a :class:`GlobalDep`.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass, field
from enum import Enum
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

from autotier import compat
from autotier.abi import hot_target
from autotier.frontend.errors import Unsupported, at_line
from autotier.frontend.ir import FrameState, Var, VKind
from autotier.frontend.model import MISSING, GlobalDep

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class Builtin(Enum):
    ABS = "abs"
    MIN = "min"
    MAX = "max"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    ROUND = "round"
    RANGE = "range"
    LEN = "len"
    ENUMERATE = "enumerate"
    ZIP = "zip"
    SUM = "sum"
    COMPLEX = "complex"
    REVERSED = "reversed"
    LIST = "list"
    SLICE = "slice"  # made by BUILD_SLICE (``xs[a:b]``); calling it is declined


# The genuine objects, saved at import: a name rebound later is not one of them.
_BUILTIN_OBJECTS: dict[Builtin, object] = {b: getattr(builtins, b.value) for b in Builtin}
_BUILTIN_BY_ID = {id(obj): b for b, obj in _BUILTIN_OBJECTS.items()}


@dataclass(frozen=True)
class MathFunction:
    name: str
    arities: tuple[int, ...]  # accepted numbers of positional arguments
    result: VKind  # what it returns for int/float/bool arguments


_FLOAT1 = ("sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
           "exp", "expm1", "log1p", "log2", "log10", "fabs")
_FLOAT2 = ("atan2", "pow", "hypot", "copysign", "fmod")
MATH_FUNCTIONS: dict[str, MathFunction] = {
    **{n: MathFunction(n, (1,), VKind.FLOAT) for n in _FLOAT1},
    **{n: MathFunction(n, (2,), VKind.FLOAT) for n in _FLOAT2},
    "log": MathFunction("log", (1, 2), VKind.FLOAT),
    **{n: MathFunction(n, (1,), VKind.INT) for n in ("floor", "ceil", "trunc")},
    **{n: MathFunction(n, (1,), VKind.BOOL) for n in ("isnan", "isinf", "isfinite")},
}
MATH_CONSTANTS = ("pi", "e", "tau", "inf", "nan")
_MATH_OBJECTS: dict[str, object] = {n: getattr(math, n) for n in MATH_FUNCTIONS}
_MATH_BY_ID = {id(obj): n for n, obj in _MATH_OBJECTS.items()}


# ------------------------------------------------------------------ statics


@dataclass(frozen=True)
class Null:
    """The NULL that LOAD_GLOBAL / PUSH_NULL put below a callable."""


@dataclass(frozen=True)
class NoneValue:
    pass


@dataclass(frozen=True)
class BuiltinRef:
    builtin: Builtin


@dataclass(frozen=True)
class MathModule:
    pass


@dataclass(frozen=True)
class MathFunctionRef:
    name: str


@dataclass(frozen=True)
class HotFunctionRef:
    """A global bound to a Python function the compile calls natively: an
    ``@autotier.hot`` object's function, or a plain function nobody decorated (both
    guarded alike: the global's identity and the function's ``__code__``)."""

    func: FunctionType
    global_name: str


@dataclass(frozen=True)
class ModuleRef:
    """A global bound to a module (other than ``math``): its attributes are read
    at compile time and guarded like globals (the module's dict)."""

    module: ModuleType


@dataclass(frozen=True)
class CallableRef:
    """A builtin or C function (``print``, ``divmod``, ``random.random``), a module's
    Python function or a class: native code calls it through the C API
    (``ir.CallObject``; a class's instance: :mod:`autotier.frontend.results`)."""

    obj: object
    name: str


@dataclass(frozen=True)
class TupleValue:
    items: tuple[Var | Static, ...]


@dataclass(frozen=True)
class BuiltinCallValue:
    """What ``enumerate(source, start)`` or ``zip(*sources)`` returned, before GET_ITER
    (``items``: its arguments), or, ``iterating``, the iterator over it: ``items`` then
    hold the underlying iterator and the next count (enumerate), or each source's
    iterator (zip).  A resume rebuilds it as that call of those items."""

    builtin: Builtin
    items: tuple[Var, ...]
    iterating: bool = False


@dataclass(frozen=True)
class BoundMethodValue:
    """``obj.name`` of a value (``xs.append``), to be called at once; a resume rebuilds
    it as ``getattr(obj, name)``."""

    name: str
    items: tuple[Var, ...]  # the object
    # where it was loaded: the block and the count of its instructions then (a method
    # call checks nothing that may run Python code came between: frontend.methods, or
    # puts a MethodCheck there), and the frame state of the load
    block: int = -1
    mark: int = -1
    state: FrameState | None = field(default=None, compare=False, repr=False)
    uid: int = -1  # unique in its function (a MethodCheck names it)


@dataclass(frozen=True)
class AttrValue:
    """``obj.name`` of a value that is no number native code holds (an ndarray's
    ``shape``), taken apart where it is used (``a.shape[k]``, ``n, m = a.shape``); a
    resume rebuilds it as ``getattr(obj, name)``."""

    name: str
    items: tuple[Var, ...]  # the object


@dataclass(frozen=True)
class DtypeRef:
    """A numpy scalar type of an array dtype (``numpy.int64``), bound to a global or a
    module's attribute: a ``dtype=`` argument of the array makers (:mod:`.newarrays`)."""

    obj: type
    dtype: str  # one of abi.ARRAY_DTYPES


@dataclass(frozen=True)
class StrConst:
    """A str constant: only an argument the frontend reads at compile time (a dtype's
    name); used as a value it is declined."""

    value: str


Static = (Null | NoneValue | BuiltinRef | MathModule | MathFunctionRef | HotFunctionRef
          | ModuleRef | CallableRef | TupleValue | BuiltinCallValue | BoundMethodValue
          | AttrValue | DtypeRef | StrConst)
Constant = int | float | bool | complex


def builtin_static(value: object) -> Static:
    """The static a LOAD_GLOBAL of the genuine builtin ``value`` resolves to (for a
    constant of it: :mod:`autotier.frontend.genexps`' identity test)."""
    builtin = _BUILTIN_BY_ID.get(id(value))
    if builtin is not None and _BUILTIN_OBJECTS[builtin] is value:
        return BuiltinRef(builtin)
    assert type(value) is BuiltinFunctionType
    return CallableRef(value, value.__name__)


def known_builtin(static: Static) -> object | None:
    """The builtin function a static stands for (None for every other static)."""
    if isinstance(static, BuiltinRef):
        return _BUILTIN_OBJECTS[static.builtin]
    if isinstance(static, CallableRef) and type(static.obj) is BuiltinFunctionType:
        return static.obj
    return None


def describe(static: Static) -> str:
    if isinstance(static, BuiltinRef):
        return f"builtin {static.builtin.value}()"
    if isinstance(static, MathFunctionRef):
        return f"math.{static.name}()"
    if isinstance(static, HotFunctionRef):
        return f"function {static.func.__qualname__}()"
    if isinstance(static, MathModule):
        return "the math module"
    if isinstance(static, ModuleRef):
        return f"module {static.module.__name__}"
    if isinstance(static, CallableRef):
        return f"{static.name}()"
    if isinstance(static, TupleValue):
        return "a tuple"
    if isinstance(static, BuiltinCallValue):
        return f"a {static.builtin.value} object"
    if isinstance(static, BoundMethodValue):
        return f"method .{static.name}()"
    if isinstance(static, AttrValue):
        return f"attribute .{static.name}"
    if isinstance(static, DtypeRef):
        return f"numpy.{static.obj.__name__}"
    if isinstance(static, StrConst):
        return "a str constant"
    if isinstance(static, NoneValue):
        return "None"
    return "NULL"


def dtype_ref(value: object) -> DtypeRef | None:
    """``numpy.float64`` and its kin (the scalar types of ``abi.ARRAY_DTYPES``), else None."""
    np = compat.imported("numpy")
    if np is None or not isinstance(value, type) or not issubclass(value, np.generic):
        return None
    from autotier.abi import ARRAY_DTYPES

    scalar: type = value
    try:
        name = np.dtype(scalar).name
    except TypeError:  # an abstract scalar type (np.floating, np.integer, ...): no dtype
        return None
    if name not in ARRAY_DTYPES or getattr(np, name, None) is not value:
        return None
    return DtypeRef(scalar, name)


def builtin_object(name: str) -> object:
    """The genuine builtin ``name`` (as saved at import)."""
    return _BUILTIN_OBJECTS[Builtin(name)]


def static_object(static: Static) -> object:
    """The object a static stands for (a resume function pushes it back)."""
    if isinstance(static, BuiltinRef):
        return _BUILTIN_OBJECTS[static.builtin]
    if isinstance(static, MathFunctionRef):
        return _MATH_OBJECTS[static.name]
    if isinstance(static, MathModule):
        return math
    if isinstance(static, NoneValue):
        return None
    if isinstance(static, ModuleRef):
        return static.module
    if isinstance(static, CallableRef | DtypeRef):
        return static.obj
    if isinstance(static, StrConst):
        return static.value
    raise TypeError(f"autotier: {describe(static)} stands for no single object")


def constant_ok(value: object) -> bool:
    """True for the constants native code holds: bool, float, complex, int in int64
    range."""
    t = type(value)
    if t is bool or t is float or t is complex:
        return True
    return t is int and INT64_MIN <= value <= INT64_MAX  # type: ignore[operator]


#: builtins whose answer depends on the calling Python frame (native code has none)
FRAME_BUILTINS = frozenset({"locals", "globals", "vars", "dir", "eval", "exec", "super",
                            "breakpoint", "__import__", "__build_class__"})


class Resolver:
    """Resolves one function's global names and records what they relied on."""

    def __init__(self, func: FunctionType) -> None:
        self.func = func
        self.globals: dict[str, object] = func.__globals__
        b: Any = getattr(func, "__builtins__")  # noqa: B009 (typeshed lacks it)
        self.builtins: dict[str, object] = b.__dict__ if isinstance(b, ModuleType) else b
        self.deps: list[GlobalDep] = []
        # (callee, its __defaults__ tuple) for calls that took a default from it
        self.defaults: list[tuple[FunctionType, tuple[object, ...]]] = []

    def _fail(self, what: str, line: int) -> Unsupported:
        return Unsupported(f"{at_line(what, line)} (in {self.func.__qualname__})")

    def _record(self, namespace: dict[str, object], name: str, value: object) -> None:
        dep = GlobalDep(namespace, name, value)
        if dep not in self.deps:
            self.deps.append(dep)

    def load_global(self, name: str, line: int) -> Constant | Static:
        if name in self.globals:
            value = self.globals[name]
            self._record(self.globals, name, value)
            return self._classify_global(name, value, line)
        self._record(self.globals, name, MISSING)
        if name not in self.builtins:
            raise self._fail(f"name {name!r} is not defined", line)
        value = self.builtins[name]
        self._record(self.builtins, name, value)
        builtin = _BUILTIN_BY_ID.get(id(value))
        if builtin is None or value is not _BUILTIN_OBJECTS[builtin]:
            if type(value) is BuiltinFunctionType and name not in FRAME_BUILTINS:
                return CallableRef(value, name)  # CPython's own, through the C API
            raise self._fail(f"builtin {name}() is not supported", line)
        return BuiltinRef(builtin)

    def _classify_global(self, name: str, value: object, line: int) -> Constant | Static:
        if type(value) in (int, float, bool, complex):
            if not constant_ok(value):
                raise self._fail(f"global {name!r} is an int beyond 64 bits", line)
            return value  # type: ignore[return-value]
        if value is math:
            return MathModule()
        math_name = _MATH_BY_ID.get(id(value))
        if math_name is not None and _MATH_OBJECTS[math_name] is value:
            return MathFunctionRef(math_name)
        builtin = _BUILTIN_BY_ID.get(id(value))
        if builtin is not None and _BUILTIN_OBJECTS[builtin] is value:
            return BuiltinRef(builtin)
        target = hot_target(value)
        if target is not None:
            return HotFunctionRef(target, name)
        if type(value) is FunctionType:  # a helper nobody decorated: compiled in too
            return HotFunctionRef(value, name)
        if type(value) in (BuiltinFunctionType, MethodType):  # through the C API
            return CallableRef(value, name)
        if type(value) is ModuleType:
            return ModuleRef(value)
        dtype = dtype_ref(value)
        if dtype is not None:
            return dtype
        if isinstance(value, type):  # a class: called through the C API (a constructor's
            return CallableRef(value, name)  # result is an instance: frontend.results)
        raise self._fail(
            f"global {name!r} is a {type(value).__name__}: only int/float/bool constants, "
            "the math module, classes and Python functions are supported", line)

    def load_attr(self, obj: Static, name: str, line: int) -> Constant | Static:
        if isinstance(obj, ModuleRef):
            return self._module_attr(obj.module, name, line)
        if not isinstance(obj, MathModule):
            raise self._fail(f"attribute .{name} of {describe(obj)} is not supported", line)
        namespace = math.__dict__
        value = namespace.get(name, MISSING)
        self._record(namespace, name, value)
        if name in MATH_CONSTANTS and type(value) is float:
            return value
        if name in MATH_FUNCTIONS and value is _MATH_OBJECTS[name]:
            return MathFunctionRef(name)
        raise self._fail(f"math.{name} is not supported", line)

    def _module_attr(self, module: ModuleType, name: str, line: int) -> Constant | Static:
        """``module.name``, guarded like a global (the module's dict and the binding)."""
        namespace = module.__dict__
        value = namespace.get(name, MISSING)
        self._record(namespace, name, value)
        if type(value) in (int, float, bool, complex) and constant_ok(value):
            return value
        if type(value) in (BuiltinFunctionType, FunctionType, MethodType):
            return CallableRef(value, f"{module.__name__}.{name}")
        if type(value) is ModuleType:
            return ModuleRef(value)
        dtype = dtype_ref(value)
        if dtype is not None:
            return dtype
        if isinstance(value, type):  # a class, called through the C API
            return CallableRef(value, f"{module.__name__}.{name}")
        what = "missing" if value is MISSING else f"a {type(value).__name__}"
        raise self._fail(f"{module.__name__}.{name} ({what}) is not supported", line)
