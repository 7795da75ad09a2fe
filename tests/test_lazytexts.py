"""autotier.lazytexts: a compile's dump texts, made when first read."""

from __future__ import annotations

import pytest

from autotier.lazytexts import LazyTexts


def test_each_text_is_made_once_when_first_read():
    made: list[str] = []

    def maker(key: str):
        def make() -> str:
            made.append(key)
            return key.upper()
        return make

    texts = LazyTexts({"ir": maker("ir"), "llvm": maker("llvm")})
    assert list(texts) == ["ir", "llvm"] and len(texts) == 2
    assert "ir" in texts and "asm" not in texts
    assert made == []
    assert texts["llvm"] == "LLVM" and texts["llvm"] == "LLVM"
    assert made == ["llvm"]
    assert dict(texts) == {"ir": "IR", "llvm": "LLVM"}
    assert made == ["llvm", "ir"]
    assert list(texts) == ["ir", "llvm"]  # the order stays the makers'
    with pytest.raises(KeyError):
        texts["asm"]
    assert texts.get("asm", "") == ""


def test_a_maker_that_raises_is_asked_again():
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first")
        return "text"

    texts = LazyTexts({"ir": flaky})
    with pytest.raises(ValueError, match="first"):
        texts["ir"]
    assert texts["ir"] == "text" and len(attempts) == 2
