"""report.json: the public, versioned per-student report, validated against schemas/report.schema.json.

Version 2 adds `pending` (points awaiting a person's score, not in `score`) to every check, question, exercise
and the student, and `message_code` and `message_params` beside every `message` (checks, exercises, cell notes):
the message as a code of grader/messages.py's catalogue, which readers render in any language. Readers
accept version 1 too (no codes: the English message is shown as is).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import GraderError
from ..files import write_atomic
from ..late import refinal
from ..messages import to_json
from ..models import CheckResult, StudentReport

REPORT_VERSION = 2


@lru_cache(maxsize=1)
def report_schema() -> dict:
    return json.loads(resources.files("grader").joinpath("schemas/report.schema.json").read_text(encoding="utf-8"))


def report_to_dict(report: StudentReport) -> dict[str, Any]:
    exercises = []
    for ex in report.exercises:
        exercises.append({
            "id": ex.id, "status": ex.status, "message": ex.message, **to_json(ex.message),
            "score": _num(ex.score), "max_score": _num(ex.max_score), "pending": _num(ex.pending),
            "notebook": ex.notebook, "seconds": round(ex.seconds, 3),
            "cells": [{**asdict(c), **to_json(c.message)} for c in ex.cells],
            "questions": [{
                "id": q.id, "title": q.title, "score": _num(q.score), "max_score": _num(q.max_score),
                "pending": _num(q.pending),
                "checks": [check_to_dict(c) for c in q.checks],
            } for q in ex.questions],
        })
    return {
        "report_version": REPORT_VERSION,
        "student": report.student,
        "score": _num(report.score),
        "max_score": _num(report.max_score),
        "pending": _num(report.pending),
        "grader_version": report.grader_version,
        "graded_at": report.graded_at,
        "isolation": report.isolation,
        "exercises": exercises,
    }


def check_to_dict(check: CheckResult) -> dict[str, Any]:
    """One check as report.json holds it."""
    return {**asdict(check), "points": _num(check.points), "max_points": _num(check.max_points),
            "pending": _num(check.pending), **to_json(check.message)}


def retotal(data: dict[str, Any]) -> dict[str, Any]:
    """Recompute the score and pending sums of questions, exercises and the student after a check changed."""
    for ex in data["exercises"]:
        for q in ex["questions"]:
            q["score"] = _num(sum(c["points"] for c in q["checks"]))
            q["pending"] = _num(sum(c.get("pending", 0) for c in q["checks"]))
        ex["score"] = _num(sum(q["score"] for q in ex["questions"]))
        ex["pending"] = _num(sum(q.get("pending", 0) for q in ex["questions"]))
    data["score"] = _num(sum(e["score"] for e in data["exercises"]))
    data["pending"] = _num(sum(e.get("pending", 0) for e in data["exercises"]))
    return refinal(data)  # the late policy applies to the new scores


def write_report_data(data: dict[str, Any], path: Path) -> None:
    """Validate and atomically write a report dict (one changed after grading: `grade review`)."""
    validate_report(data)
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def validate_report(data: dict[str, Any]) -> None:
    """Raise GraderError when a report does not match the published schema."""
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(report_schema()).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise GraderError(f"report for {data.get('student')!r} does not match its schema at {where}: {error.message}")


def write_report(report: StudentReport, path: Path) -> dict[str, Any]:
    """Validate and atomically write one report; returns the dict written."""
    data = report_to_dict(report)
    write_report_data(data, path)
    return data


def _num(value: float) -> float | int:
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value
