"""Only outputs this run produces count: stored outputs and the student's execution tags are dropped first."""

from __future__ import annotations

import base64
import json

import nbformat
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.notebook import prepare_for_execution

from sample_reports import png_bytes


def fake_image_output() -> tuple[dict, str]:
    encoded = base64.b64encode(png_bytes("tab:red")).decode()
    return nbformat.v4.new_output("display_data", data={"image/png": encoded, "text/plain": "<Figure>"}), encoded


def with_stored_images(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, str]:
    """The notebook plus five fake plots: three in a cell with no source, two in cells tagged skip-execution."""
    nb = nbformat.from_dict(nb)
    output, encoded = fake_image_output()
    empty = nbformat.v4.new_code_cell("", outputs=[output, output, output], execution_count=7)
    skipped = nbformat.v4.new_code_cell("_ = show_experiment(1.7, 1)", outputs=[output, output], execution_count=8)
    skipped.metadata["tags"] = ["demo", "skip-execution"]
    raises = nbformat.v4.new_code_cell("1 / 0")
    raises.metadata["tags"] = ["raises-exception"]
    raises.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00Z"}
    nb.cells += [empty, skipped, raises]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb, encoded


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
    report = json.loads((out / "eve" / "report.json").read_text(encoding="utf-8"))
    (exercise,) = [e for e in report["exercises"] if e["id"] == "logistic_regression"]
    plots = {q["id"]: q for q in exercise["questions"]}["plots"]
    assert plots["score"] == 0, plots
    executed = nbformat.read(out / "eve" / "02_logistic_regression.ipynb", as_version=4)
    stored = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert stored == []
    page = (out / "eve" / "feedback.html").read_text(encoding="utf-8")
    assert encoded[:200] not in page and "data:image/png" not in page
