"""Instructor-entered scores for written answers (`grade ... --manual FILE`), from CSV or TOML.

CSV: a header `student,check,points[,comment]`, one row per scored item, e.g.
    alice,logistic_regression.hw1.answer,4,clear and complete
TOML: one table per student, check id -> points or {points, comment}:
    [alice]
    "logistic_regression.hw1.answer" = 4
    "logistic_regression.hw2.answer" = { points = 3, comment = "bias discussed, mean_value not" }
"""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

from .errors import UsageError
from .scoring import ManualScores


def load_manual_scores(path: Path, known_checks: set[str]) -> dict[str, ManualScores]:
    """Scores by student, then check id; unknown check ids and non-numeric points are errors."""
    if path.suffix.lower() == ".toml":
        rows = _toml_rows(path)
    elif path.suffix.lower() == ".csv":
        rows = _csv_rows(path)
    else:
        raise UsageError(f"{path}: manual scores must be a .csv or .toml file")
    scores: dict[str, ManualScores] = {}
    for where, student, check, points, comment in rows:
        if check not in known_checks:
            raise UsageError(f"{path}, {where}: {check!r} is not a manual item of any rubric")
        try:
            value = float(points)
        except (TypeError, ValueError):
            raise UsageError(f"{path}, {where}: points {points!r} is not a number") from None
        scores.setdefault(student, {})[check] = (value, comment)
    return scores


def _csv_rows(path: Path) -> list[tuple[str, str, str, object, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"student", "check", "points"} - set(reader.fieldnames or [])
        if missing:
            raise UsageError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return [(f"line {n}", row["student"], row["check"], row["points"], row.get("comment") or "")
                for n, row in enumerate(reader, start=2)]


def _toml_rows(path: Path) -> list[tuple[str, str, str, object, str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    rows = []
    for student, items in data.items():
        if not isinstance(items, dict):
            raise UsageError(f"{path}: [{student}] must be a table of check id = points")
        for check, value in items.items():
            if isinstance(value, dict):
                rows.append((f"[{student}]", student, check, value.get("points"), str(value.get("comment", ""))))
            else:
                rows.append((f"[{student}]", student, check, value, ""))
    return rows
