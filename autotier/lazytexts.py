"""A mapping of texts made on first reading: a compile's dumps (issue 12).

A compile keeps the text of each of its stages (the bytecode listing, the typed IR,
the deopt sites, the LLVM IR) for ``autotier.explain`` and ``AUTOTIER_DUMP``; made at
every compile, the first three were 2-3% of an OSR compile's Python time (which holds
the GIL beside the loop waiting for it), read by almost no one.  So they are made
when read, once: each key's maker is called on the first read and dropped after it
(what it holds, the compile's typed program, is freed then).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping


class LazyTexts(Mapping[str, str]):
    """``{key: text}`` whose texts are made by ``makers[key]()`` when first read."""

    def __init__(self, makers: Mapping[str, Callable[[], str]]) -> None:
        self._keys = tuple(makers)
        self._makers = dict(makers)
        self._made: dict[str, str] = {}
        self._lock = threading.Lock()  # a text is made once, whichever thread reads

    def __getitem__(self, key: str) -> str:
        made = self._made.get(key)
        if made is not None:
            return made
        with self._lock:
            if key not in self._made:
                maker = self._makers[key]  # KeyError: not a key
                self._made[key] = maker()
                del self._makers[key]
            return self._made[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __repr__(self) -> str:
        return f"LazyTexts({sorted(self)!r})"
