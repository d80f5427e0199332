"""A batch graded without kernels: a fake executor whose every check passes, for tests of scores a person gives."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import nbformat

from grader.course import Course, load_course
from grader.jobs import JobResult, NotebookJob
from grader.messages import msg
from grader.models import ExerciseRun, Outcome
from grader.options import GradingOptions, grading_options
from grader.session import answer_text

from minicourse import make_batch, make_course


class PassingExecutor:
    """Every job 'runs' at once: every check of its exercise passes; answers are read from the notebook."""

    def prepare(self, options: GradingOptions, notebooks: int) -> None:
        pass

    def run(self, jobs: list[NotebookJob], options: GradingOptions) -> Iterator[JobResult]:
        for job in jobs:
            rubric = options.course.rubrics[job.exercise]
            outcomes = tuple(Outcome(c.id, "passed", "") for q in rubric.questions for c in q.checks)
            answers = {m.answer: answer_text(job.notebook, m.answer) for q in rubric.questions for m in q.manual}
            run = ExerciseRun(job.exercise, "graded", msg("exercise.graded"), job.notebook_name, outcomes, answers)
            yield JobResult(job.student, job.exercise, run, nbformat.writes(job.notebook))


def write_essay(submissions: Path, student: str, text: str) -> None:
    path = submissions / student / "beta.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("grader", {}).get("answer") == "essay":
            cell.source = text
    nbformat.write(nb, path)


def mini_batch(root: Path, students: int = 2) -> tuple[Path, Path, GradingOptions]:
    """(course, submissions, options): s0 wrote an essay, s1 too, s2.. left the template as it was."""
    course = make_course(root / "course")
    subs = make_batch(course, root / "submissions", students)
    write_essay(subs, "s0", "Squares are never negative.")
    if students > 1:
        write_essay(subs, "s1", "Because *area* grows as x².")
    return course, subs, grading_options(course, isolation="none", secret=b"s")


def add_instructor_note(course: Path, note: str) -> Course:
    """Give beta's written answer an instructor note (`note`, TOML-escaped by the caller) and load the course."""
    rubric = course / "rubrics" / "beta.toml"
    rubric.write_text(rubric.read_text(encoding="utf-8") + f'note = "{note}"\n', encoding="utf-8")
    return load_course(course)
