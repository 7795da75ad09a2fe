"""The benchmark kernels over user objects and complex numbers (issue 11), as plain Python.

``python -m autotier bench`` runs these beside :mod:`autotier.bench_kernels`, against
CPython, numba and PyPy in the same run: the nbody benchmark written with a ``Body``
class, a ray-sphere intersection over ``Vector`` objects, the Julia microbenchmarks'
``mandelperf`` over complex numbers, and a particle system whose ``self`` methods call
module-level helpers nobody decorated.  Only the kernel itself is decorated (its
classes, methods and helpers never are), as a user would write it.  numba is given the
kernels as written (``numba.njit`` of the kernel): objects need ``@jitclass`` and every
callee its own ``@njit``, which is a rewrite, so where numba cannot type them its
column says so and no rewritten kernel stands in.

Each kernel builds its objects itself (the same arguments go to every variant and
every timed call, so nothing is mutated across calls) and returns a number, which the
bench checks against CPython's (value and exact type); :data:`REFERENCE` holds the
published answers where the benchmark has one (nbody's energies, mandelperf's sum).
PyPy runs this very file as a script (``main`` below), so it imports only the standard
library and :mod:`bench_kernels` beside it, and stays valid Python 3.9.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:  # imported as autotier.bench_objects
    from autotier.bench_kernels import Kernel
    from autotier.bench_kernels import main as serve
else:  # run by pypy3 as a script, beside bench_kernels.py
    from bench_kernels import Kernel
    from bench_kernels import main as serve


# --- nbody (the Benchmarks Game), with a Body class -----------------------------------

PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24


class Body:
    def __init__(self, x: float, y: float, z: float, vx: float, vy: float, vz: float,  # noqa: PLR0917
                 mass: float) -> None:
        self.x = x
        self.y = y
        self.z = z
        self.vx = vx * DAYS_PER_YEAR
        self.vy = vy * DAYS_PER_YEAR
        self.vz = vz * DAYS_PER_YEAR
        self.mass = mass * SOLAR_MASS


def solar_system() -> list[Body]:
    return [
        Body(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
        Body(4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
             1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
             9.54791938424326609e-04),
        Body(8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
             -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
             2.85885980666130812e-04),
        Body(1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
             2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
             4.36624404335156298e-05),
        Body(1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
             2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
             5.15138902046611451e-05),
    ]


def offset_momentum(bodies: list[Body]) -> None:
    px = py = pz = 0.0
    for b in bodies:
        px += b.vx * b.mass
        py += b.vy * b.mass
        pz += b.vz * b.mass
    sun = bodies[0]
    sun.vx = -px / SOLAR_MASS
    sun.vy = -py / SOLAR_MASS
    sun.vz = -pz / SOLAR_MASS


def energy(bodies: list[Body]) -> float:
    e = 0.0
    n = len(bodies)
    for i in range(n):
        b = bodies[i]
        e += 0.5 * b.mass * (b.vx * b.vx + b.vy * b.vy + b.vz * b.vz)
        for j in range(i + 1, n):
            b2 = bodies[j]
            dx = b.x - b2.x
            dy = b.y - b2.y
            dz = b.z - b2.z
            e -= (b.mass * b2.mass) / math.sqrt(dx * dx + dy * dy + dz * dz)
    return e


def nbody(steps: int) -> float:
    """The system's energy after ``steps`` advances of 0.01."""
    bodies = solar_system()
    offset_momentum(bodies)
    n = len(bodies)
    dt = 0.01
    for _ in range(steps):
        for i in range(n):
            b1 = bodies[i]
            for j in range(i + 1, n):
                b2 = bodies[j]
                dx = b1.x - b2.x
                dy = b1.y - b2.y
                dz = b1.z - b2.z
                d2 = dx * dx + dy * dy + dz * dz
                mag = dt / (d2 * math.sqrt(d2))
                m1 = b1.mass * mag
                m2 = b2.mass * mag
                b1.vx -= dx * m2
                b1.vy -= dy * m2
                b1.vz -= dz * m2
                b2.vx += dx * m1
                b2.vy += dy * m1
                b2.vz += dz * m1
        for b in bodies:
            b.x += dt * b.vx
            b.y += dt * b.vy
            b.z += dt * b.vz
    return energy(bodies)


# --- ray-sphere intersection over Vector objects --------------------------------------

class Vector:
    __slots__ = ("x", "y", "z")

    def __init__(self, x: float, y: float, z: float) -> None:
        self.x = x
        self.y = y
        self.z = z

    def dot(self, other: Vector) -> float:
        return self.x * other.x + self.y * other.y + self.z * other.z

    def sub(self, other: Vector) -> Vector:
        return Vector(self.x - other.x, self.y - other.y, self.z - other.z)

    def scale(self, k: float) -> Vector:
        return Vector(self.x * k, self.y * k, self.z * k)

    def magnitude(self) -> float:
        return math.sqrt(self.dot(self))

    def normalized(self) -> Vector:
        return self.scale(1.0 / self.magnitude())


class Sphere:
    def __init__(self, centre: Vector, radius: float) -> None:
        self.centre = centre
        self.radius = radius

    def intersect(self, origin: Vector, direction: Vector) -> float:
        """The distance along the ray to the nearest hit, or -1.0 for none."""
        oc = origin.sub(self.centre)
        b = oc.dot(direction)
        c = oc.dot(oc) - self.radius * self.radius
        disc = b * b - c
        if disc < 0.0:
            return -1.0
        t = -b - math.sqrt(disc)
        return t if t > 0.0 else -1.0


def scene() -> list[Sphere]:
    return [Sphere(Vector(0.0, 0.0, 5.0), 1.0), Sphere(Vector(1.5, 0.5, 7.0), 1.5),
            Sphere(Vector(-2.0, -1.0, 6.0), 0.75), Sphere(Vector(0.0, -101.0, 5.0), 100.0)]


def raytrace(width: int, height: int) -> float:
    """The sum over the pixels of the nearest hit's distance (0 for a miss)."""
    spheres = scene()
    eye = Vector(0.0, 0.0, 0.0)
    total = 0.0
    for py in range(height):
        for px in range(width):
            d = Vector((px + 0.5) / width * 2.0 - 1.0, 1.0 - (py + 0.5) / height * 2.0,
                       1.0).normalized()
            nearest = math.inf
            for s in spheres:
                t = s.intersect(eye, d)
                if 0.0 < t < nearest:
                    nearest = t
            if nearest < math.inf:
                total += nearest
    return total


# --- the Julia microbenchmarks' mandelperf, with complex numbers ----------------------

def mandel(z: complex) -> int:
    c = z
    maxiter = 80
    for n in range(maxiter):
        if abs(z) > 2.0:
            return n
        z = z * z + c
    return maxiter


def mandelperf(reps: int) -> int:
    """The escape counts over Julia's grid (r in -2.0:0.1:0.5, i in -1.0:0.1:1.0)."""
    total = 0
    for _ in range(reps):
        for i in range(21):
            for r in range(26):
                total += mandel(complex(-2.0 + 0.1 * r, -1.0 + 0.1 * i))
    return total


# --- a particle system: self methods calling undecorated helpers ----------------------

def clamp(x: float, lo: float, hi: float) -> float:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def spring_force(x: float, rest: float, k: float) -> float:
    return -k * (x - rest)


def damp(v: float, c: float) -> float:
    return v * (1.0 - c)


class Particle:
    def __init__(self, x: float, y: float, vx: float, vy: float, m: float) -> None:
        self.x = x
        self.y = y
        self.vx = vx
        self.vy = vy
        self.m = m

    def accelerate(self, fx: float, fy: float, dt: float) -> None:
        self.vx = damp(self.vx + fx / self.m * dt, 0.001)
        self.vy = damp(self.vy + fy / self.m * dt, 0.001)

    def move(self, dt: float) -> None:
        self.x = clamp(self.x + self.vx * dt, -10.0, 10.0)
        self.y = clamp(self.y + self.vy * dt, -10.0, 10.0)

    def step(self, dt: float) -> None:
        self.accelerate(spring_force(self.x, 0.0, 4.0), spring_force(self.y, 1.0, 4.0)
                        - 9.81 * self.m, dt)
        self.move(dt)

    def energy(self) -> float:
        return 0.5 * self.m * (self.vx * self.vx + self.vy * self.vy) + 9.81 * self.m * self.y


def particles(n: int, steps: int) -> float:
    """The total energy of ``n`` particles after ``steps`` steps of 0.01."""
    ps = [Particle(math.sin(i) * 5.0, math.cos(i) * 5.0, 0.1 * (i % 7), -0.2 * (i % 5),
                   1.0 + (i % 3)) for i in range(n)]
    for _ in range(steps):
        for p in ps:
            p.step(0.01)
    e = 0.0
    for p in ps:
        e += p.energy()
    return e


# --- the kernels ----------------------------------------------------------------------

KERNELS: tuple[Kernel, ...] = (
    Kernel("nbody_objects", nbody, (1_000,),
           "nbody, 5 Body objects, 1,000 steps; the energy after them"),
    Kernel("raytrace_objects", raytrace, (48, 32),
           "ray-sphere intersection over Vector objects, 48x32 rays and 4 spheres"),
    Kernel("mandelperf_complex", mandelperf, (2,),
           "Julia's mandelperf over complex numbers, 21x26 points, twice"),
    Kernel("particles_objects", particles, (64, 100),
           "64 particles, 100 steps of self methods calling undecorated helpers"),
)

BY_NAME: dict[str, Kernel] = {k.name: k for k in KERNELS}

#: published answers the kernels must give: nbody's energy after 1,000 steps to the
#: Benchmarks Game's 9 digits, mandelperf's sum per repetition (Julia's test asserts it)
REFERENCE = {"nbody_energy_1000": -0.169087605, "mandelperf_sum": 14791}


if __name__ == "__main__":
    serve(BY_NAME)
