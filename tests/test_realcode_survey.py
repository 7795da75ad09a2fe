"""tools/realcode_survey.py: the survey of real hot functions runs, every function answers
as CPython does after its compile, and the count of compiled functions only goes up."""

from __future__ import annotations

from tools import realcode_survey as survey
from tools.realcode_functions import FUNCTIONS

COMPILED_FLOOR = 38  # of 48: slices; 37 with None arguments, 36 with nbody's nested
# sequences (2026-12-03); 31 with methods compiled in (issue 11), 30 with instances, 15 before


def test_every_function_answers_like_cpython_and_the_floor_holds():
    rows = survey.survey()
    assert len(rows) == len(FUNCTIONS) >= 40
    bad = [(r["function"], r["state"]) for r in rows if not r["match"]]
    assert not bad
    compiled = sum(r["state"] == "compiled" for r in rows)
    assert compiled >= COMPILED_FLOOR, survey.render(rows)
    assert f"autotier compiled {compiled} of {len(rows)}" in survey.render(rows)


def test_reasons_are_grouped_without_names_and_lines():
    assert survey.category("llvm declined: global 'Vector' is a type: only int/float/bool "
                           "constants at line 180 (in raytrace); numba: x") == \
        survey.category("llvm declined: global 'Point' is a type: only int at line 9 (in f)")
    assert survey.category("arguments cannot be compiled: p is a Point, q is a Vec; native "
                           "code takes int") == "argument: a user class instance"
    assert survey.category("arguments cannot be compiled: z is a complex; native code "
                           "takes int") == "argument: complex"
    assert survey.category(None) == "-"


def test_the_picture_tells_apart_what_cpython_would():
    assert survey.picture(0.0) != survey.picture(-0.0)
    assert survey.picture(1) != survey.picture(True)
    assert survey.picture([1.0]) != survey.picture((1.0,))
    a, b = survey.FUNCTIONS[1][2]()[0], survey.FUNCTIONS[1][2]()[0]  # two FloatPoints
    assert survey.picture(a) == survey.picture(b)
    b.x = -b.x
    assert survey.picture(a) != survey.picture(b)
