"""gradebook.csv: one row per student, `student,score,max_score,pending`, then one column per question.

`pending`: points awaiting a person's score (written answers not scored yet, stale scores); not in `score`.
Cells a spreadsheet could run as a formula are neutralised (grader/textsafe.py `csv_cell`: one leading `'`,
quoted); `textsafe.csv_value` reads a student id back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..files import write_atomic
from ..textsafe import csv_text


def question_columns(reports: Iterable[dict[str, Any]], order: list[tuple[str, list[str]]]) -> list[str]:
    """Columns `<exercise>.<question>` in rubric order."""
    return [f"{exercise}.{question}" for exercise, questions in order for question in questions]


def write_gradebook(reports: list[dict[str, Any]], order: list[tuple[str, list[str]]], path: Path) -> None:
    """Write the gradebook atomically; `order` lists (exercise, [question ids]) in rubric order."""
    columns = question_columns(reports, order)
    rows: list[list[Any]] = [["student", "score", "max_score", "pending", *columns]]
    for report in sorted(reports, key=lambda r: r["student"]):
        points = {f"{ex['id']}.{q['id']}": q["score"] for ex in report["exercises"] for q in ex["questions"]}
        rows.append([report["student"], report["score"], report["max_score"], report.get("pending", 0),
                     *[points.get(column, 0) for column in columns]])
    write_atomic(path, csv_text(rows))
