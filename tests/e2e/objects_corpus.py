"""The differential corpus of issue 11: ordinary functions over instances of user
classes, helpers nobody decorated, and complex numbers, as pyperformance, the Julia
microbenchmarks and the Benchmarks Game write them.

``test_objects.py`` runs every function twice per input: as defined here (plain
CPython, the oracle) and through ``@autotier.hot`` (promoted with a private broker),
each side on its own freshly built arguments, and compares the results, exceptions,
warnings and every argument's state after the call (an instance's ``__dict__`` and
slots, recursively, floats bit for bit).  ``@cases(family)`` names the input family (a
function returning a fresh list of argument tuples on every call); its first tuple
promotes the function.

``@steps(prepare, watch)`` marks a function whose world changes between calls:
``prepare(i)`` runs before the call of input ``i`` on each side (and ``prepare(0)``
before the promoting calls): it reassigns a class attribute or a method, adds or
removes a property, or rebinds a module-level helper, so every change after the first
input happens after the compile.  ``watch()`` (optional) returns the shared state a
call may change (a class attribute), compared after each call like the arguments.

The classes and helpers below are never decorated: only the corpus functions are.
``NATIVE_FLOOR`` is how many must run natively (test_objects.py counts them).
"""

import cmath
import math

from tests.e2e.differential import cases

# What ran natively on main on 2026-12-02 (d182285): the functions over numbers whose
# module-level helpers compile in with them; no instance or complex argument is taken
# yet.  Raise it as issue 11 lands.
NATIVE_FLOOR = 96  # methods compiled in, constructors, instances, attributes, lists of them
# (issue 11; 99 of 119 on 2026-12-03, a margin for recompiles still queued); 46 with complex

NAN, INF = math.nan, math.inf
I64_MAX = 2**63 - 1


def steps(prepare, watch=None):
    """Record what changes between calls (see the module's docstring)."""

    def mark(func):
        func.prepare = prepare
        func.watch = watch
        return func

    return mark


# ------------------------------------------------------------ classes (never decorated)
class Point:
    """A 2-D point with an instance ``__dict__``."""

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __repr__(self):
        return f"Point({self.x!r}, {self.y!r})"

    def norm(self):
        return math.sqrt(self.x * self.x + self.y * self.y)

    def dist(self, other):
        dx = self.x - other.x
        dy = self.y - other.y
        return math.sqrt(dx * dx + dy * dy)

    def move(self, dx, dy):
        self.x += dx
        self.y += dy


class Vec3:
    """A 3-D vector with ``__slots__`` (the raytrace benchmark's Vector)."""

    __slots__ = ("x", "y", "z")

    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z

    def __repr__(self):
        return "Vec3({}, {}, {})".format(*(repr(getattr(self, k, "<unset>"))
                                           for k in self.__slots__))

    def dot(self, other):
        return self.x * other.x + self.y * other.y + self.z * other.z

    def length(self):
        return math.sqrt(self.dot(self))

    def cross(self, other):
        return Vec3(self.y * other.z - self.z * other.y,
                    self.z * other.x - self.x * other.z,
                    self.x * other.y - self.y * other.x)


class Hybrid:
    """Slots and an instance ``__dict__`` both."""

    __slots__ = ("a", "__dict__")

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __repr__(self):
        return f"Hybrid({getattr(self, 'a', '<unset>')!r}, {vars(self)!r})"


class Flat2:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


class Weighted(Flat2):
    """A subclass of a slotted class without ``__slots__``: slots and a dict."""

    def __init__(self, x, y, w):
        super().__init__(x, y)
        self.w = w

    def __repr__(self):
        return f"Weighted({self.x!r}, {self.y!r}, {self.w!r})"


class Shape:
    sides = 0
    scale = 1.0

    def area(self):
        return 0.0

    def perimeter(self):
        return 1.0

    def ratio(self):
        return self.area() / self.perimeter()

    def scaled_area(self):
        return self.area() * self.scale


class Square(Shape):
    sides = 4

    def __init__(self, side):
        self.side = side

    def __repr__(self):
        return f"Square({self.side!r})"

    def area(self):
        return self.side * self.side

    def perimeter(self):
        return 4 * self.side


class Circle(Shape):
    def __init__(self, r):
        self.r = r

    def __repr__(self):
        return f"Circle({self.r!r})"

    def area(self):
        return math.pi * self.r * self.r

    def perimeter(self):
        return 2.0 * math.pi * self.r


class Body:
    """The nbody benchmark's body, as a class."""

    def __init__(self, x, y, z, vx, vy, vz, mass):
        self.x, self.y, self.z = x, y, z
        self.vx, self.vy, self.vz = vx, vy, vz
        self.mass = mass

    def __repr__(self):
        return f"Body({self.x!r}, {self.vx!r}, {self.mass!r})"

    def kinetic(self):
        return 0.5 * self.mass * (self.vx * self.vx + self.vy * self.vy
                                  + self.vz * self.vz)


class Particle:
    """A particle whose methods call each other and module-level helpers."""

    def __init__(self, x, v, m):
        self.x = x
        self.v = v
        self.m = m

    def __repr__(self):
        return f"{type(self).__name__}({self.x!r}, {self.v!r}, {self.m!r})"

    def speed2(self):
        return self.v * self.v

    def kinetic(self):
        return 0.5 * self.m * self.speed2()

    def potential(self):
        return self.m * 9.81 * self.x

    def energy(self):
        return self.kinetic() + self.potential()

    def step(self, dt):
        self.v = _drag(self.v, 0.1, dt)
        self.x += self.v * dt


class ChargedParticle(Particle):
    """Overrides ``potential`` and extends ``energy`` through ``super()``."""

    def __init__(self, x, v, m, q):
        super().__init__(x, v, m)
        self.q = q

    def potential(self):
        return self.q * self.x

    def energy(self):
        return super().energy() + 1.0


class Temperature:
    """Properties: a computed getter and a setter."""

    def __init__(self, celsius):
        self.celsius = celsius

    def __repr__(self):
        return f"Temperature({self.celsius!r})"

    @property
    def fahrenheit(self):
        return self.celsius * 9.0 / 5.0 + 32.0

    @fahrenheit.setter
    def fahrenheit(self, value):
        self.celsius = (value - 32.0) * 5.0 / 9.0


class Account:
    def __init__(self, cents):
        self._cents = cents

    def __repr__(self):
        return f"Account({self._cents!r})"

    @property
    def balance(self):
        if self._cents < 0:
            raise ValueError(f"overdrawn by {-self._cents} cents")
        return self._cents / 100


class Lazy:
    """``__getattr__``: missing attributes default to 0, private ones raise."""

    def __init__(self, present):
        self.present = present

    def __repr__(self):
        return f"Lazy({vars(self)!r})"

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(f"no private {name}")
        return 0


class Audited:
    """``__getattribute__`` overridden: every read of a public attribute is counted."""

    def __init__(self, value):
        object.__setattr__(self, "reads", 0)
        self.value = value

    def __repr__(self):
        return f"Audited({object.__getattribute__(self, '__dict__')!r})"

    def __getattribute__(self, name):
        if not name.startswith("_") and name != "reads":
            d = object.__getattribute__(self, "__dict__")
            d["reads"] = d["reads"] + 1
        return object.__getattribute__(self, name)


class Tuning:
    factor = 2.0


class Pet:
    def __init__(self, weight):
        self.weight = weight

    def __repr__(self):
        return f"Pet({self.weight!r})"

    def portion(self):
        return self.weight * 0.1


def _portion_big(self):
    return self.weight * 0.5 + 1


def _portion_raises(self):
    raise RuntimeError(f"no food for {self.weight}")


_PORTION_SMALL = Pet.portion


class Gadget:
    def __init__(self, size):
        self.size = size

    def __repr__(self):
        return f"Gadget({vars(self)!r})"


class Registry:
    total = 0


class Counter:
    def __init__(self, count):
        self.count = count

    def __repr__(self):
        return f"Counter({self.count!r})"


class Strength:
    """deltablue's strengths: class-level constants, compared by a static method."""

    REQUIRED = 0
    STRONG = 1
    WEAK = 5

    def __init__(self, strength):
        self.strength = strength

    def __repr__(self):
        return f"Strength({self.strength!r})"

    @staticmethod
    def stronger(s1, s2):
        return s1.strength < s2.strength


class TaskState:
    """richards' task state: flags read and written by methods."""

    def __init__(self, pending, waiting, holding):
        self.packet_pending = pending
        self.task_waiting = waiting
        self.task_holding = holding

    def __repr__(self):
        return f"TaskState({vars(self)!r})"

    def is_held_or_waiting(self):
        return self.task_holding or (not self.packet_pending and self.task_waiting)

    def waiting_with_packet(self):
        self.packet_pending = True
        self.task_waiting = True
        self.task_holding = False
        return self


class GVector:
    """chaos's GVector: a linear combination of two vectors."""

    def __init__(self, x=0, y=0, z=0):
        self.x = x
        self.y = y
        self.z = z

    def __repr__(self):
        return f"GVector({self.x!r}, {self.y!r}, {self.z!r})"

    def linear_combination(self, other, l1, l2=None):
        if l2 is None:
            l2 = 1 - l1
        return GVector(self.x * l1 + other.x * l2, self.y * l1 + other.y * l2,
                       self.z * l1 + other.z * l2)


# ------------------------------------------------------------ helpers (never decorated)
def _sq(x):
    return x * x


def _hyp(a, b):
    return math.sqrt(_sq(a) + _sq(b))


def _fact(n):
    return 1 if n <= 1 else n * _fact(n - 1)


def _fib(n):
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def _is_even(n):
    return True if n == 0 else _is_odd(n - 1)


def _is_odd(n):
    return False if n == 0 else _is_even(n - 1)


def _clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def _offset(x, d=1.5):
    return x + d


def _safe_div(a, b):
    return a / b


def _smooth(x):
    return math.log(1.0 + math.exp(x))


def _c(x):
    return x * 3 - 1


def _b(x):
    return _c(x) + _c(x + 1)


def _a(x):
    return _b(x) * 2


def _eval_a(i, j):
    """spectral_norm's matrix entry."""
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)


def _drag(v, k, dt):
    return v - k * v * dt


def _kick(body, dv):
    body.vx += dv
    return body.vx


def _double(x):
    return x * 2


def _halve(x):
    return x / 2


def _refuse(x):
    raise ValueError(f"refused {x!r}")


_current = _double  # rebound between calls (rebound_helper's steps)


def _cx_sq(z):
    return z * z


def _mandel_iter(c, maxiter):
    z = 0j
    for n in range(maxiter):
        if abs(z) > 2.0:
            return n
        z = z * z + c
    return maxiter


# ------------------------------------------------------------ input families
NUMS = (1.5, -0.0, 0.0, NAN, -NAN, INF, -INF, 3, True, 2**64, 1e308, -2.5)


def points():
    return [(Point(x, y),) for x, y in ((3.0, 4.0), (-0.0, 0.0), (NAN, 1.0), (INF, 2.0),
                                        (3, 4), (True, False), (2**64, 1), (1e200, 1e200),
                                        (1.5, None), ("a", "b"))]


def point_pairs():
    return [(Point(*a), Point(*b)) for a, b in (
        ((1.0, 2.0), (3.0, 4.0)), ((-0.0, 1.0), (0.0, -1.0)), ((NAN, 0.0), (1.0, 1.0)),
        ((2, 3), (4, 5)), ((I64_MAX, 1), (2, 1)), ((INF, 1.0), (0.0, 1.0)),
        ((1.0, None), (1.0, 2.0)))]


def point_scale_cases():
    return [(Point(x, y), k) for x, y in ((1.0, 2.0), (3, 4), (-0.0, NAN), (2**63, 1))
            for k in (2, 0.5, -1, 0, NAN, True, 2**64)]


def point_move_cases():
    return [(Point(x, y), dx, dy) for x, y in ((1.0, 2.0), (3, 4), (NAN, -0.0))
            for dx, dy in ((1, 2), (0.5, -0.0), (INF, -INF), (I64_MAX, 1), ("s", 1))]


def point_lists():
    return [([Point(1.0, 2.0), Point(3.0, 4.0)],), ([],), ([Point(1, 1)],),
            ([Point(NAN, 0.0), Point(-0.0, -0.0)],), ([Point(2**64, 1), Point(1, 2**64)],),
            ([Point(1.0, 2.0), Point(3.0, 4.0), Point(-5.0, 6.5)],)]


def point_query_cases():
    return [(ps, Point(0.5, 0.5)) for (ps,) in point_lists()]


def maybe_z_points():
    out = []
    for x, z in ((1.0, 2.0), (3, None), (NAN, -0.0), (1.0, "none")):
        p = Point(x, 1.0)
        if z != "none":
            p.z = z
        out.append((p,))
    return out


def point_value_cases():
    return [(Point(1.0, 2.0), v) for v in (1.5, -0.0, NAN, 3, True, 2**64, None)]


def vecs():
    out = [(Vec3(x, y, z),) for x, y, z in ((1.0, 2.0, 2.0), (0.0, -0.0, 0.0), (3, 4, 12),
                                            (NAN, 1.0, 1.0), (INF, 0.0, 0.0),
                                            (1e200, 1e200, 1e200), (True, 2**64, 1))]
    unset = Vec3(1.0, 2.0, 3.0)
    del unset.z
    return [*out, (unset,)]


def vec_pairs():
    return [(Vec3(*a), Vec3(*b)) for a, b in (
        ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)), ((1, 2, 3), (4, 5, 6)),
        ((-0.0, 0.0, -0.0), (1.0, -1.0, 1.0)), ((NAN, 1.0, 2.0), (1.0, 2.0, 3.0)),
        ((INF, 1.0, 0.0), (0.0, 1.0, INF)), ((I64_MAX, 1, 1), (2, 2, 2)),
        ((1.0, 2.0, 3.0), (None, 1.0, 1.0)))]


def vec_triples():
    return [(a, b, Vec3(1.0, -2.0, 0.5)) for a, b in vec_pairs()]


def hybrids():
    out = [(Hybrid(a, b),) for a, b in ((1.0, 2.0), (3, 4), (NAN, -0.0), (2**64, 1),
                                        ("x", "y"), (1.0, None))]
    unset = Hybrid(1.0, 2.0)
    del unset.a
    return [*out, (unset,)]


def hybrid_value_cases():
    return [(Hybrid(1.0, 2.0), v) for v in (1.5, 3, -0.0, NAN, True, 2**64, "s")]


def weighted():
    return [(Weighted(x, y, w),) for x, y, w in ((1.0, 2.0, 0.5), (1, 2, 3), (NAN, 0.0, 1.0),
                                                 (-0.0, -0.0, -0.0), (2**64, 1, 1),
                                                 (1.0, 2.0, None))]


def shapes():
    return [(s,) for s in (Square(2.0), Square(3), Circle(1.0), Circle(-0.0), Square(NAN),
                           Circle(INF), Shape(), Square(2**64), Square(True))]


def shape_lists():
    return [([Square(2.0), Circle(1.0)],), ([],), ([Shape()],), ([Square(1), Square(2)],),
            ([Circle(0.5), Square(NAN), Circle(2.0)],), ([Square(2.0), "x"],)]


def zero_ratio_shapes():
    return [*shapes(), (Square(0.0),), (Square(0),), (Circle(0.0),)]


def shadowing_shapes():
    out = shapes()
    sq = Square(1.0)
    sq.sides = 7.5  # an instance attribute shadowing the class attribute
    circle = Circle(1.0)
    circle.scale = NAN
    return [*out, (sq,), (circle,)]


def bodies():
    return [([Body(0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 39.47),
              Body(4.84, -1.16, -0.10, 0.606, 2.81, -0.02, 0.037)], 0.01),
            ([], 0.01),
            ([Body(1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0)], 0.0),
            ([Body(1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0), Body(1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 2.0)],
             0.01),
            ([Body(NAN, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0), Body(0.0, 0.0, 0.0, -0.0, 0.0, 0.0, 1.0)],
             0.5),
            ([Body(0, 0, 0, 1, 2, 3, 4), Body(1, 1, 1, 0, 0, 0, 1)], 1)]


def body_one():
    return [(bs[0], dt) for bs, dt in bodies() if bs] + [
        (Body(1.0, 0.0, 0.0, I64_MAX, 0.0, 0.0, 1.0), 2)]


def body_kick_cases():
    return [(Body(0.0, 0.0, 0.0, vx, 0.0, 0.0, 1.0), dv)
            for vx in (1.0, 3, -0.0, NAN, I64_MAX) for dv in (0.5, 1, -0.0, INF, "s")]


def particles():
    return [(p,) for p in (Particle(1.0, 2.0, 3.0), Particle(0, 0, 1), Particle(NAN, 1.0, 1.0),
                           Particle(-0.0, -0.0, 2.0), ChargedParticle(1.0, 2.0, 3.0, -1.5),
                           ChargedParticle(2, 3, 4, 5), Particle(1e300, 1e300, 1e300),
                           Particle(1.0, None, 1.0))]


def particle_step_cases():
    return [(p, dt) for (p,) in particles() for dt in (0.01, 0, 1, -0.5, NAN)]


def particle_lists():
    return [([Particle(1.0, 2.0, 3.0), ChargedParticle(0.5, 1.0, 2.0, 3.0)], 0.1, 3),
            ([], 0.1, 2), ([Particle(0, 1, 1)], 1, 4),
            ([Particle(NAN, 1.0, 1.0), Particle(1.0, INF, 1.0)], 0.5, 2),
            ([Particle(1.0, 2.0, 3.0)], 0.1, 0)]


def temperatures():
    return [(Temperature(c),) for c in (100.0, -40.0, -0.0, NAN, INF, 37, True, 2**64,
                                        1e308, None)]


def temperature_set_cases():
    return [(Temperature(0.0), f) for f in (212.0, -40.0, 32, -0.0, NAN, INF, 2**64, "f")]


def accounts():
    return [(Account(c),) for c in (1050, 0, -250, 2**64, -1, 7.5, NAN)]


def lazies():
    out = [(Lazy(p),) for p in (1.5, 3, -0.0, NAN, 2**64, "s")]
    extra = Lazy(2.0)
    extra.missing = 10.25
    return [*out, (extra,)]


def audited():
    return [(Audited(v),) for v in (1.5, 3, -0.0, NAN, 2**64, None)]


def counters():
    return [(Counter(c), n) for c in (0, 5, I64_MAX - 2, -3, 1.5, NAN)
            for n in (0, 1, 4, -1)]


def label_points():
    out = []
    for label in ("p", "", "long label"):
        p = Point(1.0, 2.0)
        p.label = label
        out.append((p, 3))
    p = Point(1.0, 2.0)
    p.label = 5
    return [*out, (p, 2), (Point(0.0, 0.0), 1)]


def strengths():
    return [(Strength(a), Strength(b)) for a, b in ((0, 1), (1, 0), (5, 5), (1.5, 2),
                                                     (NAN, 1), (2**64, 2**64 + 1),
                                                     (None, 1))]


def task_states():
    return [(TaskState(p, w, h),) for p in (True, False) for w in (True, False)
            for h in (True, False, 0, 2)]


def gvector_cases():
    return [(GVector(1.0, 2.0, 3.0), GVector(-1.0, 0.5, 2.0), l1, l2)
            for l1, l2 in ((0.25, None), (0.5, 0.5), (0, None), (NAN, None), (2, 3),
                           (True, None), (1e308, 1e308))]


def pets():
    return [(Pet(w),) for w in (10.0, 3, -0.0, NAN, 2**64, True)]


def gadgets():
    return [(Gadget(s),) for s in (1.5, 3, -0.0, NAN, 2**64, None)]


def floats():
    return [(x,) for x in NUMS]


def float_pairs():
    return [(a, b) for a in (3.0, -0.0, 2, NAN, INF, 1e200, True, 2**64)
            for b in (4.0, 0.0, -1, NAN, -INF, 1e200, False)]


def small_ints():
    return [(n,) for n in (0, 1, 2, 5, 10, 20, 21, 25, -3, True, 2.5)]


def fib_ints():
    return [(n,) for n in (0, 1, 2, 10, 15, -1, True, 2.5)]


def parity_ints():
    return [(n,) for n in (0, 1, 7, 30, 31, True, 200)]


def sizes():
    return [(n,) for n in (0, 1, 5, 12, -1, True, 2.5)]


def rebound_inputs():
    return [(x,) for x in (3.0, 4, -0.0, NAN, 2**64, True, 7.5, 1e308, 10, 2.5, 3, 0)]


def div_pairs():
    return [(a, b) for a in (1.0, 3, -0.0, NAN, 2**64, True)
            for b in (2.0, 0.0, -0.0, 0, 3, NAN, INF, False)]


def smooth_inputs():
    return [(x,) for x in (0.0, 1.0, -1.0, 700.0, 710.0, -745.0, NAN, INF, -INF, 3, True)]


def complexes():
    return [(z,) for z in (1 + 2j, 0j, complex(-0.0, -0.0), complex(NAN, 1.0),
                           complex(INF, NAN), complex(1e308, 1e308), complex(-INF, 0.0),
                           complex(5e-324, -5e-324), 3j, complex(-1.0, -0.0), 2.5, 3, True,
                           -0.0)]


def complex_pairs():
    vals = (1 + 2j, 0j, complex(-0.0, 0.0), complex(NAN, 0.0), complex(INF, 1.0),
            complex(1e308, -1e308), 2, 0.0, -1.5, True)
    return [(a, b) for a in vals[:7] for b in vals]


def complex_int_powers():
    return [(z, n) for z in (1 + 1j, 0j, complex(0.5, -0.5), complex(NAN, 1.0),
                             complex(1e200, 1e200), -1j)
            for n in (0, 1, 2, 3, 10, -1, -3, 100, 0.5, True)]


def complex_scalars():
    return [(z, k) for z in (1 + 2j, complex(-0.0, 0.0), complex(INF, 1.0), complex(NAN, 2.0))
            for k in (2, 0.5, -0.0, 0, NAN, True, 2**64, 10**400)]


def complex_parts():
    return [(a, b) for a in (1.0, -0.0, NAN, INF, 3, True, 2**64, 1e308)
            for b in (2.0, 0.0, -0.0, -INF, 4, False)] + [(1.0, "x"), ("1", 2.0)]


def mandel_points():
    return [(c, m) for c in (0j, -1 + 0j, 0.3 + 0.5j, -0.75 + 0.1j, 2 + 2j,
                             complex(NAN, 0.0), complex(-0.0, -0.0))
            for m in (50, 0, 1)]


def grid_sizes():
    return [(n,) for n in (8, 0, 1, 3, 16)]


# ------------------------------------------------------------ instances with a __dict__
@cases(points)
def point_norm(p):
    return math.sqrt(p.x * p.x + p.y * p.y)


@cases(points)
def point_method_norm(p):
    return p.norm()


@cases(point_pairs)
def point_dot(p, q):
    return p.x * q.x + p.y * q.y


@cases(point_pairs)
def point_dist_method(p, q):
    return p.dist(q) + q.dist(p)


@cases(point_scale_cases)
def point_scale_inplace(p, k):
    p.x *= k
    p.y *= k


@cases(point_move_cases)
def point_move_method(p, dx, dy):
    p.move(dx, dy)
    return p.x - p.y


@cases(point_pairs)
def point_new_sum(p, q):
    return Point(p.x + q.x, p.y + q.y)


@cases(point_lists)
def points_centroid(ps):
    sx = 0.0
    sy = 0.0
    for p in ps:
        sx += p.x
        sy += p.y
    return sx / len(ps), sy / len(ps)


@cases(point_query_cases)
def points_closest(ps, q):
    best = -1
    best_d = INF
    for i in range(len(ps)):
        d = ps[i].dist(q)
        if d < best_d:
            best_d = d
            best = i
    return best


@cases(maybe_z_points)
def point_missing_attr(p):
    return p.z * 2 + p.x


@cases(point_value_cases)
def point_add_attr(p, v):
    p.z = v
    return p.z + p.x


@cases(points)
def point_del_attr(p):
    del p.y
    return p.x


@cases(point_lists)
def points_scale_all(ps):
    for p in ps:
        p.x *= 2.0
        p.y -= 1
    return len(ps)


# ------------------------------------------------------------ __slots__, and both
@cases(vecs)
def vec_length(v):
    return v.length()


@cases(vec_pairs)
def vec_add(a, b):
    return Vec3(a.x + b.x, a.y + b.y, a.z + b.z)


@cases(vec_pairs)
def vec_iadd(a, b):
    a.x += b.x
    a.y += b.y
    a.z += b.z
    return a


@cases(vec_triples)
def vec_cross_dot(a, b, c):
    return a.cross(b).dot(c)


@cases(vecs)
def vec_normalize_inplace(v):
    n = v.length()
    v.x /= n
    v.y /= n
    v.z /= n
    return n


@cases(hybrids)
def hybrid_sum(h):
    return h.a + h.b


@cases(hybrid_value_cases)
def hybrid_write(h, v):
    h.a = v
    h.c = v * 2
    return h.a + h.c


@cases(weighted)
def weighted_mean(w):
    return (w.x + w.y) * w.w


# ------------------------------------------------------------ inheritance, class attributes
@cases(shapes)
def shape_area(s):
    return s.area()


@cases(shape_lists)
def shapes_total_area(shapes_):
    total = 0.0
    for s in shapes_:
        total += s.area()
    return total


@cases(zero_ratio_shapes)
def shape_ratio(s):
    return s.ratio()


@cases(shadowing_shapes)
def shape_sides(s):
    return s.sides * 2 + s.scaled_area()


@cases(particles)
def particle_energy(p):
    return p.energy()


@cases(particles)
def particle_potential_only(p):
    return p.potential() - p.kinetic()


@cases(strengths)
def strength_compare(a, b):
    if Strength.stronger(a, b):
        return a.strength - Strength.REQUIRED
    return b.strength + Strength.WEAK


@cases(task_states)
def task_state_flags(t):
    held = t.is_held_or_waiting()
    t.waiting_with_packet()
    return held, t.is_held_or_waiting()


@cases(gvector_cases)
def gvector_combine(a, b, l1, l2):
    if l2 is None:
        return a.linear_combination(b, l1)
    return a.linear_combination(b, l1, l2)


# ------------------------------------------------------------ classes mutated between calls
FACTORS = (2.0, 3, 0.5, NAN, -0.0, 2**64, "x", 2.0, True, 1e308, -1, 2.0)


def _tune(i):
    Tuning.factor = FACTORS[i % len(FACTORS)]


@steps(_tune)
@cases(rebound_inputs)
def tuned_scale(x):
    return Tuning.factor * x


def _swap_portion(i):
    Pet.portion = (_PORTION_SMALL, _portion_big, _PORTION_SMALL, _portion_raises)[i % 4]


@steps(_swap_portion)
@cases(lambda: pets() + pets())
def pet_portion(p):
    return p.portion() + p.weight


def _toggle_property(i):
    if i % 3 == 1:
        Gadget.size = property(lambda self: 99)
    elif "size" in Gadget.__dict__:
        del Gadget.size


@steps(_toggle_property)
@cases(lambda: gadgets() + gadgets())
def gadget_size(g):
    return g.size + 1


def _reset_registry(i):
    Registry.total = (0, 10, 2.5, I64_MAX)[i % 4]


def _registry_state():
    return Registry.total


@steps(_reset_registry, _registry_state)
@cases(rebound_inputs)
def registry_add(x):
    Registry.total += x
    return Registry.total


_SQUARE_AREA = Square.area


def _shape_scale(i):
    Shape.scale = (1.0, 2, NAN, -0.0)[i % 4]
    Square.area = (lambda self: -1.0) if i % 5 == 3 else _SQUARE_AREA


@steps(_shape_scale)
@cases(lambda: shapes() + shapes())
def shape_scaled_area(s):
    return s.scaled_area()


# ------------------------------------------------------------ properties, __getattr__
@cases(temperatures)
def temperature_fahrenheit(t):
    return t.fahrenheit


@cases(temperature_set_cases)
def temperature_set(t, f):
    t.fahrenheit = f
    return t.celsius


@cases(accounts)
def account_balance(a):
    return a.balance * 2


@cases(lazies)
def lazy_default(o):
    return o.present + o.missing


@cases(lazies)
def lazy_private(o):
    return o._secret


@cases(audited)
def audited_reads(o):
    return o.value, o.value


# ------------------------------------------------------------ attribute writes
@cases(body_one)
def body_advance(b, dt):
    b.x += dt * b.vx
    b.y += dt * b.vy
    b.z += dt * b.vz
    return b.x


@cases(bodies)
def bodies_advance(bs, dt):
    """nbody's advance, over Body objects."""
    for i in range(len(bs)):
        b1 = bs[i]
        for j in range(i + 1, len(bs)):
            b2 = bs[j]
            dx = b1.x - b2.x
            dy = b1.y - b2.y
            dz = b1.z - b2.z
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** -1.5)
            b1.vx -= dx * b2.mass * mag
            b1.vy -= dy * b2.mass * mag
            b1.vz -= dz * b2.mass * mag
            b2.vx += dx * b1.mass * mag
            b2.vy += dy * b1.mass * mag
            b2.vz += dz * b1.mass * mag
    for b in bs:
        b.x += dt * b.vx
        b.y += dt * b.vy
        b.z += dt * b.vz


@cases(bodies)
def bodies_energy(bs, dt):
    e = 0.0
    for b in bs:
        e += b.kinetic()
    return e * dt


@cases(counters)
def counter_increment(c, n):
    for _ in range(n):
        c.count += 1
    return c.count


@cases(label_points)
def point_label_append(p, n):
    for _ in range(n):
        p.label += "!"
    return p.label


# ------------------------------------------------------------ self methods and helpers
@cases(particle_step_cases)
def particle_step(p, dt):
    p.step(dt)
    return p.x


@cases(particle_lists)
def particles_simulate(ps, dt, n):
    for _ in range(n):
        for p in ps:
            p.step(dt)
    e = 0.0
    for p in ps:
        e += p.energy()
    return e


@cases(body_kick_cases)
def body_kick_helper(b, dv):
    return _kick(b, dv) + _kick(b, dv)


# ------------------------------------------------------------ helpers over numbers
@cases(float_pairs)
def hyp_two_deep(a, b):
    return _hyp(a, b)


@cases(small_ints)
def fact_recursive(n):
    return _fact(n)


@cases(fib_ints)
def fib_recursive(n):
    return _fib(n) + 1


@cases(parity_ints)
def parity_mutual(n):
    return _is_even(n)


@cases(floats)
def helper_defaults(x):
    return _offset(x) + _offset(x, 2)


@cases(div_pairs)
def helper_raises(a, b):
    return _safe_div(a, b) + 1


@cases(sizes)
def helper_in_loop(n):
    s = 0.0
    for i in range(n):
        s += _clamp(i * 0.7, 1.0, 5.0)
    return s


@cases(smooth_inputs)
def helper_calls_math(x):
    return _smooth(x)


@cases(floats)
def helper_three_deep(x):
    return _a(x)


@cases(sizes)
def spectral_row(n):
    s = 0.0
    for j in range(n):
        s += _eval_a(n, j) * (j + 1)
    return s


REBINDINGS = (_double, _halve, _double, _refuse, abs, _halve, _sq, _double, round,
              _double, _halve, _double)


def _rebind(i):
    global _current
    _current = REBINDINGS[i % len(REBINDINGS)]


@steps(_rebind)
@cases(rebound_inputs)
def rebound_helper(x):
    return _current(x) + 1


DEFAULTS = ((1.5,), (2,), (NAN,), (-0.0,), (2**64,), (1.5,), (True,), (1.5,))


def _redefault(i):
    _offset.__defaults__ = DEFAULTS[i % len(DEFAULTS)]


@steps(_redefault)
@cases(lambda: floats() + floats())
def helper_defaults_replaced(x):
    return _offset(x)


# ------------------------------------------------------------ complex numbers
@cases(complex_pairs)
def cx_arith(a, b):
    return a + b, a - b, a * b


@cases(complex_pairs)
def cx_div(a, b):
    return a / b


@cases(complex_pairs)
def cx_pow(a, b):
    return a ** b


@cases(complex_int_powers)
def cx_int_pow(z, n):
    return z ** n


@cases(complexes)
def cx_abs(z):
    return abs(z)


@cases(complexes)
def cx_parts(z):
    return z.real * 2.0 - z.imag


@cases(complexes)
def cx_conjugate(z):
    return z * z.conjugate()


@cases(complex_parts)
def cx_build(a, b):
    return complex(a, b)


@cases(complex_parts)
def cx_build_abs(a, b):
    return abs(complex(a, b))


@cases(complexes)
def cx_sqrt(z):
    return cmath.sqrt(z)


@cases(complexes)
def cx_exp_log(z):
    return cmath.exp(z) + cmath.log(z)


@cases(complexes)
def cx_polar(z):
    r, phi = cmath.polar(z)
    return r + cmath.phase(z) - phi


@cases(complex_scalars)
def cx_scale(z, k):
    return z * k + k


@cases(complex_pairs)
def cx_equal(a, b):
    return a == b, a != b


@cases(complexes)
def cx_helper(z):
    return _cx_sq(z) - z


@cases(mandel_points)
def mandel_escape(c, maxiter):
    z = 0j
    n = 0
    while n < maxiter and abs(z) <= 2.0:
        z = z * z + c
        n += 1
    return n


@cases(grid_sizes)
def julia_mandelperf(n):
    """The Julia microbenchmarks' mandelperf: complex numbers made from ints inside."""
    total = 0
    for r in range(n):
        for i in range(n):
            total += _mandel_iter(complex(r / n * 3.0 - 2.0, i / n * 2.0 - 1.0), 40)
    return total


@cases(float_pairs)
def cx_from_floats(x, y):
    z = complex(x, y)
    return (z * z).real + abs(z)


# ------------------------------------------------------------ objects made or held inside
ORIGIN = Point(0.0, 0.0)  # a module global bound to an instance, moved between calls


def _move_origin(i):
    ORIGIN.x = (0.0, 1.5, NAN, -0.0, 3, 2**64)[i % 6]
    ORIGIN.y = 0.0 if i % 4 else 2.0


@steps(_move_origin)
@cases(float_pairs)
def distance_from_origin(x, y):
    return math.sqrt((x - ORIGIN.x) ** 2 + (y - ORIGIN.y) ** 2)


@cases(sizes)
def float_benchmark(n):
    """pyperformance's bm_float: points made, normalised and maximised in the loop."""
    best = Point(-INF, -INF)
    for i in range(n):
        p = Point(math.sin(i) * 3.0, math.cos(i) * 2.0)
        norm = p.norm()
        p.x /= norm
        p.y /= norm
        if p.x > best.x:
            best.x = p.x
        if p.y > best.y:
            best.y = p.y
    return best


@cases(float_pairs)
def made_and_read(x, y):
    v = Vec3(x, y, 1.0)
    w = v.cross(Vec3(1.0, 0.0, 0.0))
    return w.length() + v.z


# ------------------------------------------------------------ more helpers over numbers
def _kind_switch(x):
    if x > 0:
        return 1
    return x * 0.5


def _both(a, b):
    return a and b


def _power(x, n):
    """x**n by squaring, recursively."""
    if n == 0:
        return 1.0
    half = _power(x, n // 2)
    if n % 2:
        return half * half * x
    return half * half


def _floordiv(a, b):
    return a // b


def _mod(a, b):
    return a % b


def _gcd(a, b):
    return a if b == 0 else _gcd(b, a % b)


def _ack(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return _ack(m - 1, 1)
    return _ack(m - 1, _ack(m, n - 1))


_SCALE = 2.0  # a module constant a helper reads, rebound between calls


def _scaled(x):
    return x * _SCALE


def _pick(x, flag):
    return -x if flag else x


def helper_default_cases():
    return [(x,) for x in NUMS]


def int_pairs():
    return [(a, b) for a in (7, -7, 0, 2**62, I64_MAX, -(2**63), True, 2**64)
            for b in (2, -3, 1, 0, -1, True, I64_MAX)]


def gcd_pairs():
    return [(a, b) for a, b in ((1_134_903_170, 701_408_733), (12, 18), (0, 5), (5, 0),
                                (-12, 18), (2**64, 2**32), (I64_MAX, 3), (True, 4), (0, 0))]


def power_cases():
    return [(x, n) for x in (2.0, 0.5, -1.5, 0.0, -0.0, NAN, INF, 1e10, 3)
            for n in (0, 1, 2, 5, 30, 64)]


def ack_cases():
    return [(m, n) for m, n in ((0, 0), (1, 2), (2, 3), (2, 10), (3, 3), (0, I64_MAX))]


def bool_pairs():
    return [(a, b) for a in (True, False, 0, 3, 0.0, -0.0, NAN, 2.5)
            for b in (True, False, 7, 1.5, NAN)]


def pick_cases():
    return [(x, f) for x in (1.5, -0.0, 0.0, NAN, 3, -(2**63), I64_MAX, True)
            for f in (True, False, 0, 1)]


@cases(floats)
def helper_keywords(x):
    return _offset(x, d=0.25) - _offset(d=-1, x=x)


@cases(floats)
def helper_result_kinds(x):
    return _kind_switch(x) + _kind_switch(-x)


@cases(sizes)
def helper_overflow_loop(n):
    s = 3
    for _ in range(n):
        s = _sq(s) + 1
    return s


@cases(helper_default_cases)
def helper_from_default(x, f=_sq):
    return f(x) + f(x + 1)


@cases(bool_pairs)
def helper_and_operand(a, b):
    return _both(a, b)


@cases(power_cases)
def helper_power_recursive(x, n):
    return _power(x, n)


@cases(int_pairs)
def helper_divmod(a, b):
    return _floordiv(a, b) * b + _mod(a, b)


@cases(gcd_pairs)
def helper_gcd(a, b):
    return _gcd(a, b)


@cases(ack_cases)
def helper_ackermann(m, n):
    return _ack(m, n)


@cases(pick_cases)
def helper_bool_argument(x, flag):
    return _pick(x, flag) + _pick(x, not flag)


def _rescale(i):
    global _SCALE
    _SCALE = (2.0, 3, NAN, -0.0, 2**64, 0.5, True, 2.0)[i % 8]


@steps(_rescale)
@cases(lambda: floats() + floats())
def helper_reads_rebound_global(x):
    return _scaled(x) + 1


# ------------------------------------------------------------ helpers changed under the code
def _kw(x, *, k=2):
    return x * k


KWDEFAULTS = ({"k": 2}, {"k": 3}, {"k": NAN}, {"k": 2}, {"k": -0.0}, {"k": 2**64},
              {"k": 2}, {"k": 0.5})


def _rekwdefault(i):
    _kw.__kwdefaults__ = KWDEFAULTS[i % len(KWDEFAULTS)]


@steps(_rekwdefault)
@cases(lambda: floats() + floats())
def helper_kwdefaults_replaced(x):
    return _kw(x) + 1


def _recode_target(x):
    return x + 1


def _minus_one(x):
    return x - 1


def _times_ten(x):
    return x * 10


CODES = (_recode_target.__code__, _minus_one.__code__, _recode_target.__code__,
         _times_ten.__code__)


def _recode(i):
    _recode_target.__code__ = CODES[i % len(CODES)]


@steps(_recode)
@cases(lambda: floats() + floats())
def helper_code_replaced(x):
    return _recode_target(x) * 2


def _make_adder(k):
    def adder(x):
        return x + k
    return adder


_adder = _make_adder(1.5)  # a closure bound to a module global
CELL_VALUES = (1.5, 2, NAN, 1.5, -0.0, 2**64, 1.5, True)


def _recell(i):
    _adder.__closure__[0].cell_contents = CELL_VALUES[i % len(CELL_VALUES)]


@steps(_recell)
@cases(lambda: floats() + floats())
def helper_closure_cell_changed(x):
    return _adder(x) * 2


def _sum_all(*xs):
    s = 0
    for x in xs:
        s += x
    return s


@cases(float_pairs)
def helper_star_args(a, b):
    return _sum_all(a, b, 1)


KINDS_OF_CALLABLE = (_double, int, float, _double, (2.0).__mul__, lambda x: x - 1, _double,
                     bool, _halve, _double, abs, _double)


def _rebind_kind(i):
    global _current
    _current = KINDS_OF_CALLABLE[i % len(KINDS_OF_CALLABLE)]


@steps(_rebind_kind)
@cases(lambda: rebound_inputs() + rebound_inputs())
def rebound_to_other_callables(x):
    return _current(x) + 1


def deep_parity():
    return [(n,) for n in (10, 400, 900, 2000, 5000, 30)]


@cases(deep_parity)
def helper_recursion_too_deep(n):
    return _is_even(n)


@cases(lambda: [(n,) for n in (10, 500, 3000, 20)])
def helper_factorial_too_deep(n):
    return _fact(n) % 1000003


# ------------------------------------------------------------ methods compiled in
class Meter:
    """Methods calling each other, a helper, keywords and defaults (compiled into
    their callers); a static and a class method (CPython's own calls)."""

    def __init__(self, level, rate):
        self.level = level
        self.rate = rate
        self.ticks = 0

    def tick(self, dt=0.5, scale=1.0):
        self.ticks += 1
        self.level = _clamp(self.level + self.rate * dt * scale, -1e6, 1e6)
        return self.level

    def drain(self, n):
        for _ in range(n):
            self.tick(scale=-1.0)
        return self.level

    def per_tick(self, d):
        return self.level / d

    def deeper(self, k):
        if k <= 0:
            return self.level
        return self.deeper(k - 1) * 0.5

    @staticmethod
    def unit():
        return 1.5

    @classmethod
    def scaled(cls, v):
        return v * 2


def meters():
    return [(Meter(level, rate), n) for level, rate in ((0.5, 2.0), (0, 1), (NAN, 1.0),
                                                        (-0.0, INF), (I64_MAX, 1))
            for n in (3, 0, 1)]


@cases(meters)
def meter_ticks(m, n):
    total = 0.0
    for _ in range(n):
        total += m.tick()
    return total + m.tick(0.25) + m.tick(dt=1.0, scale=2.0)


@cases(meters)
def meter_drain(m, n):
    return m.drain(n) + m.ticks


@cases(lambda: [(m, float(n)) for m, n in meters()])
def meter_per_tick(m, d):
    m.ticks += 1
    return m.per_tick(d)  # a ZeroDivisionError inside the method for d == 0.0


@cases(meters)
def meter_recursive_method(m, n):
    return m.deeper(n)


@cases(meters)
def meter_static_and_class(m, n):
    return m.unit() * n + m.scaled(n)


class Gauge(Meter):
    """Instances given a ``tick`` of their own after the compile."""


class Dial(Meter):
    """Its ``tick`` reassigned between calls."""


def _dict_tick(dt=0.5, scale=1.0):
    return 100.0


def shadowed_meters():
    # an instance's own ``tick`` (here in its dict, made) enters the class's shared
    # keys, before the compile: so no call of Gauge's tick is compiled in, all are
    # CPython's (test_inlined_methods gives an instance one after the compile)
    made = Gauge(2.0, 1.0)
    vars(made)["tick"] = _dict_tick
    return [(Gauge(0.5, 2.0), 2), (made, 3), (Gauge(1.0, 0.5), 3)]


@cases(shadowed_meters)
def meter_shadowed_method(m, n):
    total = 0.0
    for _ in range(n):
        total += m.tick()
    return total


def _tenfold_tick(self, dt=0.5, scale=1.0):
    return dt * 10


_TICKS = (Meter.tick, _tenfold_tick, Meter.tick)


def _retick(i):
    Dial.tick = _TICKS[i % len(_TICKS)]


@steps(_retick)
@cases(lambda: [(Dial(m.level, m.rate), n) for m, n in meters()[:6]])
def meter_method_reassigned(m, n):
    return m.drain(n) + m.tick()


def _kinetic_sum(bs):
    e = 0.0
    for b in bs:
        e += b.kinetic()
    return e


@cases(bodies)
def bodies_energy_helper(bs, dt):  # a list of instances handed to a helper
    return _kinetic_sum(bs) * dt


# ------------------------------------------------------------ making instances (ctors)
class Planet:
    """A body made by a helper (the nbody kernel's solar_system)."""

    def __init__(self, x, v, m):
        self.x = x
        self.v = v
        self.m = m


class Ring:
    """An instance holding an instance (``r.centre.x``)."""

    def __init__(self, centre, radius):
        self.centre = centre
        self.radius = radius


class Picky:
    def __init__(self, v):
        if v < 0:
            raise ValueError(f"negative: {v!r}")
        self.v = v


_PLANET_KIND = {"cls": Planet}


def _planets(n):
    cls = _PLANET_KIND["cls"]
    return [cls(float(i), 0.5 * i, 1.0 + i) for i in range(n)]


def _other_planet(x, v, m):
    return Point(x, v)


def _reinit(i):
    """Planet's ``__init__`` replaced, a ``__new__`` added, and back, after the compile."""
    if i % 4 == 1:
        Planet.__init__ = _planet_init_scaled
    elif i % 4 == 2:
        Planet.__new__ = lambda cls, x, v, m: Point(x, v)
    else:
        Planet.__init__ = _PLANET_INIT
        if "__new__" in vars(Planet):
            del Planet.__new__


_PLANET_INIT = Planet.__init__


def _planet_init_scaled(self, x, v, m):
    self.x = x * 2
    self.v = v
    self.m = m


def _switch_planets(i):
    _PLANET_KIND["cls"] = (Planet, Planet, Planet, Vec3Like, Planet)[i % 5]


class Vec3Like:
    def __init__(self, x, v, m):
        self.x = x
        self.v = -v
        self.m = m


@cases(float_pairs)
def made_vec_dot(a, b):
    u = Vec3(a, b, 1.0)
    w = Vec3(b, a, -1.0)
    return u.x * w.x + u.y * w.y + u.z * w.z


@cases(float_pairs)
def made_point_returned(a, b):
    p = Point(a, b)
    p.x = p.x + p.y
    return p


@cases(sizes)
def made_in_loop(n):
    total = 0.0
    for i in range(n):
        p = Flat2(float(i), 2.0)
        total += p.x * p.y
    return total


@cases(sizes)
def made_list_appended(n):
    xs = [Point(0.0, 1.0)]
    for i in range(n):
        xs.append(Point(float(i), -1.0))
    total = 0.0
    for p in xs:
        total += p.x - p.y
    return total, len(xs)


@cases(float_pairs)
def made_list_display(a, b):
    return [Flat2(a, b), Flat2(b, a)]


@cases(lambda: [(v,) for v in (1.5, 0.0, -2.0, 3, True, NAN)])
def made_init_raises(v):
    p = Picky(v)
    return p.v * 2


@cases(lambda: [(v,) for v in (1.5, 2.0, 3.0)])
def made_wrong_arity(v):
    p = Flat2(v)
    return p.x


@steps(_reinit)
@cases(lambda: [(float(x),) for x in (1, 2, 3, 4, 5, 6, 7, 8)])
def made_class_mutated(x):
    p = Planet(x, 1.0, 2.0)
    return p.x + p.v


@cases(lambda: [(Ring(Point(1.0, 2.0), 3.0),), (Ring(Point(-0.0, NAN), 1),),
                (Ring(Flat2(4.0, 5.0), 2.0),), (Ring(2.0, 1.0),), (Ring(Point(1, 2), 0.5),)])
def ring_centre(r):
    return r.centre.x * r.radius + r.centre.y


@cases(float_pairs)
def ring_made(a, b):
    r = Ring(Point(a, b), 2.0)
    r.centre.x += 1.0
    return r.centre.x * r.radius


@steps(_switch_planets)
@cases(lambda: [(n,) for n in (3, 4, 5, 2, 6, 3, 0, 4, 5, 1)])
def planets_weighed(n):
    """A helper returning a list of instances: its result speculated after the first
    compile's bailout, a list of another class later."""
    ps = _planets(n)
    total = 0.0
    for p in ps:
        p.x += p.v
        total += p.x * p.m
    return total
