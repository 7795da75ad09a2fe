"""Generated functions of a chosen size, for compile-time scaling (issue 7, point 8).

``straight(n)``: ``n`` straight-line statements over two ints and a float (overflow-
checked ``* + - // % ^``, int/float mixing); ``branchy(n)``: ``n`` ``if x > k: y +=
k`` statements, two blocks each.  ``bench/compile_time.py`` times every compile stage
on them; the tests compile them and compare with CPython.
"""

from __future__ import annotations

from types import FunctionType

from autotier.abi import Kind

_STATEMENTS = (
    "a = a * 3 + b",
    "b = b - a % 7 + {i}",
    "c = c * 0.5 + a",
    "a = (a ^ {i}) // 3",
)


def straight_source(n: int, name: str = "f") -> str:
    lines = [f"def {name}(a, b, c):"]
    lines.extend("    " + _STATEMENTS[i % 4].format(i=i) for i in range(n))
    lines.append("    return a + b + c")
    return "\n".join(lines) + "\n"


def branchy_source(n: int, name: str = "f") -> str:
    lines = [f"def {name}(x, y):"]
    for i in range(n):
        lines += [f"    if x > {i}:", f"        y += {i}"]
    lines.append("    return y")
    return "\n".join(lines) + "\n"


SHAPES = {
    "straight": (straight_source, (Kind.INT, Kind.INT, Kind.FLOAT)),
    "branchy": (branchy_source, (Kind.INT, Kind.INT)),
}


def make(source: str, name: str = "f", namespace: dict[str, object] | None = None
         ) -> FunctionType:
    """The function ``source`` defines, in a fresh namespace (or ``namespace``)."""
    ns: dict[str, object] = {} if namespace is None else namespace
    exec(compile(source, f"<generated {name}>", "exec"), ns)
    func = ns[name]
    assert isinstance(func, FunctionType)
    return func


def generated(shape: str, n: int) -> tuple[FunctionType, tuple[Kind, ...]]:
    source, kinds = SHAPES[shape]
    return make(source(n)), kinds
