"""Known-wrong solutions and a TODO stub, run for real: every failing public check reads in Chinese with `--lang zh`
and in English by default, and quotes what was expected and what was received (issue 13)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from grader.cli import EXIT_FAILED
from grader.messages import render
from grader.reporters.selfcheck import render_text
from grader.selfcheck import check_notebook
from grader.verify import with_wrong_solution
from grader.verify_variants import stub_definitions, with_stub

from conftest import invoke

CJK = re.compile(r"[\u4e00-\u9fff]")
LESSON_QUOTES = ("grad_1是元组", "梯度不自动清零", "逻辑回归 = 线性组合 WX+b 再输入到 sigmoid 函数", "作业2")

pytestmark = pytest.mark.slow


def _wrong_notebook(project: Path, tmp_path: Path, notebook: str, exercise: str, wrong: list[str],
                    stubs: list[str] = ()) -> Path:
    nb = nbformat.read(project / "reference" / notebook, as_version=4)
    distributed = stub_definitions(nbformat.read(project / "exercises" / notebook, as_version=4))
    for name in stubs:
        nb = with_stub(nb, name, distributed[name])
    for stem in wrong:
        nb = with_wrong_solution(nb, project / "reference" / "wrong" / exercise / f"{stem}.py")
    path = tmp_path / notebook
    nbformat.write(nb, path)
    return path


def test_autograd_wrong_answers_and_a_stub_read_in_both_languages(project, course, isolation, tmp_path):
    path = _wrong_notebook(project, tmp_path, "01_autograd.ipynb", "autograd",
                           ["leaf_inplace__returns_new_tensor", "create_graph__returns_tuples",
                            "accumulation__no_clone", "grad_tensors__ignores_weights"], stubs=["backward_twice"])
    check = check_notebook(path, course, isolation=isolation.requested)
    failed = {c.id.split(".")[1]: c.message for q in check.result.questions for c in q.checks if c.status == "failed"}
    assert set(failed) == {"leaf_inplace", "create_graph", "accumulation", "grad_tensors", "retain_graph"}
    for question, message in failed.items():
        en, zh = render(message, "en"), render(message, "zh")
        assert CJK.search(zh), (question, zh)
        assert not CJK.search(_without_quotes(en)), (question, en)
    expected_and_received = {
        "leaf_inplace": ("requires_grad=True", "requires_grad=False"),
        "create_graph": ("grad_1[0]", "tuple"),
        "accumulation": ("[5.0, 10.0, 15.0, 20.0]", "[20.0, 20.0, 20.0, 20.0]"),
        "grad_tensors": ("tensor([9.])", "tensor([7.])"),
    }
    for lang in ("en", "zh"):
        for question, parts in expected_and_received.items():
            for part in parts:
                assert part in render(failed[question], lang), (lang, question, part)
    assert "not implemented yet" in render(failed["retain_graph"], "en")
    assert "尚未实现" in render(failed["retain_graph"], "zh")
    zh_report = render_text(check, course, "zh")
    assert "但返回的张量 requires_grad=False" in zh_report and "提示:" in zh_report


def _without_quotes(text: str) -> str:
    for quote in LESSON_QUOTES:  # the lesson's own Chinese, quoted in the English messages on purpose
        text = text.replace(quote, "")
    return text


def test_grade_check_lang_zh_on_wrong_tensors(project, isolation, tmp_path):
    path = _wrong_notebook(project, tmp_path, "03_tensors.ipynb", "tensors",
                           ["broadcast_add__row_major", "normal_cloud__unseeded"])
    args = ("check", str(path), "--course", str(project), "--isolation", isolation.requested)
    for lang, parts in (("zh", ("返回了形状为 [2, 3] 的张量", "应有的 [3, 2] 表格", "第一个点应为 [0.8827, 1.1444]，实际是 [")),
                        ("en", ("returned a [2, 3] tensor", "the expected [3, 2] table",
                                "its first point should be [0.8827, 1.1444], but it is ["))):
        result = invoke(*args, "--lang", lang, env={"COLUMNS": "500"})
        assert result.exit_code == EXIT_FAILED, result.output
        out = " ".join(result.output.split())
        for part in parts:
            assert part in out, (lang, part, out)
