"""`grade new EXERCISE_ID`: what it scaffolds, `grade assign` and `grade verify` accept as it is (issue 17)."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from grader.cli import EXIT_USAGE
from grader.course import load_course
from grader.scaffold import next_notebook_name, scaffold
from grader.verify import verify

from conftest import invoke
from minicourse import DEMO, make_course


def _course_files(root):
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_new_writes_every_file_of_an_exercise(tmp_path):
    root = make_course(tmp_path / "course", (DEMO,))
    result = invoke("new", "tensors", "--course", str(root), "--written")
    assert result.exit_code == 0, result.output
    names = {str(p.relative_to(root)) for p in root.rglob("*") if "tensors" in str(p) and p.is_file()}
    assert names == {"rubrics/tensors.toml", "rubrics/checks/tensors/public/test_tensors_public.py",
                     "rubrics/checks/tensors/hidden/test_tensors_hidden.py",
                     "reference/wrong/tensors/double__adds_two.py", "reference/right/tensors/double__in_place_mul.py",
                     "reference/01_tensors.ipynb", "exercises/01_tensors.ipynb"}
    assert "grade verify --exercise tensors" in result.output
    rubric = load_course(root).rubrics["tensors"]  # it validates against the schema
    assert rubric.notebook == "01_tensors.ipynb"
    assert {q.id: q.uses for q in rubric.questions} == {"double": ("double",), "hw1": ()}
    reference = nbformat.read(root / "reference" / "01_tensors.ipynb", as_version=4)
    assert reference.metadata["grader"] == {"exercise": "tensors"}
    sources = [c.source for c in reference.cells]
    assert any("### BEGIN SOLUTION" in s and "### END SOLUTION" in s for s in sources)
    assert any(c.metadata.get("grader", {}).get("answer") == "hw1" and "<!-- BEGIN SOLUTION -->" in c.source
               for c in reference.cells)
    exercise = nbformat.read(root / "exercises" / "01_tensors.ipynb", as_version=4)
    assert any('raise NotImplementedError("TODO: implement double")' in c.source for c in exercise.cells)


def test_assign_keeps_the_scaffolded_exercise_as_it_is(tmp_path):
    root = make_course(tmp_path / "course", (DEMO,))
    scaffold(root, "tensors", written=True)
    before = _course_files(root)
    assert invoke("assign", "--course", str(root)).exit_code == 0
    assert _course_files(root) == before


def test_numbers_follow_the_course_notebooks(tmp_path):
    (tmp_path / "reference").mkdir()
    assert next_notebook_name(tmp_path / "reference", "x") == "01_x.ipynb"
    for name in ("01_autograd.ipynb", "02_logistic_regression.ipynb", "notes.ipynb"):
        (tmp_path / "reference" / name).write_text("{}")
    assert next_notebook_name(tmp_path / "reference", "tensors") == "03_tensors.ipynb"


@pytest.mark.parametrize("bad", ["Tensors", "3d", "two-words", "_x", "a/b", ""])
def test_a_bad_id_is_refused_with_exit_2_and_nothing_written(tmp_path, bad):
    root = make_course(tmp_path / "course", (DEMO,))
    before = _course_files(root)
    result = invoke("new", bad, "--course", str(root))
    assert result.exit_code == EXIT_USAGE
    assert "is not an exercise id" in result.output
    assert _course_files(root) == before


@pytest.mark.parametrize("exercise, remove", [("demo", None), ("tensors", "rubrics/tensors.toml"),
                                              ("tensors", "reference/01_tensors.ipynb")])
def test_an_existing_exercise_is_refused_with_exit_2_and_left_as_it_is(tmp_path, exercise, remove):
    root = make_course(tmp_path / "course", (DEMO,))
    if exercise == "tensors":
        scaffold(root, "tensors")
        (root / remove).unlink()  # any file left of the exercise is enough to refuse
    before = _course_files(root)
    result = invoke("new", exercise, "--course", str(root))
    assert result.exit_code == EXIT_USAGE
    assert f"exercise {exercise} already exists" in result.output
    assert _course_files(root) == before


def test_a_course_folder_that_does_not_exist_is_a_usage_error(tmp_path):
    result = invoke("new", "tensors", "--course", str(tmp_path / "nowhere"))
    assert result.exit_code == EXIT_USAGE


@pytest.mark.slow
@pytest.mark.parametrize("written", [False, True])
def test_verify_accepts_the_scaffold_as_it_is(tmp_path, isolation, written):
    root = make_course(tmp_path / "course", (DEMO,))
    scaffold(root, "tensors", title="Tensors", written=written)
    scaffold(root, "later")  # another exercise with right variants and `uses`: --exercise leaves it out
    lines: list[str] = []
    assert verify(load_course(root), isolation.requested, log=lines.append, exercises=("tensors",)) == [], lines
    assert "verify: checked 1 known-right variant(s) and 1 per-question stub(s)" in lines
    assert any("tensors wrong/double__adds_two.py" in line or "double__adds_two" in line for line in lines), lines


@pytest.mark.slow
def test_verify_catches_a_scaffolded_wrong_solution_that_is_right(tmp_path, isolation):
    """The scaffold's checks can fail: a 'wrong' solution that is right is caught."""
    root = make_course(tmp_path / "course", (DEMO,))
    scaffold(root, "tensors")
    shutil.copy(root / "reference" / "right" / "tensors" / "double__in_place_mul.py",
                root / "reference" / "wrong" / "tensors" / "double__adds_two.py")
    problems = verify(load_course(root), isolation.requested, log=lambda line: None, exercises=("tensors",))
    assert any("double__adds_two.py: loses no points" in p for p in problems), problems
