"""grader/progress.py: what a batch shows while it grades, on a terminal and in a CI log."""

from __future__ import annotations

import io

import nbformat
from rich.console import Console

from grader.jobs import JobResult, NotebookJob
from grader.models import ExerciseRun
from grader.progress import BatchProgress, duration


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def job(student: str, exercise: str = "ex") -> NotebookJob:
    return NotebookJob(student, exercise, nbformat.v4.new_notebook(), f"{exercise}.ipynb")


def done(student: str, exercise: str = "ex") -> JobResult:
    return JobResult(student, exercise, ExerciseRun(exercise, "graded", "", f"{exercise}.ipynb"))


def report(student: str, score: float = 3) -> dict:
    return {"student": student, "score": score, "max_score": 10}


def log_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, force_terminal=False), buffer


def test_a_redirected_run_prints_a_line_per_finished_student_with_an_eta():
    console, buffer = log_console()
    clock = Clock()
    progress = BatchProgress(console, workers=1, clock=clock)
    assert not progress.live
    with progress:
        progress.start(3)
        progress.planned([job("ann"), job("bo")], cached=[("cy", "ex")])
        progress.student_done(report("cy", 7))
        clock.now += 20
        progress.notebook_done(done("ann"))
        progress.student_done(report("ann"))
        clock.now += 20
        progress.notebook_done(done("bo"))
        progress.student_done(report("bo", 4.5))
    lines = buffer.getvalue().splitlines()
    assert lines == [
        "3 student(s): 2 notebook(s) to run, 1 unchanged since the last run (from the cache)",
        "[1/3] cy: 7/10 (from the cache)",
        "[2/3] ann: 3/10 (1/2 notebook(s) run, about 20s left)",
        "[3/3] bo: 4.5/10 (2/2 notebook(s) run)",
    ]
    assert progress.summary() == ("ran 2 notebook(s) in 40s; 1 came from the cache (unchanged since the last run "
                                  "into OUT; --no-cache grades them again)")


def test_a_students_line_says_pending_points_and_the_score_after_the_late_policy():
    console, buffer = log_console()
    progress = BatchProgress(console, workers=1, clock=Clock())
    with progress:
        progress.start(2)
        progress.planned([], cached=[])
        progress.student_done({**report("ann", 6), "pending": 4})
        progress.student_done({**report("bo", 10), "final_score": 7})
    assert buffer.getvalue().splitlines()[1:] == ["[1/2] ann: 6/10 (+4 pending) (nothing to run)",
                                                  "[2/2] bo: 7/10 (raw 10) (nothing to run)"]


def test_the_eta_comes_from_the_first_notebook_and_counts_down():
    clock = Clock()
    progress = BatchProgress(log_console()[0], workers=2, clock=clock)
    progress.start(4)
    progress.planned([job(s) for s in ("a", "b", "c", "d")], cached=[])
    assert progress.eta() is None
    clock.now += 30
    progress.notebook_done(done("a"))
    # "b" started with "a" on the second worker: two notebooks per 30 s for the three left
    assert progress.eta() == 45
    clock.now += 10
    assert progress.eta() == 35
    clock.now += 100
    assert progress.eta() == 0


def test_the_bar_names_the_students_being_graded():
    clock = Clock()
    progress = BatchProgress(log_console()[0], workers=2, clock=clock)
    progress.start(3)
    progress.planned([job("ann", "e1"), job("ann", "e2"), job("bo"), job("cy")], cached=[])
    assert progress.current() == "ann"
    progress.notebook_done(done("ann", "e1"))
    assert progress.current() == "ann, bo"
    progress.notebook_done(done("ann", "e2"))
    assert progress.current() == "bo, cy"


def test_a_terminal_shows_a_bar_and_no_per_student_lines():
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, force_terminal=True)
    progress = BatchProgress(console, workers=1, clock=Clock())
    assert progress.live
    with progress:
        progress.start(1)
        progress.planned([job("ann")], cached=[])
        assert progress._bar is not None
        rendered = progress._bar.make_tasks_table(progress._bar.tasks)
        progress.notebook_done(done("ann"))
        progress.student_done(report("ann"))
    capture = Console(file=io.StringIO(), width=120)
    capture.print(rendered)
    row = capture.file.getvalue()
    assert "0/1" in row and "ann" in row and "eta -:--" in row
    assert "[1/1] ann" not in buffer.getvalue()


def test_durations():
    assert [duration(s) for s in (0, 42.4, 185, 3725)] == ["0s", "42s", "3m05s", "1h02m"]
