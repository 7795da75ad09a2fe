"""Hot functions that call each other through their module globals."""

import autotier

LIMIT = 3


@autotier.hot(threshold=3)
def is_even(n):
    return True if n == 0 else is_odd(n - 1)


@autotier.hot(threshold=3)
def is_odd(n):
    return False if n == 0 else is_even(n - 1)


@autotier.hot(threshold=3)
def helper(x):
    return x * 2


@autotier.hot(threshold=3)
def uses_helper(x):
    return helper(x) + LIMIT
