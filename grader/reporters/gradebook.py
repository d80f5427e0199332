"""gradebook.csv: one row per student, `student,score,max_score,pending`, then one column per question.

`pending`: points awaiting a person's score (written answers not scored yet, stale scores); not in `score`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable

from ..files import write_atomic


def question_columns(reports: Iterable[dict[str, Any]], order: list[tuple[str, list[str]]]) -> list[str]:
    """Columns `<exercise>.<question>` in rubric order."""
    return [f"{exercise}.{question}" for exercise, questions in order for question in questions]


def write_gradebook(reports: list[dict[str, Any]], order: list[tuple[str, list[str]]], path: Path) -> None:
    """Write the gradebook atomically; `order` lists (exercise, [question ids]) in rubric order."""
    columns = question_columns(reports, order)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", "pending", *columns])
    for report in sorted(reports, key=lambda r: r["student"]):
        points = {f"{ex['id']}.{q['id']}": q["score"] for ex in report["exercises"] for q in ex["questions"]}
        writer.writerow([report["student"], report["score"], report["max_score"], report.get("pending", 0),
                         *[points.get(column, 0) for column in columns]])
    write_atomic(path, buffer.getvalue())
