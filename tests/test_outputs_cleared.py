"""Only outputs this run produces count: stored outputs and the student's execution tags are dropped first."""

from __future__ import annotations

import json

import nbformat
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.notebook import prepare_for_execution

from adversarial.corpus import with_stored_images


def test_prepare_for_execution_clears_outputs_and_execution_tags_and_leaves_the_input_alone(project):
    blank = nbformat.read(project / "exercises" / "02_logistic_regression.ipynb", as_version=4)
    nb, _ = with_stored_images(blank)
    before = nbformat.writes(nb)
    prepared = prepare_for_execution(nb)
    assert nbformat.writes(nb) == before  # a copy: the submission itself is untouched
    code = [c for c in prepared.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    tags = [t for c in prepared.cells for t in c.metadata.get("tags", [])]
    assert "skip-execution" not in tags and "raises-exception" not in tags and "demo" in tags
    assert not any("execution" in c.metadata for c in prepared.cells)
    assert "widgets" not in prepared.metadata
    assert [c.source for c in prepared.cells] == [c.source for c in nb.cells]
    nbformat.validate(prepared)


@pytest.mark.slow
def test_stored_fake_plots_score_nothing_and_never_reach_feedback(project, isolation, tmp_path):
    blank = nbformat.read(project / "exercises" / "02_logistic_regression.ipynb", as_version=4)
    nb, encoded = with_stored_images(blank)
    (tmp_path / "subs" / "eve").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "subs" / "eve" / "02_logistic_regression.ipynb")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [str(tmp_path / "subs"), "--out", str(out), "--course", str(project),
                                       "--isolation", isolation.requested], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "students" / "eve" / "report.json").read_text(encoding="utf-8"))
    (exercise,) = [e for e in report["exercises"] if e["id"] == "logistic_regression"]
    plots = {q["id"]: q for q in exercise["questions"]}["plots"]
    assert plots["score"] == 0, plots
    executed = nbformat.read(out / "students" / "eve" / "02_logistic_regression.ipynb", as_version=4)
    stored = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert stored == []
    page = (out / "students" / "eve" / "feedback.html").read_text(encoding="utf-8")
    assert encoded[:200] not in page and "data:image/png" not in page
