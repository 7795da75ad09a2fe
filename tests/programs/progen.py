"""Random programs for differential testing: straight-line and branching arithmetic
over ints, floats and bools, as Python source.

Every choice comes from ``choose(n)`` (an int in ``range(n)``), so a hypothesis
``data.draw`` can drive the generator and shrink a failing program: choice 0 is
always the simplest option.  Expressions are typed with the *set* of Python types
their value may have (``x if c else y`` may be an int or a float), and an operator
is only generated where every combination is defined for it (no ``~`` on floats).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Types = frozenset[str]
INT, FLOAT, BOOL = "int", "float", "bool"
Choose = Callable[[int], int]

INT_CONSTS = ["0", "1", "2", "-1", "3", "7", "-13", "100", "2**31", "2**53 + 1", "2**62",
              "-(2**63)", "2**63 - 1"]
FLOAT_CONSTS = ["0.0", "1.5", "-0.0", "0.5", "-2.25", "3.0", "1e300", "1e-300", "math.inf",
                "-math.inf", "math.nan", "5e-324"]
BOOL_CONSTS = ["True", "False"]
SIGNATURES: list[tuple[str, ...]] = [(INT, INT, INT), (FLOAT, FLOAT, FLOAT),
                                     (INT, FLOAT, INT), (BOOL, INT, FLOAT),
                                     (FLOAT, INT, BOOL), (INT, INT, FLOAT)]


def _arith(op: str, a: str, b: str) -> str:
    """Python's result type of ``a op b`` for + - * // % (bools act as ints)."""
    if FLOAT in (a, b):
        return FLOAT
    return INT


@dataclass
class Gen:
    choose: Choose
    names: dict[str, Types] = field(default_factory=dict)
    counter: int = 0

    def pick(self, options: list[str]) -> str:
        return options[self.choose(len(options))]

    # ------------------------------------------------------------ expressions
    def expr(self, depth: int) -> tuple[str, Types]:
        if depth <= 0 or self.choose(4) == 0:
            return self.leaf()
        kind = self.choose(11)
        if kind == 0:
            return self.leaf()
        if kind <= 3:
            return self.arith(depth)
        if kind == 4:
            return self.unary(depth)
        if kind == 5:
            return self.compare(depth)
        if kind == 6:
            return self.bitwise(depth)
        if kind == 7:
            return self.logic(depth)
        if kind == 8:
            return self.conditional(depth)
        if kind == 9:
            return self.builtin(depth)
        return self.mathcall(depth)

    def leaf(self) -> tuple[str, Types]:
        which = self.choose(4)
        if which <= 1 and self.names:
            name = self.pick(sorted(self.names))
            return name, self.names[name]
        if which == 2:
            return self.pick(FLOAT_CONSTS), frozenset({FLOAT})
        if which == 3 and self.choose(3) == 0:
            return self.pick(BOOL_CONSTS), frozenset({BOOL})
        return self.pick(INT_CONSTS), frozenset({INT})

    def arith(self, depth: int) -> tuple[str, Types]:
        (a, ta), (b, tb) = self.expr(depth - 1), self.expr(depth - 1)
        op = self.pick(["+", "-", "*", "/", "//", "%", "**"])
        if op == "**":
            b = self.pick(["2", "0", "3", "-1", "0.5", "1", "4", "2.0"])
            tb = frozenset({FLOAT if "." in b else INT})
            # int ** negative int and negative float ** fractional leave our types.
            result = {FLOAT if (FLOAT in (x, y) or b == "-1") else INT
                      for x in ta for y in tb}
            if b in ("0.5",):
                a = f"abs({a})"
            return f"({a} ** {b})", frozenset(result)
        if op == "/":
            return f"({a} / {b})", frozenset({FLOAT})
        return f"({a} {op} {b})", frozenset(_arith(op, x, y) for x in ta for y in tb)

    def unary(self, depth: int) -> tuple[str, Types]:
        a, ta = self.expr(depth - 1)
        op = self.pick(["-", "not ", "+", "~"])
        if op == "not ":
            return f"(not {a})", frozenset({BOOL})
        if op == "~":
            if FLOAT in ta:
                return f"(-{a})", ta - {BOOL} | ({INT} if BOOL in ta else set())
            return f"(~{a})", frozenset({INT})
        return f"({op}{a})", frozenset(INT if t == BOOL else t for t in ta)

    def compare(self, depth: int) -> tuple[str, Types]:
        (a, _), (b, _) = self.expr(depth - 1), self.expr(depth - 1)
        ops = ["<", "<=", "==", "!=", ">", ">="]
        if self.choose(3) == 0:
            c, _ = self.expr(depth - 1)
            return f"({a} {self.pick(ops)} {b} {self.pick(ops)} {c})", frozenset({BOOL})
        return f"({a} {self.pick(ops)} {b})", frozenset({BOOL})

    def bitwise(self, depth: int) -> tuple[str, Types]:
        (a, ta), (b, tb) = self.expr(depth - 1), self.expr(depth - 1)
        if FLOAT in ta or FLOAT in tb:
            return self.arith(depth)
        op = self.pick(["&", "|", "^", "<<", ">>"])
        if op in ("<<", ">>"):
            count = self.pick(["1", "3", "0", "31", "63", "64", "70"])
            return f"({a} {op} {count})", frozenset({INT})
        both_bool = ta == tb == frozenset({BOOL})
        return f"({a} {op} {b})", frozenset({BOOL} if both_bool else {INT, BOOL} - (
            {BOOL} if not (BOOL in ta and BOOL in tb) else set()))

    def logic(self, depth: int) -> tuple[str, Types]:
        (a, ta), (b, tb) = self.expr(depth - 1), self.expr(depth - 1)
        op = self.pick(["and", "or"])
        return f"({a} {op} {b})", ta | tb

    def conditional(self, depth: int) -> tuple[str, Types]:
        (c, _), (a, ta), (b, tb) = (self.expr(depth - 1), self.expr(depth - 1),
                                    self.expr(depth - 1))
        return f"({a} if {c} else {b})", ta | tb

    def builtin(self, depth: int) -> tuple[str, Types]:
        a, ta = self.expr(depth - 1)
        which = self.choose(7)
        if which == 0:
            return f"abs({a})", frozenset(INT if t == BOOL else t for t in ta)
        if which in (1, 2):
            b, tb = self.expr(depth - 1)
            fn = "min" if which == 1 else "max"
            if self.choose(2):
                c, tc = self.expr(depth - 1)
                return f"{fn}({a}, {b}, {c})", ta | tb | tc
            return f"{fn}({a}, {b})", ta | tb
        if which == 3:
            return f"int({a})", frozenset({INT})
        if which == 4:
            return f"float({a})", frozenset({FLOAT})
        if which == 5:
            return f"bool({a})", frozenset({BOOL})
        return f"round({a})", frozenset({INT})

    def mathcall(self, depth: int) -> tuple[str, Types]:
        a, _ = self.expr(depth - 1)
        fn = self.pick(["sqrt", "floor", "fabs", "sin", "exp", "log", "ceil", "trunc",
                        "atan", "tanh", "hypot", "copysign", "atan2", "fmod", "isnan",
                        "isinf", "log1p", "cos"])
        if fn in ("hypot", "copysign", "atan2", "fmod"):
            b, _ = self.expr(depth - 1)
            return f"math.{fn}({a}, {b})", frozenset({FLOAT})
        if fn in ("floor", "ceil", "trunc"):
            return f"math.{fn}({a})", frozenset({INT})
        if fn in ("isnan", "isinf"):
            return f"math.{fn}({a})", frozenset({BOOL})
        return f"math.{fn}({a})", frozenset({FLOAT})

    # ------------------------------------------------------------ statements
    def fresh(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def statements(self, depth: int, indent: str, budget: int) -> list[str]:
        lines: list[str] = []
        for _ in range(1 + self.choose(budget)):
            lines += self.statement(depth, indent)
        return lines

    def statement(self, depth: int, indent: str) -> list[str]:
        kind = self.choose(8)
        if kind <= 2 or depth <= 0:
            name = self.fresh() if kind != 1 or not self.names else self.pick(sorted(self.names))
            value, types = self.expr(2)
            self.names[name] = self.names.get(name, frozenset()) | types
            return [f"{indent}{name} = {value}"]
        if kind == 3 and self.names:
            name = self.pick(sorted(self.names))
            value, types = self.expr(2)
            op = self.pick(["+=", "-=", "*="])
            self.names[name] = frozenset(_arith("+", x, y) for x in self.names[name]
                                         for y in types)
            return [f"{indent}{name} {op} {value}"]
        if kind == 4 and len(self.names) >= 2:
            x, y = sorted(self.names)[:2]
            self.names[x], self.names[y] = self.names[y], self.names[x]
            if self.choose(2):
                return [f"{indent}{x}, {y} = {y}, {x}"]
            kinds = frozenset(_arith("+", p, q) for p in self.names[x] for q in self.names[y])
            self.names[x], self.names[y] = self.names[y], kinds
            return [f"{indent}{x}, {y} = {y}, {x} + {y}"]
        if kind == 5:
            return self.if_statement(depth, indent)
        if kind == 6:
            return self.for_loop(depth, indent)
        cond, _ = self.compare(2)
        value, _ = self.expr(2)
        return [f"{indent}if {cond}:", f"{indent}    return {value}"]

    def if_statement(self, depth: int, indent: str) -> list[str]:
        cond, _ = self.expr(2)
        before = dict(self.names)
        lines = [f"{indent}if {cond}:", *self.statements(depth - 1, indent + "    ", 2)]
        then_names = self.names
        self.names = dict(before)
        if self.choose(2):
            cond2, _ = self.compare(1)
            lines += [f"{indent}elif {cond2}:", *self.statements(depth - 1, indent + "    ", 2)]
        lines += [f"{indent}else:", *self.statements(depth - 1, indent + "    ", 2)]
        # Only names bound on both paths (or before) stay readable.
        merged = {n: t | then_names[n] for n, t in self.names.items() if n in then_names}
        self.names = {**{n: t for n, t in before.items()}, **merged}
        for n, t in before.items():
            self.names[n] = t | then_names.get(n, t) | self.names.get(n, t)
        return lines

    def for_loop(self, depth: int, indent: str) -> list[str]:
        count = self.pick(["3", "0", "5", "1"])
        loop = self.fresh()
        self.names[loop] = frozenset({INT})
        # The loop variable and anything first bound in the body may be unbound after
        # a zero-trip loop: forget them afterwards.
        before = set(self.names) - {loop}
        body = self.statements(depth - 1, indent + "    ", 2)
        widened = {n: t for n, t in self.names.items() if n in before}
        for n in before:  # a variable reassigned in the loop may take the new types
            widened[n] = self.names[n]
        self.names = widened
        lines = [f"{indent}for {loop} in range({count}):", *body]
        if self.choose(3) == 0:
            cond, _ = self.compare(1)
            lines.insert(1, f"{indent}    if {cond}:")
            lines.insert(2, f"{indent}        break")
        return lines


def program(choose: Choose, name: str = "f") -> tuple[str, tuple[str, ...]]:
    """Source of one random function ``name(a, b, c)`` and its argument types."""
    signature = SIGNATURES[choose(len(SIGNATURES))]
    gen = Gen(choose, {p: frozenset({t}) for p, t in zip("abc", signature, strict=True)})
    body = gen.statements(2, "    ", 4)
    value, _ = gen.expr(3)
    source = "\n".join([f"def {name}(a, b, c):", *body, f"    return {value}", ""])
    return source, signature
