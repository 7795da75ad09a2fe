"""The bench's "one long call" group (issue 12): each variant in its own process, called
once, timed from the call, checked against CPython's answer; the table and targets."""

from __future__ import annotations

import shutil

import pytest

from autotier import bench_longcall
from autotier.bench import cli, longcall


@pytest.fixture(scope="module")
def group() -> dict:
    return longcall.run_group(["leibniz_once"], quick=True, with_pypy=True, log=lambda s: None)


def test_every_variant_answers_once_and_is_checked(group):
    (row,) = group["rows"]
    assert row["name"] == "leibniz_once" and row["args"] == [1_000_000]
    want = bench_longcall.encode(bench_longcall.leibniz(1_000_000))
    v = row["variants"]
    assert v["cpython"]["result"] == want and v["cpython"]["seconds"] > 0
    assert v["autotier"]["match"] is True, v["autotier"]
    assert v["autotier"]["state"] in {"interpreted", "queued", "compiling", "compiled"}
    assert v["numba"].get("match") is True, v["numba"]  # numba's float loop is exact here
    if shutil.which("pypy3"):
        assert v["pypy"].get("match") is True, v["pypy"]
    else:
        assert v["pypy"] == {"error": "not run"}
    assert longcall.mismatches(group) == []


def test_the_table_states_the_targets(group):
    text = "\n".join(longcall.render(group))
    assert "leibniz_once" in text and "target >= 20x" in text and "target <= 1.5" in text
    s = group["summary"]
    assert s["autotier_kernels"] == 1 and s["first_call_kernels"] == 1


def test_a_wrong_autotier_answer_is_a_mismatch(group):
    bad = {"rows": [dict(group["rows"][0])], "summary": group["summary"]}
    row = bad["rows"][0]
    row["variants"] = dict(row["variants"])
    row["variants"]["autotier"] = {**row["variants"]["autotier"], "match": False,
                                   "result": {"type": "int", "repr": "3"}}
    assert longcall.mismatches(bad) and "MISMATCH autotier on leibniz_once" in \
        longcall.mismatches(bad)[0]
    assert "MISMATCH (a bug)" in "\n".join(longcall.render(bad))


def test_the_cli_knows_the_long_calls():
    assert set(cli.LONG_CALLS) == set(bench_longcall.BY_NAME)
    with pytest.raises(SystemExit):
        cli.run(cli.Options(kernels=("no_such_long_call",)))
