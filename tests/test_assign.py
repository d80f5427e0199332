"""grader.assign: reference notebooks -> exercise notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader.assign import ANSWER_TEMPLATE, assign, build_exercise
from grader.errors import AssignError, GraderError

REPO = Path(__file__).resolve().parent.parent


def _notebook(*cells, exercise="demo_ex"):
    return new_notebook(cells=list(cells), metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "grader": {"exercise": exercise},
    })


def _code(source, tags=None):
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    return cell


FUNCTION = '''\
def f(x):
    """docstring kept"""
    ### BEGIN SOLUTION
    y = x + 1
    return y
    ### END SOLUTION'''


def test_solution_region_becomes_raise_at_same_indent():
    ex = build_exercise(_notebook(_code(FUNCTION)))
    assert ex.cells[0].source == (
        'def f(x):\n    """docstring kept"""\n    raise NotImplementedError("TODO: implement f")'
    )


def test_built_stub_raises_not_implemented():
    namespace: dict = {}
    exec(build_exercise(_notebook(_code(FUNCTION))).cells[0].source, namespace)
    with pytest.raises(NotImplementedError, match="TODO"):
        namespace["f"](1)


def test_code_around_regions_is_kept_and_methods_are_named():
    source = (
        "import torch\n\nclass M:\n    def __init__(self):\n        super().__init__()\n"
        "        ### BEGIN SOLUTION\n        self.a = 1\n        ### END SOLUTION\n\n"
        "    def forward(self, x):\n        ### BEGIN SOLUTION\n        return x\n        ### END SOLUTION\n"
        "print('after')"
    )
    out = build_exercise(_notebook(_code(source))).cells[0].source
    assert out == (
        "import torch\n\nclass M:\n    def __init__(self):\n        super().__init__()\n"
        '        raise NotImplementedError("TODO: implement M.__init__")\n\n'
        '    def forward(self, x):\n        raise NotImplementedError("TODO: implement M.forward")\n'
        "print('after')"
    )


def test_top_level_region():
    out = build_exercise(_notebook(_code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n"))).cells[0].source
    assert out == 'raise NotImplementedError("TODO: write your code here")\n'


def test_hidden_cells_are_removed_others_kept_in_order():
    nb = _notebook(_code("a = 1"), _code("secret = 2", tags=["hidden", "demo"]),
                   new_markdown_cell("notes", metadata={"tags": ["hidden"]}), _code("b = 3", tags=["demo"]))
    ex = build_exercise(nb)
    assert [c.source for c in ex.cells] == ["a = 1", "b = 3"]
    assert ex.cells[1].metadata["tags"] == ["demo"]


def test_outputs_and_execution_counts_cleared():
    cell = _code("print(1)")
    cell.execution_count = 7
    cell.outputs = [new_output("stream", name="stdout", text="1\n")]
    ex = build_exercise(_notebook(cell))
    assert ex.cells[0].outputs == [] and ex.cells[0].execution_count is None


def test_written_answer_replaced_by_template():
    answer = new_markdown_cell("<!-- BEGIN SOLUTION -->\nThe sigmoid maps to (0, 1).\n<!-- END SOLUTION -->",
                               metadata={"grader": {"answer": "hw1"}})
    ex = build_exercise(_notebook(answer))
    assert ex.cells[0].source == ANSWER_TEMPLATE
    assert ex.cells[0].metadata["grader"] == {"answer": "hw1"}


def test_markdown_text_around_answer_kept():
    cell = new_markdown_cell("Q?\n<!-- BEGIN SOLUTION -->A<!-- END SOLUTION -->\nend")
    assert build_exercise(_notebook(cell)).cells[0].source == f"Q?\n{ANSWER_TEMPLATE}\nend"


def test_metadata_kept_and_reference_untouched():
    nb = _notebook(_code(FUNCTION), exercise="autograd")
    before = nbformat.writes(nb)
    ex = build_exercise(nb)
    assert ex.metadata["grader"] == {"exercise": "autograd"}
    assert ex.metadata["kernelspec"]["name"] == "python3"
    assert nbformat.writes(nb) == before


@pytest.mark.parametrize("source, fragment", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "line 2: ### BEGIN SOLUTION has no matching"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "line 3: ### END SOLUTION without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "line 2: ### BEGIN SOLUTION inside"),
])
def test_unbalanced_code_markers_name_notebook_and_cell(source, fragment):
    nb = _notebook(_code("x = 1"), _code("y = 2", tags=["hidden"]), _code(source))
    with pytest.raises(AssignError) as info:
        build_exercise(nb, name="07_bad.ipynb")
    assert "07_bad.ipynb: cell 2" in str(info.value)
    assert fragment in str(info.value)
    assert isinstance(info.value, GraderError)


@pytest.mark.parametrize("source", [
    "<!-- BEGIN SOLUTION -->\nanswer",
    "answer\n<!-- END SOLUTION -->",
    "<!-- END SOLUTION --> x <!-- BEGIN SOLUTION -->",
    "<!-- BEGIN SOLUTION --> <!-- BEGIN SOLUTION --> <!-- END SOLUTION -->",
])
def test_unbalanced_markdown_markers(source):
    with pytest.raises(AssignError, match=r"bad\.ipynb: cell 0"):
        build_exercise(_notebook(new_markdown_cell(source)), name="bad.ipynb")


def test_assign_writes_every_notebook(tmp_path):
    ref = tmp_path / "reference"
    (ref / "wrong").mkdir(parents=True)
    nbformat.write(_notebook(_code(FUNCTION)), ref / "01_a.ipynb")
    nbformat.write(_notebook(_code("x = 1")), ref / "02_b.ipynb")
    out = tmp_path / "exercises"
    written = assign(ref, out)
    assert written == [out / "01_a.ipynb", out / "02_b.ipynb"]
    assert sorted(p.name for p in out.iterdir()) == ["01_a.ipynb", "02_b.ipynb"]
    exercise = nbformat.read(out / "01_a.ipynb", as_version=4)
    nbformat.validate(exercise)
    assert "NotImplementedError" in exercise.cells[0].source


def test_assign_writes_nothing_when_a_notebook_is_malformed(tmp_path):
    ref = tmp_path / "reference"
    ref.mkdir()
    nbformat.write(_notebook(_code(FUNCTION)), ref / "01_good.ipynb")
    nbformat.write(_notebook(_code("### BEGIN SOLUTION\n")), ref / "02_bad.ipynb")
    with pytest.raises(AssignError, match="02_bad.ipynb: cell 0"):
        assign(ref, tmp_path / "exercises")
    assert not (tmp_path / "exercises").exists()


def test_assign_unreadable_notebook(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(AssignError, match="broken.ipynb"):
        assign(tmp_path, tmp_path / "out")


def test_committed_exercises_are_exactly_assign_output(tmp_path):
    written = assign(REPO / "reference", tmp_path)
    assert [p.name for p in written] == ["01_autograd.ipynb", "02_logistic_regression.ipynb", "03_tensors.ipynb"]
    for path in written:
        assert path.read_text(encoding="utf-8") == (REPO / "exercises" / path.name).read_text(encoding="utf-8")


def test_course_exercises_contain_no_solutions():
    for path in sorted((REPO / "exercises").glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        assert "self-test" not in text  # hidden instructor cells are gone
