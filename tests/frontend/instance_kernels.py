"""User classes and the functions calling their methods, for more than one test file:
``Walker`` and its callers for the frontend's instance tests (``test_instances.py``:
method calls and sequences of instances; ``test_inlined_methods.py``: methods compiled
into their callers), ``Vec``, ``Picky`` and ``Body`` for the constructor tests
(``test_constructors.py`` and, through ``@hot``, ``tests/integration/test_hot_constructors.py``).

The names are part of what the tests assert (a compiled-in callee is named by its
qualified name: ``Walker.advance``, ``clamp``, ``_kick``).  No test changes these
classes (their methods, their instances' shared keys): each file sees them as defined.
"""

from __future__ import annotations


def clamp(v, lo, hi):  # an undecorated helper of numbers, called by a method
    return min(max(v, lo), hi)


class Walker:
    def __init__(self, x, step):
        self.x = x
        self.step = step
        self.moves = 0

    def advance(self, k=1.0):
        self.x += self.step * k
        self.moves += 1
        return self.x

    def ahead(self, n):  # calls other methods of self
        for _ in range(n):
            self.advance(0.5)
        return self.gap(self)

    def gap(self, other):
        return abs(self.x - other.x)

    def bounded(self, lo, hi):
        self.x = clamp(self.x, lo, hi)
        return self.x

    def boom(self, d):
        return self.x / d

    def counted(self):  # an int attribute that may overflow int64 inside the method
        self.moves = self.moves * 3 + 1
        return self.moves

    def me(self):
        return self

    def twin(self):  # a new instance: a result of another kind than the caller's numbers
        return Walker(self.x, self.step)

    def depth(self, k):
        if k <= 0:
            return self.x
        return self.depth(k - 1) + 1.0

    @staticmethod
    def twice(v):
        return 2 * v

    @classmethod
    def plus(cls, v):
        return v + 1


class Runner(Walker):
    def advance(self, k=1.0):  # overridden: each class its own specialisation
        self.x += 2 * self.step * k
        return self.x


def walk(w, n):
    total = 0.0
    for _ in range(n):
        total += w.advance()
    return total


def walk_by(w, k):
    return w.advance(k=k) + w.advance(k)


def gap_of(w, v):
    return w.gap(v) * 2


def divided(w, d):
    w.x += 1.0
    return w.boom(d)


def _kick(w, dv):  # a helper given an instance
    w.step += dv
    return w.step


def kicked(w, dv):
    return _kick(w, dv) + w.x


class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Picky:
    def __init__(self, v):
        if v < 0:
            raise ValueError(f"negative: {v}")
        self.v = v


class Body:
    def __init__(self, x, m):
        self.x = x
        self.m = m
