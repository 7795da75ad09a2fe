"""Recursive hot functions at module level (recursion goes through the global)."""

import autotier


@autotier.hot(threshold=3)
def down(n):
    if n <= 0:
        return 0
    return down(n - 1) + 1


def down_plain(n):
    if n <= 0:
        return 0
    return down_plain(n - 1) + 1
