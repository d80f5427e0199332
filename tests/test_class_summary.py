"""summary.html for deciding what to review: who failed each check, recognised misconceptions, near-copies."""

from __future__ import annotations

import json

import nbformat
import pytest

from grader.checks import Feedback
from grader.layout import OutLayout
from grader.models import ExerciseRun, Outcome
from grader.reporters.stats import class_stats, read_tags
from grader.reporters.summary_html import render_summary_html
from grader.similarity import class_near_copies, near_copies, notebook_code
from grader.verify_variants import check_misconceptions, declared_misconceptions

from sample_reports import report

TRAIN = '''
def train(model, data, epochs):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(epochs):
        for xb, yb in data:
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
    return model
'''
OTHER = '''
def train(m, d, n):
    o = torch.optim.Adam(m.parameters())
    i = 0
    while i < n:
        total = sum(float(step(m, o, x, y)) for x, y in d)
        print(total)
        i += 1
    return m
'''
TEMPLATE = '''
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
features = torch.randn(200, 2)
labels = (features.sum(dim=1, keepdim=True) > 0).float()
loader = DataLoader(TensorDataset(features, labels), batch_size=32, shuffle=True)
'''
LESSON = "autograd.grad_tensors.lesson_value"


def test_feedback_carries_a_misconception_into_the_instructor_details():
    exc = Feedback("ignores its weights", misconception="grad_tensors__ignores_weights")
    assert exc.misconception == "grad_tensors__ignores_weights" and Feedback("plain").misconception == ""
    run = ExerciseRun("autograd", "graded", "graded", "a.ipynb", outcomes=(
        Outcome(LESSON, "failed", "ignores its weights", "trace", misconception="grad_tensors__ignores_weights"),
        Outcome("autograd.other.check", "failed", "no", "trace")))
    checks = run.details()["checks"]
    assert checks[LESSON]["misconception"] == "grad_tensors__ignores_weights"
    assert "misconception" not in checks["autograd.other.check"]


def test_stats_name_who_failed_each_check_and_count_misconceptions(tmp_path):
    reports = [report("ada"), report("bob", wrong=False), report("cy")]
    layout = OutLayout(tmp_path)
    for student, tag in (("ada", "grad_tensors__ignores_weights"), ("cy", "grad_tensors__ignores_weights")):
        layout.details(student).parent.mkdir(parents=True, exist_ok=True)
        layout.details(student).write_text(json.dumps(
            {"stray": [], "autograd": {"checks": {LESSON: {"status": "failed", "detail": "x", "misconception": tag}}}}))
    tags = read_tags(layout, ["ada", "bob", "cy"])
    assert tags == {s: {LESSON: "grad_tensors__ignores_weights"} for s in ("ada", "cy")}
    stats = class_stats(reports, tags=tags)
    rates = {r.id: r for r in stats.checks}
    assert rates[LESSON].failed == ("ada", "cy")
    assert [(m.check, m.tag, m.students) for m in stats.misconceptions] == [
        (LESSON, "grad_tensors__ignores_weights", ("ada", "cy"))]
    html = render_summary_html(stats)
    assert "<th>Status</th><th>pass rate</th>" not in html and "<th>passed / graded</th>" in html
    assert "Known misconceptions recognised" in html and "<code>grad_tensors__ignores_weights</code>" in html
    row = html[html.index(f"<td>{LESSON}</td>"):]
    row = row[:row.index("</tr>")]
    assert 'href="students/ada/feedback.html"' in row and 'href="students/cy/feedback.html"' in row
    assert "students/bob/" not in row


def test_near_copies_ignore_renames_and_the_template_and_never_pair_different_code():
    copied = TRAIN.replace("opt", "optimizer").replace("xb", "inputs").replace("yb", "targets")
    found = near_copies({"ada": TEMPLATE + TRAIN, "bob": TEMPLATE + copied, "cy": TEMPLATE + OTHER}, TEMPLATE, "lr")
    assert [(c.first, c.second) for c in found] == [("ada", "bob")]
    assert found[0].similarity > 0.9 and any("loss.backward()" in p for p in found[0].passages)
    # the template's own code is no shared passage (k-grams straddling its last line aside)
    assert all("manual_seed" not in p and "randn" not in p for p in found[0].passages)
    # the template alone is not shared code: two students who only ran it are not near-copies
    assert near_copies({"ada": TEMPLATE, "bob": TEMPLATE}, TEMPLATE, "lr") == []
    assert len(near_copies({"ada": TEMPLATE, "bob": TEMPLATE}, "", "lr")) == 1


def test_class_near_copies_read_the_executed_notebooks_and_reach_the_summary(tmp_path):
    layout = OutLayout(tmp_path / "out")
    blank = tmp_path / "lr.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TEMPLATE)]), blank)
    course = type("Course", (), {"exercise_notebook": lambda self, exercise: blank})()
    reports = []
    for student, code in (("ada", TRAIN), ("bob", TRAIN.replace("model", "net")), ("cy", OTHER)):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TEMPLATE), nbformat.v4.new_code_cell(code)])
        path = layout.executed(student, "lr.ipynb")
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        reports.append({"student": student, "exercises": [{"id": "lr", "notebook": "lr.ipynb"}]})
    assert notebook_code(nbformat.reads(path.read_text(), 4), frozenset({TEMPLATE.strip()})).strip() == OTHER.strip()
    copies = class_near_copies(layout, reports, course)
    assert [(c.exercise, c.first, c.second) for c in copies] == [("lr", "ada", "bob")]
    html = render_summary_html(class_stats([report("ada"), report("bob")]), copies=copies)
    assert "Near-copies to look at" in html and "never a verdict" in html and "loss.backward()" in html


def test_verify_proves_each_declared_misconception_is_recognised(tmp_path):
    course = type("C", (), {})()
    course.root = tmp_path
    checks = tmp_path / "rubrics" / "checks" / "ex" / "hidden"
    checks.mkdir(parents=True)
    (checks / "test_ex.py").write_text('raise Feedback("a", misconception="q__alpha")\n'
                                       'raise Feedback("b", misconception="q__typo")\n')
    wrong = tmp_path / "reference" / "wrong" / "ex"
    wrong.mkdir(parents=True)
    for stem in ("q__alpha", "q__beta"):
        (wrong / f"{stem}.py").write_text("")
    course.wrong_solutions = lambda exercise: sorted(wrong.glob("*.py"))
    assert declared_misconceptions(course, "ex") == {"q__alpha", "q__typo"}
    problems = check_misconceptions(course, "ex", {"q__alpha": set(), "q__beta": set()})
    assert any("q__typo" in p and "has no q__typo.py" in p for p in problems)
    assert any(p.startswith("q__alpha.py: no check recognised") for p in problems)
    assert not any("q__beta" in p for p in problems)  # not declared by any check: nothing to prove
    assert check_misconceptions(course, "ex", {"q__alpha": {"q__alpha"}}) == [
        p for p in problems if "q__typo" in p]


@pytest.mark.parametrize("stem", ["retain_graph__single_backward", "requires_grad__hardcoded_true"])
def test_week_one_checks_declare_their_misconceptions(course, stem):
    assert stem in declared_misconceptions(course, "autograd")
