"""The functions one compile covers: the root and every hot function it calls.

Each Python function is decoded and turned into IR once; each *specialisation*
(function, argument kinds) is typed separately.  What a call returns depends on the
callee's typing, which may depend on the caller (recursion), so the typings are
iterated until no specialisation's return kinds grow: a fixpoint that starts from
"returns nothing" and only adds kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import CodeType, FunctionType
from typing import TypeVar

from autotier import compat
from autotier.abi import ArgKind, CalleeKind, InstanceKind, Kind
from autotier.frontend import ir, shapes
from autotier.frontend.builtins_table import Resolver
from autotier.frontend.decode import DecodedFunction, decode, too_large
from autotier.frontend.errors import Unsupported
from autotier.frontend.instances import Attrs
from autotier.frontend.ir import VKind
from autotier.frontend.methodplan import MethodPlan
from autotier.frontend.model import GlobalDep
from autotier.frontend.results import Speculated
from autotier.frontend.stackflow import build_ir
from autotier.frontend.typeinfer import (
    OPAQUE_RESULT,
    Typed,
    call_kinds,
    combos,
    infer,
    init_spec,
    method_spec,
)

Spec = tuple[FunctionType, tuple[CalleeKind, ...]]
_T = TypeVar("_T")
MAX_SPECS = 64
#: why a callee that returns an instance, or a sequence of them, is called through the C API
RETURNS_INSTANCES = "it returns instances"
#: what an ``__init__`` native code calls itself returns
NONE_ONLY: ir.Kinds = frozenset({VKind.NONE})


@dataclass(frozen=True)
class Source:
    """One Python function, decoded and in SSA form."""

    func: FunctionType
    decoded: DecodedFunction
    ir: ir.Function
    deps: tuple[GlobalDep, ...]
    defaults: tuple[tuple[FunctionType, tuple[object, ...]], ...] = ()


@dataclass
class Program:
    root: Spec
    sources: dict[FunctionType, Source] = field(default_factory=dict)
    typed: dict[Spec, Typed] = field(default_factory=dict)  # insertion order: root first
    # callee specialisations the frontend cannot compile, called through the C API
    # instead (boxed arguments, CPython running the function): why each is not native
    opaque: dict[Spec, str] = field(default_factory=dict)
    # what each typed specialisation returns, those dropped after the typing too (a
    # method returning an object: its calls are CPython's, typed by what it returns)
    returned: dict[Spec, ir.Kinds] = field(default_factory=dict)

    @property
    def passes_instances(self) -> bool:
        """Whether a native call passes an instance (a method or helper compiled in)."""
        return any(isinstance(k, InstanceKind) for spec in self.typed if spec != self.root
                   for k in spec[1])

    @property
    def deps(self) -> tuple[GlobalDep, ...]:
        out: list[GlobalDep] = []
        for source in self.sources.values():
            out.extend(d for d in source.deps if d not in out)
        return tuple(out)

    @property
    def defaults(self) -> tuple[tuple[FunctionType, tuple[object, ...]], ...]:
        """(callee, __defaults__) whose defaults native calls were compiled with."""
        out: list[tuple[FunctionType, tuple[object, ...]]] = []
        for source in self.sources.values():
            for func, defaults in source.defaults:
                if not any(f is func and d is defaults for f, d in out):
                    out.append((func, defaults))
        for plan in method_plans(self):  # a method compiled in that takes a default
            if plan.takes_defaults and not any(f is plan.func and d is plan.defaults
                                               for f, d in out):
                out.append((plan.func, plan.defaults))
        return tuple(out)

    def native_callees(self) -> tuple[str, ...]:
        """Qualnames of the functions called natively (compiled in), then of those
        called through the C API (``"name (interpreted)"``)."""
        native = dict.fromkeys(f.__qualname__ for f, _ in self.typed if f is not self.root[0])
        through = [f.__qualname__ for f, _ in self.opaque] + [
            instr.callee_name for typed in self.typed.values() for bid in typed.reached
            for instr in typed.func.block(bid).instrs if isinstance(instr, ir.CallObject)
            and not any(native_init(self, typed, instr, combo)  # constructed natively
                        for combo in combos(instr.uses(), typed.types))]
        opaque = dict.fromkeys(f"{name} (interpreted)" for name in through
                               if name not in native)
        return (*native, *opaque)

    @property
    def callee_codes(self) -> tuple[tuple[FunctionType, CodeType], ...]:
        """(callee, the ``__code__`` decoded) for every function native calls reach
        other than the root (whose code the entry checks anyway)."""
        native = {func for func, _ in self.typed}
        return tuple((func, source.decoded.code) for func, source in self.sources.items()
                     if func is not self.root[0] and func in native)


def _source(func: FunctionType) -> Source:
    resolver = Resolver(func)
    decoded = decode(func)
    built = build_ir(decoded, resolver)
    return Source(func, decoded, built, tuple(resolver.deps), tuple(resolver.defaults))


def build_program(func: FunctionType, arg_kinds: tuple[ArgKind, ...],
                  elements: Mapping[int, ir.Kinds] | None = None,
                  items: Mapping[int, ir.Kinds] | None = None,
                  attrs: Attrs | None = None, *,
                  held: Mapping[int, type] | None = None,
                  speculated: Mapping[int, Speculated] | None = None,
                  attr_classes: Mapping[tuple[type, str], type] | None = None,
                  instance_calls: bool = True,
                  contents: Mapping[int, shapes.Contents] | None = None) -> Program:
    """Decode, build and type ``func`` for ``arg_kinds`` and everything it calls;
    ``elements``: the speculated element kinds of the root's list and tuple parameters;
    ``items``: those of the items of their tuple elements; ``attrs``: those of the
    attributes of the root's instance parameters (:mod:`.instances`) and of their
    instance elements; ``held``: the class of each sequence parameter's instance
    elements; ``speculated``: what the root's calls and attribute reads at those
    offsets were seen to answer (:mod:`.results`); ``contents``: what the root's nested
    sequence parameters hold, by path (:mod:`.shapes`); ``attr_classes``: the class of the
    instances an attribute in ``attrs`` was seen holding."""
    code = func.__code__
    if len(arg_kinds) != code.co_argcount:
        raise Unsupported(f"{func.__qualname__} takes {code.co_argcount} arguments, "
                          f"not {len(arg_kinds)}")
    program = Program((func, tuple(arg_kinds)))
    program.sources[func] = _source(func)
    returns: dict[Spec, ir.Kinds] = {program.root: ir.NO_KINDS}

    undecodable: dict[FunctionType, str] = {}

    def callee_result(callee: FunctionType, kinds: tuple[CalleeKind, ...], *,
                      from_root: bool = True) -> ir.Kinds:
        spec = (callee, kinds)
        if spec in program.opaque:
            if not from_root and program.opaque[spec] == RETURNS_INSTANCES:
                # its object would resume the caller after each call (a callee's results
                # are not speculated: frontend.results): CPython runs the caller too
                raise Unsupported(f"a call of {callee.__qualname__}, which {RETURNS_INSTANCES}"
                                  ", from a function its caller calls natively")
            return OPAQUE_RESULT
        if Kind.NONE in kinds:
            program.opaque[spec] = "a None argument"
            return OPAQUE_RESULT
        if Kind.OBJECT in kinds:  # native callees take no arrays (nor instances of a
            # class not known): CPython runs it
            program.opaque[spec] = "a numpy array or instance argument"
            return OPAQUE_RESULT
        if callee in undecodable:
            program.opaque[spec] = undecodable[callee]
            return OPAQUE_RESULT
        if callee not in program.sources:
            try:
                program.sources[callee] = _source(callee)
            except Unsupported as exc:  # called through the C API instead
                undecodable[callee] = program.opaque[spec] = exc.reason
                return OPAQUE_RESULT
            # one module holds the root and every callee: the limit is on them all
            size = sum(compat.instruction_count(f.__code__) for f in program.sources)
            reason = too_large(size)
            if reason is not None:
                raise Unsupported(f"{func.__qualname__} with the functions it calls: "
                                  f"{reason}")
        if spec not in returns:
            if len(returns) >= MAX_SPECS:
                raise Unsupported(f"more than {MAX_SPECS} specialisations of called functions")
            returns[spec] = ir.NO_KINDS
        return returns[spec]

    def returned_class(callee: FunctionType, kinds: tuple[CalleeKind, ...]) -> type | None:
        typed = program.typed.get((callee, kinds))
        return None if typed is None else typed.returned_class

    # each typing and what it was told: a pass types a specialisation again only when
    # a callee's result or returned class it asked for is another now (the typing is
    # a function of those answers; the last pass of the fixpoint changes nothing)
    typings: dict[Spec, tuple[Typed, _Answers]] = {}
    changed = True
    while changed:
        changed = False
        for spec in list(returns):
            source = program.sources[spec[0]]
            root = spec == program.root
            known = typings.get(spec)
            try:
                if known is not None and known[1].still_hold():
                    typed = known[0]
                else:
                    answers = _Answers()
                    typed = infer(source.ir, spec[1],
                                  answers.recording(partial(callee_result, from_root=root)),
                                  elements if root else _any_elements(spec),
                                  items if root else None, root=root,
                                  attrs=attrs,  # by class and name: the callees' too
                                  held=held if root else None,
                                  speculated=speculated if root else None,
                                  attr_classes=attr_classes,
                                  instance_calls=instance_calls,
                                  returned_class=answers.recording(returned_class),
                                  contents=contents if root else None)
                    typings[spec] = (typed, answers)
            except Unsupported as exc:
                if root:
                    raise
                # a callee native code cannot run: called through the C API instead,
                # and its callers typed again with what such a call returns
                program.opaque[spec] = exc.reason
                del returns[spec]
                program.typed.pop(spec, None)
                changed = True
                continue
            if not root and typed.returned_class is None and _returns_instances(typed):
                # an instance or a sequence of them returned (a new reference native
                # callers do not take yet): CPython runs it, its result speculated at the
                # call site after a bailout there (frontend.results)
                program.opaque[spec] = RETURNS_INSTANCES
                del returns[spec]
                program.typed.pop(spec, None)
                changed = True
                continue
            program.typed[spec] = typed
            grown = returns[spec] | typed.returns
            if grown != returns[spec]:
                returns[spec] = grown
                changed = True
        # a callee first seen in this pass has not been typed yet
        changed = changed or any(spec not in program.typed for spec in returns)
    # a callee typed before one of its own callees went opaque is typed again above;
    # one only the opaque callees called is dropped: nothing calls it natively
    _drop_uncalled(program)
    return program


class _Answers:
    """What one typing asked the program (a callee's result kinds, the class a callee
    returns) and was answered, to tell whether typing it again would change it."""

    def __init__(self) -> None:
        self.asked: dict[tuple[int, FunctionType, tuple[CalleeKind, ...]],
                         tuple[Callable[..., object], object]] = {}
        self.stable = True  # no question was answered two ways during the typing

    def recording(self, ask: Callable[[FunctionType, tuple[CalleeKind, ...]], _T]
                  ) -> Callable[[FunctionType, tuple[CalleeKind, ...]], _T]:
        def recorded(callee: FunctionType, kinds: tuple[CalleeKind, ...]) -> _T:
            answer = ask(callee, kinds)
            key = (id(ask), callee, kinds)
            if key in self.asked and self.asked[key][1] != answer:
                self.stable = False
            self.asked.setdefault(key, (ask, answer))
            return answer
        return recorded

    def still_hold(self) -> bool:
        """Whether every question asked is answered the same way now (asking again:
        the answers' side effects, a callee's first result, happened already)."""
        if not self.stable:
            return False
        for (_, callee, kinds), (ask, answer) in self.asked.items():
            try:
                if ask(callee, kinds) != answer:
                    return False
            except Unsupported:
                return False
        return True


def _returns_instances(typed: Typed) -> bool:
    """Whether a function may return an instance, or a list or tuple of instances."""
    for bid in typed.completed:
        term = typed.func.block(bid).term
        if isinstance(term, ir.Return):
            kinds = typed.types[term.value]
            if VKind.INSTANCE in kinds or (kinds & {VKind.LIST, VKind.TUPLE} and VKind.INSTANCE
                                           in typed.elements.get(term.value, ir.NO_KINDS)):
                return True
    return False


def native_calls(program: Program, typed: Typed) -> list[Spec]:
    """The specialisations ``typed`` calls natively: its calls of Python functions and
    its method calls compiled in (:mod:`.methodplan`)."""
    out: list[Spec] = []
    for bid in typed.reached:
        for instr in typed.func.block(bid).instrs:
            for spec in _instr_calls(program, typed, instr):
                if spec not in out:
                    out.append(spec)
    return out


def native_init(program: Program, typed: Typed, instr: ir.CallObject,
                combo: tuple[VKind, ...]) -> tuple[MethodPlan, tuple[CalleeKind, ...]] | None:
    """The ``__init__`` a constructor call runs natively (:mod:`.construct`): its plan
    and kinds, where it is compiled and returns None only (else CPython constructs:
    its TypeError for another result is CPython's)."""
    init = init_spec(instr, combo, typed.call_classes, typed.held)
    if init is None:
        return None
    spec = (init[0].func, init[1])
    if spec not in program.typed or program.typed[spec].returns != NONE_ONLY:
        return None
    return init


def _instr_calls(program: Program, typed: Typed, instr: ir.Instr) -> list[Spec]:
    if not isinstance(instr, ir.CallFunction | ir.CallMethod | ir.CallObject):
        return []
    out: list[Spec] = []
    for combo in combos(instr.uses(), typed.types):
        if isinstance(instr, ir.CallObject):
            init = native_init(program, typed, instr, combo)
            if init is not None and (init[0].func, init[1]) not in out:
                out.append((init[0].func, init[1]))
            continue
        if isinstance(instr, ir.CallFunction):
            spec: Spec = (instr.callee,
                          call_kinds(instr, combo, typed.call_classes, typed.held))
        else:
            method = method_spec(instr, combo, typed.call_classes, typed.held)
            if method is None:
                continue
            spec = (method[0].func, method[1])
            if spec in program.typed and VKind.OBJECT in program.typed[spec].returns:
                continue  # (an object returned: CPython's method call, typeinfer)
        if spec in program.typed:
            out.append(spec)
    return out


def method_plans(program: Program) -> list[MethodPlan]:
    """The plans of the method calls compiled in (their defaults are guarded)."""
    out: list[MethodPlan] = []
    for typed in program.typed.values():
        native = native_calls(program, typed)
        for bid in typed.reached:
            for instr in typed.func.block(bid).instrs:
                if isinstance(instr, ir.CallObject):  # a constructor's __init__
                    out.extend(init[0] for combo in combos(instr.uses(), typed.types)
                               if (init := native_init(program, typed, instr, combo)))
                if not isinstance(instr, ir.CallMethod):
                    continue
                for combo in combos(instr.uses(), typed.types):
                    method = method_spec(instr, combo, typed.call_classes, typed.held)
                    if method is not None and (method[0].func, method[1]) in native:
                        out.append(method[0])
    return out


def _drop_uncalled(program: Program) -> None:
    """Forget specialisations no native call reaches any more (their only callers
    became calls through the C API)."""
    program.returned.update((spec, typed.returns) for spec, typed in program.typed.items())
    reached = {program.root}
    todo = [program.root]
    while todo:
        typed = program.typed[todo.pop()]
        for spec in native_calls(program, typed):
            if spec not in reached:
                reached.add(spec)
                todo.append(spec)
    for spec in [s for s in program.typed if s not in reached]:
        del program.typed[spec]



def _any_elements(spec: Spec) -> dict[int, ir.Kinds]:
    """A native callee's list and tuple parameters: elements of any number kind (each
    load checks; the bead samples only the root's arguments)."""
    return {i: OPAQUE_RESULT - {ir.VKind.NONE} for i, k in enumerate(spec[1])
            if k in (Kind.LIST, Kind.TUPLE)}
