"""`grade verify`, mirror image: known-right variants keep full marks; each TODO stub costs exactly its questions."""

from __future__ import annotations

import nbformat
import pytest

from grader.course import load_course
from grader.errors import RubricError
from grader.rubric import load_rubric
from grader.verify import verify
from grader.verify_variants import stub_definitions, with_stub

from minicourse import DEMO, make_course

USES = '\n[questions.double]\nuses = ["double"]\n[questions.square]\nuses = ["square"]\n'


def test_stubs_come_from_the_exercise_and_replace_the_definition_where_it_stands(project):
    exercise = nbformat.read(project / "exercises" / "02_logistic_regression.ipynb", as_version=4)
    reference = nbformat.read(project / "reference" / "02_logistic_regression.ipynb", as_version=4)
    stubs = stub_definitions(exercise)
    assert list(stubs) == ["make_data", "LR", "train", "experiment"]
    stubbed = with_stub(reference, "LR", stubs["LR"])
    changed = [i for i, (a, b) in enumerate(zip(reference.cells, stubbed.cells)) if a.source != b.source]
    assert len(changed) == 1 and len(stubbed.cells) == len(reference.cells)  # in place: the demo cells see it
    source = stubbed.cells[changed[0]].source
    assert source.count("class LR") == 1 and 'NotImplementedError("TODO: implement LR.forward")' in source
    assert "self.features = nn.Linear" not in source and "END SOLUTION" not in source
    compile(source, "cell", "exec")


def test_rubric_uses_is_validated(tmp_path):
    path = tmp_path / "demo.toml"
    base = 'exercise = "demo"\nnotebook = "demo.ipynb"\n[questions.q]\n{uses}\n[questions.q.checks.a]\n' \
           'points = 1\nvisibility = "public"\nhint = "h"\n'
    path.write_text(base.format(uses='uses = ["make_data", "LR"]'), encoding="utf-8")
    assert load_rubric(path).questions[0].uses == ("make_data", "LR")
    path.write_text(base.format(uses='uses = "make_data"'), encoding="utf-8")
    with pytest.raises(RubricError, match="questions.q.uses"):
        load_rubric(path)
    path.write_text(base.format(uses='uses = ["not a name"]'), encoding="utf-8")
    with pytest.raises(RubricError):
        load_rubric(path)


@pytest.mark.slow
def test_right_variants_and_declared_stubs_hold_up(tmp_path, isolation):
    root = make_course(tmp_path, (DEMO,))
    rubric = root / "rubrics" / "demo.toml"
    rubric.write_text(rubric.read_text() + USES)
    right = root / "reference" / "right" / "demo"
    right.mkdir(parents=True)
    (right / "double__addition.py").write_text("def double(x):\n    return x + x\n")
    nb = nbformat.read(root / "reference" / "demo.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("A note the student added."))
    nbformat.write(nb, right / "square__with_a_note.ipynb")
    lines = []
    assert verify(load_course(root), isolation.requested, log=lines.append) == []
    assert "verify: checked 2 known-right variant(s) and 2 per-question stub(s)" in lines


@pytest.mark.slow
def test_a_right_variant_that_loses_points_and_a_wrong_declaration_fail_with_reasons(tmp_path, isolation):
    root = make_course(tmp_path, (DEMO,))
    rubric = root / "rubrics" / "demo.toml"
    rubric.write_text(rubric.read_text() + USES.replace('uses = ["square"]', 'uses = ["double", "cube"]'))
    right = root / "reference" / "right" / "demo"
    right.mkdir(parents=True)
    (right / "double__not_really.py").write_text("def double(x):\n    return x + 2\n")
    problems = verify(load_course(root), isolation.requested, log=lambda line: None)
    text = "\n".join(problems)
    assert "right/demo/double__not_really.py: a right solution loses points: demo.double.law" in text
    assert "with double a TODO stub, square (which declares uses double) still scores 5/5" in text
    assert "with square a TODO stub, square loses points (demo.square.lesson) but does not declare uses square" \
        in text
    assert "`uses` names cube, which the exercise notebook has no TODO stub for" in text
