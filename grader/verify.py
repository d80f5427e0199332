"""`grade verify`: prove the course's checks right before students ever see them.

Every rubric validates; exercises/ is exactly what `grade assign` builds; each reference scores full
automatic marks; each blank exercise scores zero; each known-wrong solution loses points on its own question
and keeps full marks everywhere else.
"""

from __future__ import annotations

import difflib
import secrets
from pathlib import Path
from typing import Callable, Iterable

import nbformat
from nbformat import NotebookNode

from .assign import build_exercise
from .exercise import GradedNotebook, answer_templates, score_run
from .jobs import NotebookJob, grade_notebooks
from .course import Course, read_course_notebook
from .errors import UsageError
from .models import ExerciseResult
from .options import GradingOptions, grading_options
from .pool import default_torch_threads
from .rubric import Rubric
from .verify_variants import check_misconceptions, check_variants, variants

Log = Callable[[str], None]
RAN = "verify_ran"  # in a GradedNotebook's details here: the check ids of the tests that ran


def automatic_score(result: ExerciseResult, rubric: Rubric) -> tuple[float, float]:
    """Points and maximum of the automatic checks only (written answers left out)."""
    automatic = rubric.checks()
    checks = [c for q in result.questions for c in q.checks if c.id in automatic]
    return sum(c.points for c in checks), sum(c.max_points for c in checks)


def with_wrong_solution(reference: NotebookNode, snippet: Path) -> NotebookNode:
    """The reference notebook with a known-wrong definition appended as its last code cell."""
    nb = nbformat.from_dict(reference)
    nb.cells.append(nbformat.v4.new_code_cell(snippet.read_text(encoding="utf-8")))
    return nb


def chosen_exercises(course: Course, exercises: Iterable[str] | None) -> list[str]:
    """The exercises to verify, in the course's order: `exercises`, or all; an unknown id is a UsageError."""
    if not exercises:
        return list(course.rubrics)
    for exercise in exercises:
        if exercise not in course.rubrics:
            meant = difflib.get_close_matches(exercise, list(course.rubrics), n=1)
            raise UsageError(f"the course has no exercise {exercise!r}" + (f"; did you mean {meant[0]!r}?" if meant
                             else f"; its exercises are {', '.join(course.rubrics)}"))
    return [exercise for exercise in course.rubrics if exercise in exercises]


def verify(course: Course, isolation: str = "auto", log: Log = print, secret: bytes | None = None,
           workers: int = 1, torch_threads: int | None = None, exercises: Iterable[str] | None = None) -> list[str]:
    """Run every verification, of `exercises` only when given; return one line per problem (empty when the
    material holds up).

    The ~30 notebooks (a reference, a blank exercise and each known-wrong solution per exercise) are graded
    on `workers` processes; the verdicts and their order do not depend on how many. Hidden inputs are drawn
    from `secret` (default: a new one, logged, so that the same inputs can be drawn again).
    """
    chosen = chosen_exercises(course, exercises)
    if secret is None:
        secret = secrets.token_hex(16).encode()
        log(f"verify: secret for this run {secret.decode()} (to draw the same hidden inputs again, save it in a "
            "file F and run grade verify --secret-file F)")
    options = grading_options(course, isolation=isolation, secret=secret,
                              torch_threads=torch_threads or default_torch_threads(workers))
    references = {exercise: read_course_notebook(course.reference_notebook(exercise)) for exercise in chosen}
    jobs = []
    for exercise in chosen:
        jobs.append(_job(exercise, "reference", references[exercise]))
        blank_path = course.exercise_notebook(exercise)
        if blank_path.is_file():
            jobs.append(_job(exercise, "blank", read_course_notebook(blank_path)))
        for snippet in course.wrong_solutions(exercise):
            jobs.append(_job(exercise, f"wrong/{snippet.stem}", with_wrong_solution(references[exercise], snippet)))
    extra = variants(course, references)  # known-right variants and per-question stubs (verify_variants.py)
    jobs += [_job(v.exercise, v.label, v.notebook) for v in extra]
    graded = _grade_all(jobs, options, workers, log)
    problems: list[str] = check_variants(course, {(v.exercise, v.label): graded[v.exercise, v.label].result
                                                  for v in extra}, log, chosen)
    for exercise in chosen:
        rubric = course.rubrics[exercise]
        problems += _check_sync(course, exercise, references[exercise])
        reference = graded[exercise, "reference"]
        problems += _check_ids(exercise, rubric, reference)
        problems += _check_mapping(exercise, reference)
        got, full = automatic_score(reference.result, rubric)
        if got != full:
            problems.append(f"{exercise}: the reference scores {got:g}/{full:g}: " + _failures(reference.result))
        if (exercise, "blank") in graded:
            blank = graded[exercise, "blank"]
            got, _ = automatic_score(blank.result, rubric)
            if got != 0 or blank.result.score != 0:
                passed = [c.id for q in blank.result.questions for c in q.checks if c.points > 0]
                problems.append(f"{exercise}: the blank exercise scores {blank.result.score:g}: {', '.join(passed)}")
        for snippet in course.wrong_solutions(exercise):
            problems += _check_wrong(exercise, snippet, graded[exercise, f"wrong/{snippet.stem}"], options)
        problems += check_misconceptions(course, exercise, {
            snippet.stem: _tags(graded[exercise, f"wrong/{snippet.stem}"]) for snippet in course.wrong_solutions(exercise)})
    return problems


def _job(exercise: str, label: str, nb: NotebookNode) -> NotebookJob:
    return NotebookJob(f"verify-{label}", exercise, nb, label)


def _grade_all(jobs: list[NotebookJob], options: GradingOptions, workers: int,
               log: Log) -> dict[tuple[str, str], GradedNotebook]:
    templates = answer_templates(options.course)
    graded = {}
    for done in grade_notebooks(jobs, options, workers):
        label = done.student.removeprefix("verify-")
        result = score_run(done.run, options, done.student, templates)
        ran = sorted(o.check_id for o in done.run.outcomes)  # every marked test that ran, in the rubric or not
        graded[done.exercise, label] = GradedNotebook(result, None, {**done.run.details(), RAN: ran})
        got, full = automatic_score(result, options.course.rubrics[done.exercise])
        log(f"  {done.exercise} {label}: {got:g}/{full:g} automatic points")
    return graded


def _check_sync(course: Course, exercise: str, reference: NotebookNode) -> list[str]:
    path = course.exercise_notebook(exercise)
    if not path.is_file():
        return [f"{exercise}: {path} is missing; run `grade assign`"]
    built = nbformat.writes(build_exercise(reference))
    current = nbformat.writes(read_course_notebook(path))
    if built != current:
        return [f"{exercise}: {path} differs from what `grade assign` builds from the reference; run `grade assign`"]
    return []


def _check_ids(exercise: str, rubric: Rubric, graded: GradedNotebook) -> list[str]:
    """A check id that a check file marks but the rubric does not have; a rubric check that no test is marked as."""
    if graded.result.status != "graded" or graded.details.get("collection_errors"):
        return []  # said by _check_mapping; which tests ran is not known
    ran, specs = set(graded.details.get(RAN, ())), rubric.checks()
    unknown = sorted(ran - set(specs))
    problems = []
    for check_id in unknown:
        meant = difflib.get_close_matches(check_id, list(specs), n=1)
        problems.append(f"{exercise}: a check file marks check {check_id}, which the {exercise} rubric does not "
                        "have" + (f" (did you mean {meant[0]}?)" if meant else ""))
    for check_id, spec in specs.items():
        if check_id not in ran:
            problems.append(f"{exercise}: rubric check {check_id} has no test: none in rubrics/checks/{exercise}/ "
                            f"is marked @check({spec.question!r}, {spec.name!r})")
    return problems


def _check_mapping(exercise: str, graded: GradedNotebook) -> list[str]:
    problems = []
    details = graded.details
    if graded.result.status != "graded":
        problems.append(f"{exercise}: the reference could not be graded: {graded.result.message} "
                        f"{details.get('grader_error', '')[-300:]}".rstrip())
    for error in details.get("collection_errors", []):
        problems.append(f"{exercise}: a check file does not load: {error.splitlines()[-1] if error else error}")
    for nodeid in details.get("unmapped_tests", []):
        problems.append(f"{exercise}: test {nodeid} is not marked with @check(question, name)")
    ran = set(details.get(RAN, ()))
    for q in graded.result.questions:
        for c in q.checks:
            if c.status == "error" and (c.id in ran or RAN not in details):
                detail = details.get("checks", {}).get(c.id, {}).get("detail", "")
                problems.append(f"{exercise}: check {c.id} errored on the reference: {c.message} {detail[-300:]}")
    return problems


def _check_wrong(exercise: str, snippet: Path, graded: GradedNotebook, options: GradingOptions) -> list[str]:
    question = snippet.stem.split("__", 1)[0]
    problems = []
    by_id = {q.id: q for q in graded.result.questions}
    if question not in by_id:
        return [f"{snippet}: names question {question!r}, which the {exercise} rubric does not have"]
    target = by_id[question]
    automatic = options.course.rubrics[exercise].checks()
    auto = [c for c in target.checks if c.id in automatic]
    if all(c.points == c.max_points for c in auto):
        problems.append(f"{snippet.name}: loses no points on {exercise}.{question}")
    for q in graded.result.questions:
        if q.id == question:
            continue
        lost = [c.id for c in q.checks if c.id in automatic and c.points < c.max_points]
        if lost:
            problems.append(f"{snippet.name}: also loses points outside {question}: {', '.join(lost)}")
    return problems


def _tags(graded: GradedNotebook) -> set[str]:
    """The misconception tags the checks of one graded notebook produced."""
    return {c["misconception"] for c in graded.details.get("checks", {}).values() if c.get("misconception")}


def _failures(result: ExerciseResult) -> str:
    return "; ".join(f"{c.id} {c.status}: {c.message}" for q in result.questions for c in q.checks
                     if c.status not in ("passed", "manual"))
