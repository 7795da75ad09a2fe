"""Hot functions of pyperformance, the Benchmarks Game and the Julia microbenchmarks,
as those suites write them (shortened where a benchmark's driver only loops), for
``tools/realcode_survey.py``.  Each entry of :data:`FUNCTIONS` is (suite, function, a
maker of fresh arguments): the function is what a user would decorate, its classes and
helpers are left undecorated."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from typing import Any

from autotier import bench_kernels, bench_objects


# --- pyperformance -------------------------------------------------------------------
class FloatPoint:  # bm_float
    def __init__(self, i: float) -> None:
        self.x = x = math.sin(i)
        self.y = math.cos(i) * 3
        self.z = (x * x) / 2

    def normalize(self) -> None:
        norm = math.sqrt(self.x * self.x + self.y * self.y + self.z * self.z)
        self.x /= norm
        self.y /= norm
        self.z /= norm

    def maximize(self, other: FloatPoint) -> FloatPoint:
        self.x = self.x if self.x > other.x else other.x
        self.y = self.y if self.y > other.y else other.y
        self.z = self.z if self.z > other.z else other.z
        return self


def float_benchmark(n: int) -> float:
    points = [FloatPoint(i) for i in range(n)]
    for p in points:
        p.normalize()
    best = points[0]
    for p in points[1:]:
        best = best.maximize(p)
    return best.x + best.y + best.z


def nbody_advance(dt: float, n: int, bodies: list[Any], pairs: list[Any]) -> None:
    for _ in range(n):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx = x1 - x2
            dy = y1 - y2
            dz = z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            b1m = m1 * mag
            b2m = m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for (r, [vx, vy, vz], _m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz


def _nbody_lists() -> tuple[Any, ...]:
    bodies = [([b.x, b.y, b.z], [b.vx, b.vy, b.vz], b.mass)
              for b in bench_objects.solar_system()]
    pairs = [(bodies[i], bodies[j]) for i in range(5) for j in range(i + 1, 5)]
    return 0.01, 20, bodies, pairs


def eval_a(i: int, j: int) -> float:  # spectral_norm
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)


def part_a_times_u(i: int, u: list[float]) -> float:
    partial = 0.0
    for j, u_j in enumerate(u):
        partial += eval_a(i, j) * u_j
    return partial


class GVector:  # chaos
    def __init__(self, x: float = 0, y: float = 0, z: float = 0) -> None:
        self.x, self.y, self.z = x, y, z

    def mag(self) -> float:
        return math.sqrt(self.x ** 2 + self.y ** 2 + self.z ** 2)

    def linear_combination(self, other: GVector, l1: float, l2: float | None = None
                           ) -> GVector:
        if l2 is None:
            l2 = 1 - l1
        return GVector(self.x * l1 + other.x * l2, self.y * l1 + other.y * l2,
                       self.z * l1 + other.z * l2)


class TaskState:  # richards
    def __init__(self) -> None:
        self.packet_pending = True
        self.task_waiting = False
        self.task_holding = False

    def is_task_holding_or_waiting(self) -> bool:
        return self.task_holding or (not self.packet_pending and self.task_waiting)


class Strength:  # deltablue
    def __init__(self, strength: int, name: str) -> None:
        self.strength = strength
        self.name = name

    @staticmethod
    def stronger(s1: Strength, s2: Strength) -> bool:
        return s1.strength < s2.strength


def n_queens(queen_count: int) -> int:  # nqueens, counting
    cols = range(queen_count)
    found = 0
    for vec in _permutations(list(cols)):
        if (queen_count == len({vec[i] + i for i in cols})
                == len({vec[i] - i for i in cols})):
            found += 1
    return found


def _permutations(xs: list[int]) -> list[tuple[int, ...]]:
    if len(xs) <= 1:
        return [tuple(xs)]
    out = []
    for i in range(len(xs)):
        for rest in _permutations(xs[:i] + xs[i + 1:]):
            out.append((xs[i], *rest))
    return out


def sor_execute(omega: float, g: list[list[float]], cycles: int) -> float:  # scimark
    m, n = len(g), len(g[0])
    omega_over_four = omega * 0.25
    one_minus_omega = 1.0 - omega
    for _ in range(cycles):
        for y in range(1, m - 1):
            for x in range(1, n - 1):
                g[y][x] = (omega_over_four * (g[y - 1][x] + g[y + 1][x] + g[y][x - 1]
                                              + g[y][x + 1]) + one_minus_omega * g[y][x])
    return g[m // 2][n // 2]


def monte_carlo(n: int, rnd: random.Random) -> float:  # scimark
    under_curve = 0
    for _ in range(n):
        x = rnd.random()
        y = rnd.random()
        if x * x + y * y <= 1.0:
            under_curve += 1
    return under_curve / n * 4.0


def pidigits_compose(q: int, r: int, t: int, k: int) -> tuple[int, int, int]:
    return q * k, (2 * q + r) * (2 * k + 1), t * (2 * k + 1)


# --- the Benchmarks Game -------------------------------------------------------------
def fannkuch(n: int) -> int:
    perm1 = list(range(n))
    count = [0] * n
    max_flips = 0
    r = n
    while True:
        while r != 1:
            count[r - 1] = r
            r -= 1
        perm = perm1[:]
        flips = 0
        k = perm[0]
        while k:
            perm[: k + 1] = perm[k::-1]
            flips += 1
            k = perm[0]
        max_flips = max(max_flips, flips)
        while r != n:
            perm1.insert(r, perm1.pop(0))
            count[r] -= 1
            if count[r] > 0:
                break
            r += 1
        else:
            return max_flips


def fasta_random(n: int, seed: int) -> int:  # fasta's linear congruential generator
    im, ia, ic = 139968, 3877, 29573
    for _ in range(n):
        seed = (seed * ia + ic) % im
    return seed


def make_tree(depth: int) -> Any:  # binary-trees
    return (None, None) if depth == 0 else (make_tree(depth - 1), make_tree(depth - 1))


def check_tree(node: Any) -> int:
    left, right = node
    if left is None:
        return 1
    return 1 + check_tree(left) + check_tree(right)


class Node:  # binary-trees with a class
    __slots__ = ("left", "right")

    def __init__(self, left: Node | None, right: Node | None) -> None:
        self.left = left
        self.right = right


def check_node(node: Node) -> int:
    if node.left is None:
        return 1
    return 1 + check_node(node.left) + check_node(node.right)  # type: ignore[arg-type]


def _node(depth: int) -> Node:
    return Node(None, None) if depth == 0 else Node(_node(depth - 1), _node(depth - 1))


def count_kmers(seq: str, k: int) -> dict[str, int]:  # k-nucleotide
    counts: dict[str, int] = {}
    for i in range(len(seq) - k + 1):
        frag = seq[i:i + k]
        counts[frag] = counts.get(frag, 0) + 1
    return counts


def reverse_complement(seq: str) -> str:
    return seq.translate(str.maketrans("ACGTacgt", "TGCAtgca"))[::-1]


def mandelbrot_row(y: int, size: int) -> int:  # mandelbrot, bits of one row
    bits = 0
    ci = 2.0 * y / size - 1.0
    for x in range(size):
        c = complex(2.0 * x / size - 1.5, ci)
        z = 0j
        i = 0
        while i < 50 and abs(z) <= 2.0:
            z = z * z + c
            i += 1
        bits = (bits << 1) | (i == 50)
    return bits


# --- the Julia microbenchmarks -------------------------------------------------------
def parse_int(n: int) -> int:
    total = 0
    for i in range(n):
        total += int(hex(i * 7919)[2:], 16)
    return total


def quicksort(a: list[float], lo: int, hi: int) -> None:
    i, j = lo, hi
    while i < hi:
        pivot = a[(lo + hi) // 2]
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if lo < j:
            quicksort(a, lo, j)
        lo, j = i, hi


def pisum() -> float:
    s = 0.0
    for _ in range(50):
        s = 0.0
        for k in range(1, 1001):
            s += 1.0 / (k * k)
    return s


def printfd(n: int) -> int:
    out = io.StringIO()
    for i in range(n):
        out.write(f"{i} {i + 1}\n")
    return len(out.getvalue())


def _floats(n: int) -> list[float]:
    return [((i * 7919) % 10007) / 10007.0 for i in range(n)]


B = bench_objects
Maker = Callable[[], tuple[Any, ...]]


def _same(*args: Any) -> Maker:
    return lambda: args


FUNCTIONS: list[tuple[str, Callable[..., Any], Maker]] = [
    ("pyperformance", float_benchmark, _same(100)),
    ("pyperformance", FloatPoint.normalize, lambda: (FloatPoint(1.5),)),
    ("pyperformance", FloatPoint.maximize, lambda: (FloatPoint(1.0), FloatPoint(2.0))),
    ("pyperformance", nbody_advance, _nbody_lists),
    ("pyperformance", eval_a, _same(3, 4)),
    ("pyperformance", part_a_times_u, lambda: (3, _floats(50))),
    ("pyperformance", GVector.mag, lambda: (GVector(1.0, 2.0, 3.0),)),
    ("pyperformance", GVector.linear_combination,
     lambda: (GVector(1.0, 2.0, 3.0), GVector(0.5, 0.5, 0.5), 0.25)),
    ("pyperformance", TaskState.is_task_holding_or_waiting, lambda: (TaskState(),)),
    ("pyperformance", Strength.stronger,
     lambda: (Strength(1, "strong"), Strength(2, "medium"))),
    ("pyperformance", n_queens, _same(6)),
    ("pyperformance", sor_execute,
     lambda: (1.25, [_floats(16) for _ in range(16)], 2)),
    ("pyperformance", monte_carlo, lambda: (500, random.Random(7))),
    ("pyperformance", pidigits_compose, _same(1, 0, 1, 7)),
    ("pyperformance", B.Vector.dot, lambda: (B.Vector(1.0, 2.0, 3.0), B.Vector(3.0, 2.0, 1.0))),
    ("pyperformance", B.Vector.magnitude, lambda: (B.Vector(1.0, 2.0, 3.0),)),
    ("pyperformance", B.Sphere.intersect,
     lambda: (B.scene()[0], B.Vector(0.0, 0.0, 0.0), B.Vector(0.0, 0.0, 1.0))),
    ("benchmarks game", B.nbody, _same(50)),
    ("benchmarks game", B.energy, lambda: (B.solar_system(),)),
    ("benchmarks game", B.offset_momentum, lambda: (B.solar_system(),)),
    ("benchmarks game", fannkuch, _same(6)),
    ("benchmarks game", fasta_random, _same(1000, 42)),
    ("benchmarks game", make_tree, _same(6)),
    ("benchmarks game", check_tree, lambda: (make_tree(6),)),
    ("benchmarks game", check_node, lambda: (_node(6),)),
    ("benchmarks game", count_kmers, _same("GGTATTTTAATTTATAGT" * 5, 2)),
    ("benchmarks game", reverse_complement, _same("GGTATTTTAATTTATAGT" * 5)),
    ("benchmarks game", mandelbrot_row, _same(7, 32)),
    ("benchmarks game", bench_kernels.mandelbrot, _same(-0.5, 0.5, 200)),
    ("julia", bench_kernels.fib, _same(15)),
    ("julia", parse_int, _same(200)),
    ("julia", B.mandel, _same(complex(-0.5, 0.5))),
    ("julia", B.mandelperf, _same(1)),
    ("julia", quicksort, lambda: ((fs := _floats(200)), 0, len(fs) - 1)),
    ("julia", pisum, _same()),
    ("julia", printfd, _same(100)),
    ("issue 11", B.raytrace, _same(8, 6)),
    ("issue 11", B.particles, _same(8, 5)),
    ("issue 11", B.Particle.step, lambda: (B.Particle(1.0, 2.0, 0.5, 0.5, 2.0), 0.01)),
    ("issue 11", B.Particle.energy, lambda: (B.Particle(1.0, 2.0, 0.5, 0.5, 2.0),)),
    ("issue 11", B.clamp, _same(3.5, 0.0, 1.0)),
    ("issue 11", B.spring_force, _same(1.5, 0.0, 4.0)),
    ("general", bench_kernels.gcd, _same(1_134_903_170, 701_408_733)),
    ("general", bench_kernels.collatz, _same(27)),
    ("general", bench_kernels.is_prime, _same(1_000_003)),
    ("general", bench_kernels.horner, _same(0.5, 100)),
    ("general", bench_kernels.math_calls, _same(100)),
    ("general", bench_kernels.sum_cubes, _same(100)),
]
