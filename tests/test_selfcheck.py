"""`grade check NOTEBOOK`: public checks only, hints, hidden checks counted by question, exit codes, student bundle."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from grader.cli import EXIT_FAILED, EXIT_USAGE
from grader.models import REFERENCE_UNAVAILABLE, CheckResult, ExerciseResult, Outcome, QuestionResult
from grader.reporters.junit import write_self_check_junit
from grader.reporters.selfcheck import render_html, render_text
from grader.reporters.view import self_check_view
from grader.selfcheck import SelfCheck, unavailable_checks

from conftest import invoke


def test_the_checks_imports_wait_for_the_kernels_launch(tmp_path, monkeypatch):
    from grader import warm_up

    (tmp_path / "grader_late_import_probe.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "grader_late_import_probe", raising=False)
    monkeypatch.setattr(warm_up, "_imported", {})
    launched = threading.Event()
    warm_up.start(["grader_late_import_probe"], after=launched)
    time.sleep(0.2)
    assert "grader_late_import_probe" not in sys.modules
    launched.set()
    warm_up.wait(["grader_late_import_probe"])
    assert "grader_late_import_probe" in sys.modules


def test_the_checks_imports_hand_over_the_gil_quickly_and_the_cpu_first(tmp_path, monkeypatch):
    from grader import warm_up
    from grader.warm_up import WARM_UP_NICENESS, WARM_UP_SWITCH_INTERVAL

    monkeypatch.setattr(warm_up, "_imported", {})
    (tmp_path / "grader_interval_probe.py").write_text(
        "import os, sys, threading\nSEEN = sys.getswitchinterval()\n"
        "NICE = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "grader_interval_probe", raising=False)
    before = sys.getswitchinterval()
    assert before > WARM_UP_SWITCH_INTERVAL
    warm_up.start(["grader_interval_probe"])  # as run_exercise does
    warm_up.wait(["grader_interval_probe"])
    deadline = time.monotonic() + 5
    while sys.getswitchinterval() != before and time.monotonic() < deadline:  # restored just after the import
        time.sleep(0.01)
    assert sys.modules["grader_interval_probe"].SEEN == pytest.approx(WARM_UP_SWITCH_INTERVAL)
    assert sys.getswitchinterval() == before
    if sys.platform == "linux":  # the warm-up's thread yields the CPU to the kernel; this thread keeps its own
        nice = os.getpriority(os.PRIO_PROCESS, 0)
        assert sys.modules["grader_interval_probe"].NICE == min(19, nice + WARM_UP_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == nice


@pytest.mark.slow
def test_grade_check_imports_for_the_checks_only_after_its_kernel_is_launched(project, isolation, monkeypatch):
    from grader import warm_up

    seen = []
    original = warm_up.start

    def recording(modules, after=None):
        seen.append(after)
        return original(modules, after)

    monkeypatch.setattr(warm_up, "start", recording)
    result = invoke("check", str(project / "reference" / "03_tensors.ipynb"), "--course", str(project),
                    "--isolation", isolation.requested)
    assert result.exit_code == 0, result.output
    assert len(seen) == 1 and isinstance(seen[0], threading.Event) and seen[0].is_set()


def lr_result() -> ExerciseResult:
    """Public-only grading of a logistic regression notebook in a folder without reference/."""
    q = lambda qid, *checks: QuestionResult(qid, qid, checks)  # noqa: E731
    return ExerciseResult("logistic_regression", "graded", "graded", (
        q("make_data", CheckResult("logistic_regression.make_data.lesson_data", "error", 0, 3, "public",
                                   "the check itself failed; your instructor has the details", "h")),
        q("experiments", CheckResult("logistic_regression.experiments.lesson_configs", "passed", 3, 3, "public", "")),
        q("plots", CheckResult("logistic_regression.plots.five_plots", "failed", 0, 4, "public",
                               "The notebook shows 0 plot(s)", "run the demo cells")),
        q("hw1", CheckResult("logistic_regression.hw1.answer", "manual", 0, 5, "public", "awaiting", "h")),
        q("hw2", CheckResult("logistic_regression.hw2.answer", "failed", 0, 5, "public",
                             "no answer written (the answer cell is empty or unchanged)", "h")),
    ), "02_logistic_regression.ipynb")


def lr_self_check(course) -> SelfCheck:
    """The checks that need the reference are told by the outcome's reason, not by its traceback."""
    outcomes = [Outcome("logistic_regression.make_data.lesson_data", "error", "the check itself failed",
                        "Traceback...", REFERENCE_UNAVAILABLE),
                Outcome("logistic_regression.model.lesson_model", "error", "the check itself failed",
                        "reference solution not found (but another error)")]
    return SelfCheck(lr_result(), course.rubrics["logistic_regression"], unavailable_checks(outcomes))


def test_self_check_view_marks_checks_that_need_the_reference_and_counts_hidden_ones(course):
    check = lr_self_check(course)
    assert check.unavailable == {"logistic_regression.make_data.lesson_data"}
    result = self_check_view(check, course)
    lines = {c.id: c for q in result.questions for c in q.checks}
    assert lines["logistic_regression.make_data.lesson_data"].status == "unavailable"
    assert (lines["logistic_regression.hw1.answer"].status, lines["logistic_regression.hw1.answer"].written) == (
        "manual", True)
    assert lines["logistic_regression.hw2.answer"].written is False
    assert [c.id for c in result.automatic] == ["logistic_regression.make_data.lesson_data",
                                                "logistic_regression.experiments.lesson_configs",
                                                "logistic_regression.plots.five_plots"]
    assert not result.passed
    hidden = {q.id: q.hidden for q in result.questions}
    assert hidden == {"make_data": 1, "model": 1, "train": 2, "convergence": 1, "experiments": 1, "plots": 0,
                      "hw1": 0, "hw2": 0}
    text = render_text(check, course)
    assert "1/3 public checks pass" in text and "needs the course's reference solution" in text
    assert "train (BCELoss, SGD with momentum, zero_grad, early stop) (2)" in text
    assert "random_settings" not in text and "gradients_zeroed" not in text  # hidden check names never shown
    zh = render_html(check, course, "zh")
    assert "公开检查通过 1/3" in zh and "无法在此运行" in zh and "运行演示单元格" in zh and "尚未作答" in zh


CHECKS_THAT_NEED_THE_REFERENCE = """
from grader.checks import check

@check("q", "needs_reference")
def test_needs_reference(student, reference):
    assert reference.answer == 42

@check("q", "breaks")
def test_breaks(student):
    raise RuntimeError("reference solution not found (a check's own bug, whatever its text)")
"""


def test_a_missing_reference_is_recorded_by_the_plugin_not_read_from_a_traceback(tmp_path):
    from grader.checkrun import run_checks
    from grader.plugin import GraderPlugin
    from grader.rubric import load_rubric
    from grader.seeds import Seeds
    from grader.session import StudentSession

    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "test_q.py").write_text(CHECKS_THAT_NEED_THE_REFERENCE, encoding="utf-8")
    (tmp_path / "ex.toml").write_text('exercise = "ex"\nnotebook = "ex.ipynb"\n' + "".join(
        f'[questions.q.checks.{name}]\npoints = 1\nvisibility = "public"\nhint = "h"\n'
        for name in ("needs_reference", "breaks")), encoding="utf-8")
    plugin = GraderPlugin(rubric=load_rubric(tmp_path / "ex.toml"), reference_path=tmp_path / "none.ipynb",
                          student=StudentSession(None, nbformat.v4.new_notebook()), seeds=Seeds(b"s", "student"))
    run_checks([tmp_path / "checks"], plugin)
    assert {o.check_id: o.status for o in plugin.outcomes.values()} == {"ex.q.needs_reference": "error",
                                                                        "ex.q.breaks": "error"}
    assert unavailable_checks(plugin.outcomes.values()) == {"ex.q.needs_reference"}


def test_self_check_junit_for_a_student_repository(course, tmp_path):
    write_self_check_junit(lr_self_check(course), tmp_path / "j.xml")
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("5", "1", "1", "2")


def test_a_file_that_is_not_a_notebook_fails_the_check_in_one_line(project, tmp_path):
    (tmp_path / "01_autograd.ipynb").write_text("{ not json", encoding="utf-8")
    result = invoke("check", str(tmp_path / "01_autograd.ipynb"), "--course", str(project))
    assert result.exit_code == EXIT_FAILED
    assert "not valid JSON" in result.output and "Traceback" not in result.output


def test_an_unknown_notebook_is_a_usage_error(project, tmp_path):
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "scratch.ipynb")
    result = invoke("check", str(tmp_path / "scratch.ipynb"), "--course", str(project))
    assert result.exit_code == EXIT_USAGE and "--exercise" in result.output


@pytest.mark.slow
def test_grade_check_shows_failures_with_hints_and_exits_1(project, isolation, tmp_path):
    junit = tmp_path / "junit.xml"
    result = invoke("check", str(project / "examples" / "submissions" / "bob" / "01_autograd.ipynb"),
                    "--course", str(project), "--isolation", isolation.requested, "--junit", str(junit))
    assert result.exit_code == EXIT_FAILED, result.output
    out = " ".join(result.output.split())
    assert "4/6 public checks pass" in out
    assert "returned tensor([7.])" in out and "Hint: With weights (1, 2) the lesson printed" in out
    assert "hidden checks also run on" in out and "backward(gradient=...) weights each output (1)" in out
    assert "random_weights" not in out and "Some public checks do not pass yet." in out
    assert ET.parse(junit).getroot().get("failures") == "2"


@pytest.mark.slow
def test_grade_check_in_a_student_bundle_needs_no_secret_hidden_checks_or_reference(project, isolation, tmp_path,
                                                                                   monkeypatch):
    bundle = tmp_path / "bundle"
    (bundle / "rubrics" / "checks" / "autograd").mkdir(parents=True)
    for rubric in (project / "rubrics").glob("*.toml"):
        shutil.copy(rubric, bundle / "rubrics")
    public = Path("rubrics", "checks", "autograd", "public")
    shutil.copytree(project / public, bundle / public)
    notebook = shutil.copy(project / "examples" / "submissions" / "alice" / "01_autograd.ipynb", bundle)
    before = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if "__pycache__" not in p.parts)
    monkeypatch.delenv("GRADER_SECRET", raising=False)
    monkeypatch.chdir(bundle)
    result = invoke("check", Path(notebook).name, "--isolation", isolation.requested, "--lang", "zh")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "公开检查通过 6/6" in out and "所有公开检查均已通过" in out
    assert "正式评分时，以下题目还会运行隐藏检查" in out
    after = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if "__pycache__" not in p.parts)
    assert after == before  # no secret file, no reports: a self-check leaves nothing behind


# -- points, no sentence said twice, a log 80 columns wide (issue 17) ------------------------------------------------
def test_a_self_check_shows_points_overall_and_per_check(course):
    check = lr_self_check(course)
    text = render_text(check, course)
    assert "Points: 3/10 · 1/3 public checks pass" in text
    assert "[passed] lesson_configs (3/3)" in text and "[failed] five_plots (0/4)" in text
    assert "Points: 3/10" in render_html(check, course)
    assert "分数: 3/10 · 公开检查通过 1/3" in render_text(check, course, "zh")


def repeating_check(message: str, hint: str) -> SelfCheck:
    result = ExerciseResult("demo", "graded", "graded", (QuestionResult("double", "double", (
        CheckResult("demo.double.lesson", "failed", 0, 2, "public", message, hint),)),))
    return SelfCheck(result, demo_rubric())


def demo_rubric():
    from grader.rubric import CheckSpec, Question, Rubric

    lesson = CheckSpec("demo", "double", "lesson", 2.0, "public", "h")
    return Rubric("demo", "demo", "demo.ipynb", (Question("double", "double", (lesson,), ()),), Path("demo.toml"))


@pytest.mark.parametrize("message, hint, shown_hint", [
    ("double(2) returned 5. Return 2 * x.", "Return 2 * x.", None),
    ("double(2) returned 5. Return 2 * x.", "Return 2 * x. The lesson printed 4.", "The lesson printed 4."),
    ("double(2) returned 5", "double(2) returned 5", None),
    ("double(2) returned 5", "Return 2 * x.", "Return 2 * x."),
])
def test_a_hint_never_repeats_what_the_message_says(message, hint, shown_hint):
    text = render_text(repeating_check(message, hint))
    assert text.count(message) == 1
    if shown_hint is None:
        assert "Hint:" not in text
    else:
        assert f"Hint: {shown_hint}" in text and text.count(hint.split(".")[0]) == 1


def test_grade_check_output_is_readable_in_an_80_column_log(project, course, monkeypatch):
    import grader.selfcheck

    long = ("weighted_backward(1., 2., (1., 2.)) should return tensor([9.]) but returned tensor([7.]) = 5 + 2, "
            "the unweighted sum: gradient= weights each output.")
    result = ExerciseResult("demo", "graded", "graded", (QuestionResult("double", "double", (
        CheckResult("demo.double.lesson", "failed", 0, 2, "public", long, "Pass gradient= to backward."),)),))
    monkeypatch.setattr(grader.selfcheck, "check_notebook", lambda *a, **k: SelfCheck(result, demo_rubric()))
    notebook = project / "examples" / "submissions" / "bob" / "01_autograd.ipynb"
    out = invoke("check", str(notebook), "--course", str(project), env={"COLUMNS": "80"}).output
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    assert "┃" not in out and "│" not in out  # no table whose narrow columns wrap a message word by word
    message_lines = [line for line in lines if line.startswith("      ")]
    assert len(message_lines) == 4 and min(len(line.split()) for line in message_lines[:2]) > 5, out
    assert message_lines[-1] == "      Hint: Pass gradient= to backward."
    assert "Points: 0/2 · 0/1 public checks pass" in out and "[failed] lesson (0/2)" in out


def test_the_warm_up_imports_torchs_optimizers_only_for_checks_that_make_one(course, tmp_path):
    from grader.warm_up import _takes_reference, modules_for

    # logistic regression: the public checks write SGD out; the hidden ones (and the reference) use torch.optim
    assert modules_for(course, ["logistic_regression"], ("public",)) == ["torch"]
    assert modules_for(course, ["logistic_regression"], ("public", "hidden")) == ["torch", "torch._dynamo"]
    assert _takes_reference("def test_x(student, reference):\n    pass\n")
    assert _takes_reference("def test_x(student, *, reference=None):\n    pass\n")
    assert not _takes_reference('"""the reference solution"""\ndef test_x(student):\n    reference = 1\n')
    assert _takes_reference("def broken(:\n")


def test_grade_check_loads_the_checks_machinery_only_once_its_kernel_is_launched(project, course, monkeypatch):
    """Until then this process's imports (pytest, ...) would hold the GIL against the launch's thread."""
    import grader.exercise
    import grader.kernel
    from grader.selfcheck import check_notebook

    class Started(Exception):
        pass

    class FakeKernel:
        def __init__(self, *args, **kwargs):
            self.launched = threading.Event()

        def start_in_background(self):
            threading.Timer(0.3, self.launched.set).start()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    seen = []

    def grade_notebook(nb, exercise, student, files, options, notebook_name=None, kernel=None):
        seen.append(kernel.launched.is_set())
        raise Started

    monkeypatch.setattr(grader.kernel, "KernelSession", FakeKernel)
    monkeypatch.setattr(grader.exercise, "grade_notebook", grade_notebook)
    with pytest.raises(Started):
        check_notebook(project / "reference" / "03_tensors.ipynb", course)
    assert seen == [True]
