"""`grade new EXERCISE_ID`: a new exercise's files, which `grade assign` and `grade verify` accept as they are.

It writes a reference notebook with solution markers, its exercise (built as `grade assign` builds it), a
rubric whose one question declares `uses`, one public and one hidden check, one known-wrong solution and one
known-right variant (and, with `written=True`, a written-answer cell and its manual rubric item). The example
question (`double`: twice every value, as a float32 tensor) is meant to be replaced; docs/AUTHORING.md says how.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

import nbformat

from .assign import build_exercise
from .errors import UsageError
from .files import write_atomic

__all__ = ["EXERCISE_ID", "scaffold", "next_notebook_name"]

EXERCISE_ID = re.compile(r"^[a-z][a-z0-9_]*$")  # as grader/schemas/rubric.schema.json requires
_NUMBERED = re.compile(r"^(\d+)_")

_INTRO = """\
# $number · $title

Replace this introduction with the lesson's context. Every function below is one question; the grader calls it
with plain numbers and lists, so build tensors inside it."""

_QUESTION = """\
## 1. double — 乘以 2 / twice every value

Write `double(values)`: return `2 * values` as a float32 tensor, e.g. `double([1., 2.])` gives
`tensor([2., 4.])`."""

_SOLUTION = '''\
def double(values):
    """Twice every value of the list `values`, as a float32 tensor."""
    ### BEGIN SOLUTION
    return 2 * torch.tensor(values, dtype=torch.float32)
    ### END SOLUTION'''

_DEMO = "print(double([1., 2.]))   # tensor([2., 4.])"

_PROMPT = """\
## 2. 作业 / homework

Why does `torch.tensor(values)` make a float32 tensor from `[1., 2.]` but an int64 tensor from `[1, 2]`?"""

_ANSWER = """\
<!-- BEGIN SOLUTION -->
torch infers the dtype from the Python values: floats become the default float dtype (float32), ints int64.
<!-- END SOLUTION -->"""

_RUBRIC = '''\
exercise = "$exercise"
title = "$title"
notebook = "$notebook"

[questions.double]
title = "double: twice every value, as a float32 tensor"
title_zh = "double：把每个值乘以 2，返回 float32 张量"
uses = ["double"]
[questions.double.checks.lesson_value]
points = 2
visibility = "public"
hint = "double([1., 2.]) must return tensor([2., 4.]), a float32 tensor."
hint_zh = "double([1., 2.]) 必须返回 float32 张量 tensor([2., 4.])。"
[questions.double.checks.random_inputs]
points = 3
visibility = "hidden"
hint = "double(values) must return 2 * values as a float32 tensor of the same length, for any list of numbers."
hint_zh = "对任意数字列表，double(values) 都必须返回等长的 float32 张量 2 * values。"
'''

_RUBRIC_WRITTEN = '''
[questions.hw1]
title = "作业: why float32 and int64"
title_zh = "作业：为什么是 float32 和 int64"
[questions.hw1.manual.answer]
points = 2
hint = "Say how torch.tensor chooses a dtype from the Python values it is given."
hint_zh = "说明 torch.tensor 如何根据传入的 Python 值选择 dtype。"
note = "Model answer: the dtype is inferred from the values (float -> float32, the default dtype; int -> int64). Marking: 1 inference, 1 both dtypes."
'''

_PUBLIC = '''\
"""Public checks for $notebook: the values the lesson printed. They ship to students, so use no `reference`."""

from __future__ import annotations

from grader.checks import Feedback, check, expect_tensor, values_of


@check("double", "lesson_value")
def test_double_lesson_value(student):
    result = student.call("double", [1.0, 2.0])
    if values_of(result) == [3.0, 4.0]:
        raise Feedback("double([1., 2.]) should return tensor([2., 4.]) but returned [3, 4]: that adds 2 to every "
                       "value; multiply by 2 instead.",
                       zh="double([1., 2.]) 应返回 tensor([2., 4.])，但返回了 [3, 4]：这是给每个值加 2；应乘以 2。")
    expect_tensor(result, [2.0, 4.0], what="double([1., 2.])")
'''

_HIDDEN = '''\
"""Hidden checks for $notebook: the law behind the lesson's numbers, on random inputs.

A student sees only a hidden check's verdict and its rubric hint, so messages may name what was drawn."""

from __future__ import annotations

from grader.checks import check, expect_tensor


@check("double", "random_inputs")
def test_double_random_inputs(student, rng):
    for _ in range(3):
        values = [round(rng.uniform(-5, 5), 3) for _ in range(rng.randint(1, 6))]
        expect_tensor(student.call("double", values), [2 * v for v in values], what=f"double({values})")
'''

_WRONG = '''\
"""Adds 2 instead of multiplying by 2 (right only where x + 2 == 2x, at x = 2)."""


def double(values):
    return torch.tensor(values, dtype=torch.float32) + 2
'''

_RIGHT = '''\
"""Multiplies in place on a fresh tensor: another way to the same float32 values."""


def double(values):
    result = torch.as_tensor(values, dtype=torch.float32).clone()
    result.mul_(2)
    return result
'''


def next_notebook_name(reference_dir: Path, exercise: str) -> str:
    """`NN_<exercise>.ipynb`, NN one more than the highest number among the reference notebooks (01 for none)."""
    numbers = [int(m.group(1)) for p in reference_dir.glob("*.ipynb") if (m := _NUMBERED.match(p.name))]
    return f"{max(numbers, default=0) + 1:02d}_{exercise}.ipynb"


def scaffold(course_root: Path, exercise: str, *, title: str | None = None, written: bool = False) -> list[Path]:
    """Write a new exercise's files into the course at `course_root`; return the paths written.

    Raises UsageError (exit 2) for an id the rubric schema refuses, or an exercise that already has any file.
    """
    if not EXERCISE_ID.fullmatch(exercise):
        raise UsageError(f"{exercise!r} is not an exercise id: use lowercase letters, digits and _, starting "
                         "with a letter (e.g. tensors)")
    root = Path(course_root)
    if not root.is_dir():
        raise UsageError(f"{root}: no such course folder; use --course")
    notebook = next_notebook_name(root / "reference", exercise)
    taken = _existing(root, exercise)
    if taken:
        raise UsageError(f"exercise {exercise} already exists ({taken}); choose another id")
    number = notebook.split("_", 1)[0]
    fill = {"exercise": exercise, "notebook": notebook, "number": number,
            "title": (title or exercise.replace("_", " ")).replace('"', "'")}
    reference_nb = _reference_notebook(exercise, fill, written)
    checks = root / "rubrics" / "checks" / exercise
    files = {
        root / "rubrics" / f"{exercise}.toml": _RUBRIC + (_RUBRIC_WRITTEN if written else ""),
        checks / "public" / f"test_{exercise}_public.py": _PUBLIC,
        checks / "hidden" / f"test_{exercise}_hidden.py": _HIDDEN,
        root / "reference" / "wrong" / exercise / "double__adds_two.py": _WRONG,
        root / "reference" / "right" / exercise / "double__in_place_mul.py": _RIGHT,
        root / "reference" / notebook: nbformat.writes(reference_nb) + "\n",
        root / "exercises" / notebook: nbformat.writes(build_exercise(reference_nb, name=notebook)) + "\n",
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, Template(text).safe_substitute(fill) if path.suffix != ".ipynb" else text)
    return list(files)


def _existing(root: Path, exercise: str) -> str | None:
    """A file or folder that already belongs to `exercise`, relative to the course root, or None."""
    candidates = [root / "rubrics" / f"{exercise}.toml", root / "rubrics" / "checks" / exercise,
                  root / "reference" / "wrong" / exercise, root / "reference" / "right" / exercise,
                  *(root / "reference").glob(f"*_{exercise}.ipynb"), root / "reference" / f"{exercise}.ipynb",
                  *(root / "exercises").glob(f"*_{exercise}.ipynb")]
    found = next((p for p in candidates if p.exists()), None)
    return str(found.relative_to(root)) if found else None


def _reference_notebook(exercise: str, fill: dict[str, str], written: bool) -> nbformat.NotebookNode:
    new_md, new_code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [new_md(Template(_INTRO).substitute(fill)), new_code("import torch"), new_md(_QUESTION),
             new_code(_SOLUTION), new_code(_DEMO, metadata={"tags": ["demo"]})]
    if written:
        cells += [new_md(_PROMPT), new_md(_ANSWER, metadata={"grader": {"answer": "hw1"}})]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"grader": {"exercise": exercise},
                   "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    return nb
