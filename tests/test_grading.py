"""Grading whole notebooks against the real course: forged values earn nothing, honest parts still score."""

from __future__ import annotations

import json

import nbformat
import pytest

from grader.exercise import grade_notebook
from grader.options import GradingOptions
from grader.reporters.json_report import report_schema
from grader.verify import with_wrong_solution

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def options(course, isolation):
    return GradingOptions(course, isolation, secret=b"test-secret-0123456789")


@pytest.fixture(scope="module")
def autograd_reference(project):
    return nbformat.read(project / "reference" / "01_autograd.ipynb", as_version=4)


def with_cell(nb, source):
    nb = nbformat.from_dict(nb)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def points(result):
    return {c.id: (c.status, c.points) for q in result.questions for c in q.checks}


def question_scores(result):
    return {q.id: (q.score, q.max_score) for q in result.questions}


FORGERIES = {
    "rigged_subclass": """
import torch
class Always(torch.Tensor):
    def __eq__(self, other): return True
    def __sub__(self, other): return torch.zeros(1)
    def __abs__(self): return torch.zeros(1)
    def __bool__(self): return True
    def tolist(self): return [9.0]
def weighted_backward(w, x, weights):
    return torch.tensor([0.0]).as_subclass(Always)
""",
    "rigged_object": """
class Anything:
    def __eq__(self, other): return True
    def __bool__(self): return True
    def __repr__(self): return 'tensor([9.])'
def weighted_backward(w, x, weights):
    return Anything()
""",
    "fake_pass_output": """
import json
from IPython.display import display
def weighted_backward(w, x, weights):
    print('PASSED autograd.grad_tensors.lesson_value 100/100')
    display({'application/vnd.grader.response+json': {'nonce': 'guess', 'ok': True,
             'value': {'kind': 'tensor', 'dtype': 'float32', 'shape': [1], 'values': [9.0],
                       'requires_grad': False, 'grad_fn': None, 'is_leaf': True, 'exact_type': True,
                       'class': 'torch.Tensor'}}}, raw=True)
    return None
""",
    "hard_coded_lesson_value": """
import torch
def weighted_backward(w, x, weights):
    return torch.tensor([9.0])
""",
    "nan": """
import torch
def weighted_backward(w, x, weights):
    return torch.tensor([float('nan')])
""",
    "wrong_dtype_and_shape": """
import torch
def weighted_backward(w, x, weights):
    return torch.tensor([[9]], dtype=torch.int64)
""",
}


def test_reference_scores_full_marks(options, autograd_reference):
    graded = grade_notebook(autograd_reference, "autograd", "ref", [], options)
    assert graded.result.score == graded.result.max_score == 50
    assert graded.result.status == "graded"


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forged_answers_earn_nothing_on_their_question_and_leave_the_rest(options, autograd_reference, name):
    graded = grade_notebook(with_cell(autograd_reference, FORGERIES[name]), "autograd", "forger", [], options)
    scores = question_scores(graded.result)
    if name == "hard_coded_lesson_value":
        # the public lesson check passes; every hidden random-input check fails
        hidden = [c for q in graded.result.questions if q.id == "grad_tensors" for c in q.checks
                  if c.visibility == "hidden"]
        assert hidden and all(c.points == 0 for c in hidden)
    else:
        assert scores["grad_tensors"][0] == 0, points(graded.result)
    for question, (score, full) in scores.items():
        if question != "grad_tensors":
            assert score == full, (question, points(graded.result))


def test_hidden_check_messages_do_not_reveal_inputs(options, autograd_reference):
    source = "import torch\ndef weighted_backward(w, x, weights):\n    raise ValueError(f'inputs were {w!r} {x!r} {weights!r}')\n"
    graded = grade_notebook(with_cell(autograd_reference, source), "autograd", "leaker", [], options)
    hidden = [c for q in graded.result.questions for c in q.checks if c.visibility == "hidden"
              and c.id.startswith("autograd.grad_tensors")]
    assert hidden
    for c in hidden:
        assert "inputs were" not in c.message
        assert c.status == "failed"


def test_randomness_depends_on_secret_and_student(options, autograd_reference, project):
    from grader.seeds import Seeds

    a = Seeds(b"secret-one-0123456789", "alice").seed("autograd.grad_tensors.random_weights")
    assert a == Seeds(b"secret-one-0123456789", "alice").seed("autograd.grad_tensors.random_weights")
    assert a != Seeds(b"secret-one-0123456789", "bob").seed("autograd.grad_tensors.random_weights")
    assert a != Seeds(b"secret-two-0123456789", "alice").seed("autograd.grad_tensors.random_weights")


def test_report_schema_is_shipped_and_strict():
    schema = report_schema()
    assert schema["properties"]["report_version"] == {"enum": [1, 2]}  # 2 written; 1 still read (no codes)
    assert json.dumps(schema)
