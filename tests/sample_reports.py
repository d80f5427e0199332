"""Report dicts and executed notebooks shaped exactly like `grade run` writes them, built without kernels."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import nbformat

from grader.messages import msg, to_json
from grader.reporters.json_report import validate_report

HOSTILE = 'x<script>alert(1)</script>"'


def png_bytes(colour: str = "tab:blue") -> bytes:
    """A real PNG drawn by matplotlib (a stand-in for a decision-boundary plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    ax.plot([0, 1], [1, 0], color=colour)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def executed_notebook(path: Path, plots: int = 2) -> Path:
    """An executed notebook with `plots` PNG outputs and two outputs that only pretend to be images."""
    cells = []
    for i in range(plots):
        cell = nbformat.v4.new_code_cell(f"plot({i})")
        cell.outputs = [nbformat.v4.new_output("display_data", data={
            "image/png": base64.b64encode(png_bytes()).decode(), "text/plain": "<Figure>"})]
        cells.append(cell)
    fake = nbformat.v4.new_code_cell("fake()")
    fake.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(b"<script>").decode()}),
        nbformat.v4.new_output("display_data", data={"image/png": '"><script>alert(1)</script>'}),
    ]
    cells.append(fake)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def check(cid: str, status: str, points: float, max_points: float, visibility: str = "public",
          message: str = "", hint: str = "a hint") -> dict:
    return {"id": cid, "status": status, "points": points, "max_points": max_points, "visibility": visibility,
            "message": message, **to_json(message), "hint": hint}


def question(qid: str, checks: list[dict], title: str = "") -> dict:
    return {"id": qid, "title": title or qid, "score": sum(c["points"] for c in checks),
            "max_score": sum(c["max_points"] for c in checks), "checks": checks}


def report(student: str = "ada", *, wrong: bool = True, after_due: bool = False, seconds: float = 3.0,
           message: str = "weighted_backward returned tensor([7.]): <b>unweighted</b>", version: int = 2) -> dict:
    """A two-exercise report: autograd graded (grad_tensors wrong when `wrong`), logistic regression not gradable.

    `version=1`: as a grader before report_version 2 wrote it (no message codes)."""
    grad = [check("autograd.grad_tensors.lesson_value", "failed" if wrong else "passed", 0 if wrong else 3, 3,
                  message=message if wrong else "", hint="With weights (1, 2) the lesson printed tensor([9.])."),
            check("autograd.grad_tensors.random_weights", "timeout" if wrong else "passed", 0 if wrong else 5, 5,
                  "hidden", message="SECRET-INPUT w=0.123", hint="gradient= weights each output")]
    retain = [check("autograd.retain_graph.lesson_value", "passed", 3, 3),
              check("autograd.retain_graph.random_inputs", "passed", 5, 5,
                    "after_due_date" if after_due else "hidden", hint="two passes accumulate")]
    questions = [question("retain_graph", retain, "retain_graph: backward twice"),
                 question("grad_tensors", grad, "backward(gradient=...) weights each output")]
    graded = msg("exercise.graded_with_cells", count=1)
    interrupted = msg("cell.interrupted", seconds="60")
    autograd = {"id": "autograd", "status": "graded", "message": graded, **to_json(graded),
                "score": sum(q["score"] for q in questions), "max_score": sum(q["max_score"] for q in questions),
                "notebook": "01_autograd.ipynb", "seconds": seconds,
                "cells": [{"cell_index": 4, "kind": "timeout", "message": interrupted, **to_json(interrupted)}],
                "questions": questions}
    lr_q = [question("make_data", [check("logistic_regression.make_data.lesson_data", "failed", 0, 3,
                                         message="not valid JSON")]),
            question("hw1", [check("logistic_regression.hw1.answer", "failed", 0, 5,
                                   message=msg("answer.missing"))])]
    lr = {"id": "logistic_regression", "status": "not_gradable", "message": "02.ipynb: not valid JSON (line 1)",
          **to_json("02.ipynb: not valid JSON (line 1)"),
          "score": 0, "max_score": 8, "notebook": "02_logistic_regression.ipynb", "seconds": 0, "cells": [],
          "questions": lr_q}
    data = {"report_version": 2, "student": student, "score": autograd["score"], "max_score": autograd["max_score"] + 8,
            "grader_version": "0.1.0", "graded_at": "2025-03-01T12:00:00+00:00",
            "isolation": {"level": "bwrap", "requested": "auto", "protections": {"no_network": True}, "warning": None},
            "exercises": [autograd, lr]}
    if version == 1:
        data = _without_codes(data)
    validate_report(data)
    return json.loads(json.dumps(data))  # plain data, as read back from report.json


def _without_codes(value):
    if isinstance(value, dict):
        return {k: _without_codes(v) for k, v in value.items() if k not in ("message_code", "message_params")} | (
            {"report_version": 1} if "report_version" in value else {})
    if isinstance(value, list):
        return [_without_codes(v) for v in value]
    return value


def graded_folder(root: Path, students: dict[str, dict]) -> Path:
    """OUT/ as `grade run` leaves it: report.json and the executed notebook per student."""
    import json

    from grader.layout import OutLayout

    layout = OutLayout(root)
    for name, data in students.items():
        layout.student_dir(name).mkdir(parents=True, exist_ok=True)
        layout.report(name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        executed_notebook(layout.executed(name, "01_autograd.ipynb"))
    return root
