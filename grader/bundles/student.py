"""What students receive: the exercises, the public checks, rubrics without anything hidden, and the grader.

Nothing hidden goes in: no hidden check source, no reference solution, no known-wrong solution, no secret.
A rubric keeps its public checks and written answers as they are; each hidden (or after-due-date) check
becomes an anonymous entry (`hidden_1`, ...) with its points and visibility only, so that `grade check`
can still say how many hidden checks each question has at grading time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..course import Course
from ..errors import UsageError
from ..rubric import Rubric
from .files import MARKER, SOURCE_DIR, grader_source, tree_files, write_bundle

HIDDEN_HINT = "Runs at grading time only."

README = """# {title}

What you need to do the exercises of this course and check them yourself before you hand them in.

| path | what |
|---|---|
| `exercises/` | the notebooks to complete: {notebooks} |
| `rubrics/` | points per question, and the public checks (`rubrics/checks/<exercise>/public/`) |
| `{source}/` | the grader, to run the public checks on your own machine |

## Set up once

```bash
python3 -m venv .venv && . .venv/bin/activate      # Python 3.11 or newer
pip install torch=={torch} --index-url https://download.pytorch.org/whl/cpu
pip install ./{source}
pip install jupyterlab                              # or: pip install notebook (the classic Jupyter)
```

## Work on the notebooks

```bash
jupyter lab exercises/                              # opens in your browser; or: jupyter notebook exercises/
```

Write your code where a cell says `TODO`, in the notebook itself: keep its file name and do not remove
cells. VS Code's notebook editor works as well (select the `.venv` interpreter as its kernel).

## Check a notebook

```bash
grade check exercises/{first}            # add --lang zh for Chinese
```

It runs your notebook and the public checks of its exercise, and shows per question which checks pass,
with hints for those that do not. It exits 0 when every public check passes. Hidden checks run only at
grading time, on other inputs: passing the public checks does not guarantee full marks. Written answers
are scored by your instructor. In Jupyter, `from grader import check; check("question")` checks the live
notebook (run it from this folder or below).

## Hand in your work

1. In Jupyter, *Kernel → Restart Kernel and Run All Cells*: grading runs your notebook from the top in a
   fresh kernel, so it must run that way without errors (and within the time limit), not only cell by cell.
2. Save it (*File → Save*), then run `grade check` on it one last time.
3. Upload each completed notebook from `exercises/` ({notebooks}) to the assignment of its exercise
   where your instructor collects them (for instance on Canvas or Moodle): the `.ipynb` files themselves,
   under their own names, not zipped, not exported as PDF or HTML. If your notebook reads a file of your own
   (one it does not write itself), upload that file with it.
"""


def student_files(course: Course, torch_version: str) -> dict[str, bytes]:
    """Every file of the student bundle, by path inside it."""
    files: dict[str, bytes] = {}
    for exercise, rubric in course.rubrics.items():
        notebook = course.exercise_notebook(exercise)
        if not notebook.is_file():
            raise UsageError(f"{notebook} not found; build exercises/ with `grade assign` first")
        files[f"exercises/{rubric.notebook}"] = notebook.read_bytes()
        files[f"rubrics/{rubric.path.name}"] = student_rubric(rubric).encode("utf-8")
        public = course.check_dir(exercise, "public")
        if public.is_dir():
            files.update(tree_files(public, f"rubrics/checks/{exercise}/public"))
    files.update(grader_source())
    notebooks = [r.notebook for r in course.rubrics.values()]
    title = next(iter(course.rubrics.values())).title if len(course.rubrics) == 1 else "Course exercises"
    files["README.md"] = README.format(title=title, notebooks=", ".join(f"`{n}`" for n in notebooks),
                                       source=SOURCE_DIR, torch=torch_version, first=notebooks[0]).encode("utf-8")
    files[MARKER] = json.dumps({"bundle": "student", "grader": __version__}).encode("utf-8")
    return files


def build_student_bundle(course: Course, out: Path, torch_version: str = "2.13.0") -> Path:
    """Write the student bundle to OUT (a folder, or a zip when OUT ends in .zip)."""
    return write_bundle(student_files(course, torch_version), out)


def student_rubric(rubric: Rubric) -> str:
    """The rubric as TOML, its hidden checks reduced to anonymous entries with points and visibility."""
    lines = [f"exercise = {_string(rubric.exercise)}", f"title = {_string(rubric.title)}",
             f"notebook = {_string(rubric.notebook)}"]
    for question in rubric.questions:
        prefix = f"questions.{question.id}"
        head = [f"title = {_string(question.title)}"] + (
            [f"title_zh = {_string(question.title_zh)}"] if question.title_zh else [])
        lines += ["", f"[{prefix}]", *head]
        hidden = 0
        for check in question.checks:
            if check.visibility == "public":
                name, fields = check.name, _fields(check.points, check.visibility, check.hint, check.hint_zh)
            else:
                hidden += 1
                name, fields = f"hidden_{hidden}", _fields(check.points, check.visibility, HIDDEN_HINT, "")
            lines += ["", f"[{prefix}.checks.{name}]", *fields]
        for item in question.manual:
            lines += ["", f"[{prefix}.manual.{item.name}]", f"points = {_number(item.points)}",
                      f"answer = {_string(item.answer)}", f"hint = {_string(item.hint)}"]
            if item.hint_zh:
                lines.append(f"hint_zh = {_string(item.hint_zh)}")
    return "\n".join(lines) + "\n"


def _fields(points: float, visibility: str, hint: str, hint_zh: str) -> list[str]:
    fields = [f"points = {_number(points)}", f"visibility = {_string(visibility)}", f"hint = {_string(hint)}"]
    return fields + ([f"hint_zh = {_string(hint_zh)}"] if hint_zh else [])


def _string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _number(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
