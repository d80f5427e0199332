"""`grade verify`, the mirror image: known-right variants keep full marks, each TODO stub costs exactly its questions.

- `reference/right/<exercise>/<question>__<variant>.py` is a code cell appended to the reference notebook (like
  reference/wrong/); `<question>__<variant>.ipynb` is a whole notebook, for variants that are about the
  notebook's shape (an answer in a new cell, a rebuilt notebook). Each must keep every automatic point, and
  every written answer must still be found (sent to the instructor, not scored 0).
- For every function or class the exercise notebook leaves as a TODO stub (`raise NotImplementedError`), the
  reference with exactly that definition put back to its stub, in place, must lose all automatic points of
  the questions whose rubric entry declares it in `uses`, and keep every other question's.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
from nbformat import NotebookNode

from .course import Course
from .models import ExerciseResult
from .rubric import Rubric

Log = Callable[[str], None]


@dataclass(frozen=True)
class Variant:
    """One notebook verify grades besides the reference: `label` is `right/<file>` or `stub/<name>`."""

    exercise: str
    label: str
    notebook: NotebookNode


def right_variants(course: Course, exercise: str) -> list[Path]:
    folder = course.root / "reference" / "right" / exercise
    return sorted(p for p in folder.glob("*") if p.suffix in (".py", ".ipynb") and p.is_file())


def right_notebook(reference: NotebookNode, path: Path) -> NotebookNode:
    """A known-right variant as a notebook: the .ipynb itself, or the reference with the .py appended."""
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4)
    nb = nbformat.from_dict(reference)
    nb.cells.append(nbformat.v4.new_code_cell(path.read_text(encoding="utf-8")))
    return nb


def stub_definitions(exercise_nb: NotebookNode) -> dict[str, str]:
    """Each top-level function or class the exercise leaves as a TODO stub, with its source as distributed."""
    stubs = {}
    for cell in exercise_nb.cells:
        if cell.cell_type != "code":
            continue
        for node, source in _definitions(cell.source):
            if any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n.exc or n) for n in ast.walk(node)):
                stubs[node.name] = source
    return stubs


def with_stub(reference: NotebookNode, name: str, stub: str) -> NotebookNode:
    """The reference with the definition of `name` replaced by its stub where it stands (so demo cells see it)."""
    nb = nbformat.from_dict(reference)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node, _ in _definitions(cell.source):
            if node.name == name:
                lines = cell.source.splitlines(keepends=True)
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
                end = node.end_lineno
                while end < len(lines) and lines[end][:1].isspace() and lines[end].lstrip().startswith("#"):
                    end += 1  # the body's trailing comments (### END SOLUTION) go with it
                cell.source = "".join(lines[:first]) + stub.rstrip("\n") + "\n" + "".join(lines[end:])
                return nb
    raise ValueError(f"the reference does not define {name}")


def variants(course: Course, references: dict[str, NotebookNode]) -> list[Variant]:
    """Every known-right variant and every per-definition stub of the exercises in `references`."""
    found = []
    for exercise in (e for e in course.rubrics if e in references):  # `grade verify --exercise`: the chosen ones
        for path in right_variants(course, exercise):
            found.append(Variant(exercise, f"right/{path.name}", right_notebook(references[exercise], path)))
        blank = course.exercise_notebook(exercise)
        if blank.is_file() and _declares_uses(course.rubrics[exercise]):
            for name, stub in stub_definitions(nbformat.read(blank, as_version=4)).items():
                found.append(Variant(exercise, f"stub/{name}", with_stub(references[exercise], name, stub)))
    return found


def check_variants(course: Course, results: dict[tuple[str, str], ExerciseResult], log: Log,
                   exercises: list[str] | None = None) -> list[str]:
    """The problems with the graded variants of `exercises` (default all; empty when they hold up); logs how many
    of each were checked."""
    problems: list[str] = []
    rights = stubs = 0
    for exercise, rubric in course.rubrics.items():
        if exercises is not None and exercise not in exercises:
            continue
        for label in sorted(label for (e, label) in results if e == exercise and label.startswith("right/")):
            rights += 1
            problems += check_right(exercise, label.removeprefix("right/"), results[exercise, label], rubric)
        if not _declares_uses(rubric):
            log(f"verify: {exercise}: no question declares `uses`; per-question stubs not checked")
            continue
        declared = {name for q in rubric.questions for name in q.uses}
        graded = {label.removeprefix("stub/") for (e, label) in results if e == exercise and label.startswith("stub/")}
        problems += [f"{exercise}: `uses` names {name}, which the exercise notebook has no TODO stub for"
                     for name in sorted(declared - graded)]
        for name in sorted(graded):
            stubs += 1
            problems += check_stub(exercise, name, results[exercise, f"stub/{name}"], rubric)
    log(f"verify: checked {rights} known-right variant(s) and {stubs} per-question stub(s)")
    return problems


def check_right(exercise: str, name: str, result: ExerciseResult, rubric: Rubric) -> list[str]:
    """A known-right variant keeps every automatic point and every written answer is found."""
    automatic = rubric.checks()
    lost = [f"{c.id} {c.status}: {c.message}" for q in result.questions for c in q.checks
            if c.id in automatic and c.points < c.max_points]
    unfound = [c.id for q in result.questions for c in q.checks if c.id not in automatic and c.status != "manual"]
    problems = []
    if result.status != "graded":
        problems.append(f"right/{exercise}/{name}: could not be graded: {result.message}")
    if lost:
        problems.append(f"right/{exercise}/{name}: a right solution loses points: " + "; ".join(lost))
    if unfound:
        problems.append(f"right/{exercise}/{name}: written answer not found: {', '.join(unfound)}")
    return problems


def check_stub(exercise: str, name: str, result: ExerciseResult, rubric: Rubric) -> list[str]:
    """Stubbing `name` costs all automatic points of the questions declaring it, and nothing elsewhere."""
    automatic = rubric.checks()
    declared = {q.id for q in rubric.questions if name in q.uses}
    problems = []
    for question in result.questions:
        auto = [c for c in question.checks if c.id in automatic]
        if not auto:
            continue
        got, full = sum(c.points for c in auto), sum(c.max_points for c in auto)
        if question.id in declared and got > 0:
            kept = ", ".join(c.id for c in auto if c.points > 0)
            problems.append(f"{exercise}: with {name} a TODO stub, {question.id} (which declares uses {name}) "
                            f"still scores {got:g}/{full:g}: {kept}")
        elif question.id not in declared and got < full:
            lost = ", ".join(c.id for c in auto if c.points < c.max_points)
            problems.append(f"{exercise}: with {name} a TODO stub, {question.id} loses points ({lost}) but does "
                            f"not declare uses {name}")
    return problems


def declared_misconceptions(course: Course, exercise: str) -> set[str]:
    """The misconception tags the exercise's check files declare: every literal `misconception="<stem>"`."""
    tags: set[str] = set()
    for path in sorted((course.root / "rubrics" / "checks" / exercise).rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, OSError, UnicodeDecodeError):
            continue  # a check file that does not load is reported by the mapping checks
        tags |= {kw.value.value for node in ast.walk(tree) if isinstance(node, ast.Call) for kw in node.keywords
                 if kw.arg == "misconception" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)
                 and kw.value.value}
    return tags


def check_misconceptions(course: Course, exercise: str, recognised: dict[str, set[str]]) -> list[str]:
    """Each wrong solution whose stem a check declares as a tag triggers it; each declared tag names a wrong solution.

    `recognised` maps a wrong solution's stem to the tags its graded run produced."""
    declared = declared_misconceptions(course, exercise)
    stems = {path.stem for path in course.wrong_solutions(exercise)}
    problems = [f"{exercise}: a check tags misconception {tag!r}, but reference/wrong/{exercise}/ has no {tag}.py"
                for tag in sorted(declared - stems)]
    for stem in sorted(declared & stems):
        if stem not in recognised.get(stem, set()):
            got = ", ".join(sorted(recognised.get(stem, set()))) or "none"
            problems.append(f"{stem}.py: no check recognised misconception {stem!r} (tags produced: {got})")
    return problems


def _declares_uses(rubric: Rubric) -> bool:
    return any(q.uses for q in rubric.questions)


def _definitions(source: str) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, str]]:
    """Top-level definitions of a cell with their source (decorators included); none if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines(keepends=True)
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            found.append((node, "".join(lines[first:node.end_lineno])))
    return found
