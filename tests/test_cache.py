"""Incremental regrading: an unchanged batch starts no kernel; a change regrades exactly what it affects."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from grader.kernel import KernelSession
from grader.batch import grade_batch, keep_outputs
from grader.cache import ResultCache, exercise_fingerprint, job_key, options_fingerprint
from grader.course import load_course
from grader.jobs import JobResult, NotebookJob
from grader.layout import OutLayout
from grader.messages import msg, render
from grader.models import CellNote, ExerciseRun, Outcome
from grader.options import GradingOptions
from grader.sandbox import Limits
from conftest import invoke
from minicourse import comparable, copy_tree, make_batch, make_course

SECRET = b"cache-test-secret-0123456789"


class KernelStarts:
    """Counts the notebooks run in a kernel, by exercise, and the kernel sessions made (a worker starts its
    first kernel before it knows the notebook: grader/worker_kernels.py)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.exercises: list[str] = []
        self.sessions = 0
        starts = self
        run_notebook, init = KernelSession.run_notebook, KernelSession.__init__

        def counting_run(session, *args, **kwargs):
            starts.exercises.append(session.notebook.metadata["grader"]["exercise"])
            return run_notebook(session, *args, **kwargs)

        def counting_init(session, *args, **kwargs):
            starts.sessions += 1
            init(session, *args, **kwargs)

        monkeypatch.setattr(KernelSession, "run_notebook", counting_run)
        monkeypatch.setattr(KernelSession, "__init__", counting_init)

    def take(self) -> list[str]:
        taken, self.exercises = sorted(self.exercises), []
        return taken


@pytest.fixture
def starts(monkeypatch):
    return KernelStarts(monkeypatch)


@pytest.fixture(scope="module")
def graded_once(tmp_path_factory, isolation):
    """A course, two students (s1's `double` is wrong), graded once into OUT."""
    root = tmp_path_factory.mktemp("cache")
    course = make_course(root / "course")
    batch = make_batch(course, root / "submissions", 2)
    out = root / "graded"
    options = GradingOptions(load_course(course), isolation, Limits(), SECRET)
    reports = grade_batch(batch, out, options)
    assert [r["score"] for r in reports] == [10, 7]  # essays await a score; s1's x + 2 passes only double(2)
    return root, options, reports


@pytest.fixture
def graded(graded_once, tmp_path):
    """A private copy of the graded batch (course, submissions, OUT) to change."""
    root, options, reports = graded_once
    copy = copy_tree(root, tmp_path / "copy")
    options = replace(options, course=load_course(copy / "course"))
    return copy, options, reports


def reports_of(out: Path, students=("s0", "s1")) -> dict[str, dict]:
    return {s: json.loads(OutLayout(out).report(s).read_text(encoding="utf-8")) for s in students}


def check_of(report: dict, check_id: str) -> dict:
    return next(c for e in report["exercises"] for q in e["questions"] for c in q["checks"] if c["id"] == check_id)


@pytest.mark.slow
def test_a_second_run_over_an_unchanged_batch_starts_no_kernel(graded, starts):
    root, options, first = graded
    before = (root / "graded" / "gradebook.csv").read_text()
    started, done = [], []
    again = grade_batch(root / "submissions", root / "graded", options, on_start=started.append,
                        on_done=done.append)
    assert starts.take() == [] and starts.sessions == 0
    assert started == [2] and [r["student"] for r in done] == ["s0", "s1"]  # progress as before
    assert [comparable(r) for r in again] == [comparable(r) for r in first]
    assert (root / "graded" / "gradebook.csv").read_text() == before
    details = json.loads(OutLayout(root / "graded").details("s1").read_text())
    assert details["alpha"]["cached"] is True
    assert details["alpha"]["checks"]  # the failure details survive the cache


@pytest.mark.slow
def test_changing_one_rubric_regrades_only_that_exercise(graded, starts):
    root, options, _ = graded
    rubric = root / "course" / "rubrics" / "beta.toml"
    rubric.write_text(rubric.read_text().replace('hint = "square(3) is 9"', 'hint = "3 * 3"'))
    options = replace(options, course=load_course(root / "course"))
    reports = grade_batch(root / "submissions", root / "graded", options)
    assert starts.take() == ["beta", "beta"]
    assert check_of(reports[0], "beta.square.lesson")["hint"] == "3 * 3"

    check_file = root / "course" / "rubrics" / "checks" / "alpha" / "hidden" / "test_alpha_hidden.py"
    check_file.write_text(check_file.read_text().replace("uniform(-5, 5)", "uniform(-6, 6)"))
    grade_batch(root / "submissions", root / "graded", options)
    assert starts.take() == ["alpha", "alpha"]

    grade_batch(root / "submissions", root / "graded", options)
    assert starts.take() == []


@pytest.mark.slow
def test_a_changed_notebook_or_a_lost_executed_copy_regrades_that_notebook_only(graded, starts):
    root, options, _ = graded
    notebook = root / "submissions" / "s1" / "alpha.ipynb"
    notebook.write_text(notebook.read_text().replace("return x + 2", "return 2 * x"))
    OutLayout(root / "graded").executed("s0", "beta.ipynb").unlink()
    reports = grade_batch(root / "submissions", root / "graded", options)
    assert starts.take() == ["alpha", "beta"]
    assert reports[1]["exercises"][0]["score"] == 5  # s1's corrected double now scores
    assert OutLayout(root / "graded").executed("s0", "beta.ipynb").is_file()


@pytest.mark.slow
def test_manual_scores_are_applied_without_running_a_kernel(graded, starts):
    root, options, _ = graded
    options = replace(options, manual_scores={"s0": {"beta.essay.answer": (3.0, "fair")}})
    reports = grade_batch(root / "submissions", root / "graded", options)
    assert starts.take() == []
    essay = check_of(reports[0], "beta.essay.answer")
    assert (essay["status"], essay["points"], essay["message"]) == ("manual", 3, "fair")
    assert reports_of(root / "graded")["s0"]["score"] == reports[0]["score"] == 13


@pytest.mark.slow
def test_no_cache_runs_every_notebook_and_refreshes_the_cache(graded, starts):
    root, options, first = graded
    reports = grade_batch(root / "submissions", root / "graded", options, use_cache=False)
    assert starts.take() == ["alpha", "alpha", "beta", "beta"]
    assert [comparable(r) for r in reports] == [comparable(r) for r in first]
    grade_batch(root / "submissions", root / "graded", options)
    assert starts.take() == []


def test_the_key_covers_what_decides_a_grade(tmp_path, isolation):
    """Fast: which inputs change a (student, exercise) key, and which do not."""
    course_dir = make_course(tmp_path / "course")
    course = load_course(course_dir)
    options = GradingOptions(course, isolation, Limits(), SECRET)
    extra = tmp_path / "data.csv"
    extra.write_text("1,2\n")

    def key(options=options, notebook=b"{}", files=(extra,), student="s0", exercise="alpha", course=course):
        return job_key(student=student, exercise=exercise, notebook_name="alpha.ipynb", notebook_bytes=notebook,
                       extra_files=list(files), exercise_print=exercise_fingerprint(course, exercise),
                       options_print=options_fingerprint(options))

    base = key()
    assert key() == base
    assert key(options=replace(options, limits=Limits(torch_threads=7))) == base  # speed, not grades
    changed = [
        key(notebook=b"{ }"), key(files=()), key(student="s1"), key(exercise="beta"),
        key(options=replace(options, secret=b"another-secret-0123456789")),
        key(options=replace(options, limits=Limits(cell_timeout=5))),
        key(options=replace(options, visibilities=("public",))),
    ]
    extra.write_text("1,3\n")
    changed.append(key())
    extra.write_text("1,2\n")
    for path in ("rubrics/alpha.toml", "rubrics/checks/alpha/public/test_alpha_public.py", "reference/alpha.ipynb"):
        original = (course_dir / path).read_text()
        (course_dir / path).write_text(original + "\n")
        changed.append(key())
        (course_dir / path).write_text(original)
    assert key() == base
    assert len(set(changed)) == len(changed) and base not in changed
    (course_dir / "rubrics" / "beta.toml").write_text((course_dir / "rubrics" / "beta.toml").read_text() + "\n")
    assert key() == base  # another exercise's rubric does not touch this key


@pytest.mark.slow
def test_the_command_line_uses_the_cache_unless_told_not_to(graded):
    root, options, _ = graded
    secret = root / "secret"
    secret.write_bytes(SECRET)
    args = [str(root / "submissions"), "--out", str(root / "graded"), "--course", str(root / "course"),
            "--isolation", options.isolation.requested, "--secret-file", str(secret), "--workers", "1"]

    def cached() -> set[bool]:
        return {d["cached"] for s in ("s0", "s1")
                for e, d in json.loads(OutLayout(root / "graded").details(s).read_text()).items()
                if e != "stray"}

    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert cached() == {True}
    result = invoke(*args, "--no-cache")
    assert result.exit_code == 0, result.output
    assert cached() == {False}


def test_the_batch_writes_each_result_into_out_and_an_unwritable_out_costs_only_its_notebook(tmp_path):
    """Whichever executor ran a job, the batch writes its executed notebook, then its cache entry."""
    job = NotebookJob("s0", "alpha", nbformat.v4.new_notebook(), "alpha.ipynb")
    graded = JobResult("s0", "alpha", ExerciseRun("alpha", "graded", "graded", "alpha.ipynb"), '{"cells": []}')
    layout = OutLayout(tmp_path / "ok")
    cache = ResultCache(layout)
    assert keep_outputs(layout, cache, job, "key", graded) is graded
    assert layout.executed("s0", "alpha.ipynb").read_text() == '{"cells": []}'
    assert cache.get("s0", "alpha", "key") == graded.run
    assert cache.get("s0", "alpha", "another key") is None

    failed = JobResult("s0", "alpha", ExerciseRun("alpha", "not_gradable", "the kernel died", "alpha.ipynb"))
    fresh = OutLayout(tmp_path / "fresh")
    assert keep_outputs(fresh, ResultCache(fresh), job, "key", failed) is failed
    assert not fresh.root.exists()  # no notebook ran, and a failed run is tried again next time: nothing kept

    (tmp_path / "out").write_text("a file where OUT should be a folder")
    unwritable = OutLayout(tmp_path / "out")
    lost = keep_outputs(unwritable, ResultCache(unwritable), job, "key", graded)
    assert (lost.student, lost.exercise, lost.run.status) == ("s0", "alpha", "not_gradable")
    assert lost.run.message == ("this notebook could not be graded: its executed notebook could not be "
                                "written: Not a directory")  # the reason, never a path of the grading machine
    assert "NotADirectoryError" in lost.run.grader_error  # the instructor keeps the whole traceback


def test_cache_entries_keep_message_codes_and_entries_of_an_older_format_are_regraded(tmp_path):
    run = ExerciseRun("alpha", "graded", msg("exercise.graded_with_cells", count=1), "alpha.ipynb",
                      (Outcome("alpha.q.a", "failed", msg("check.raised_detail", type="ValueError", detail="w"), "tb"),),
                      cells=(CellNote(2, "timeout", msg("cell.interrupted", seconds="5")),))
    cache = ResultCache(OutLayout(tmp_path))
    cache.put("s0", "alpha", "key", run, None, None)
    back = cache.get("s0", "alpha", "key")
    assert back == run and back.outcomes[0].message.code == "check.raised_detail"
    assert (render(back.message, "zh"), render(back.cells[0].message, "zh")) == (
        "已评分；1 个单元格有问题，见“单元格运行情况”", "该单元格运行 5 秒后被中断")
    entry = json.loads(cache.path("s0", "alpha").read_text(encoding="utf-8"))
    cache.path("s0", "alpha").write_text(json.dumps({**entry, "format": 1}), encoding="utf-8")
    assert cache.get("s0", "alpha", "key") is None  # written before messages had codes: graded again
