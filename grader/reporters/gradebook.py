"""gradebook.csv: one row per student, `student,score,max_score,pending,final_score,late_days,lms,lms_id,
lms_name,name`, then one column per question.

`student` is the gradebook id: the submission's folder name, which for a Canvas zip is the Canvas user id
(Canvas's `ID` column; `anon_<id>` under anonymous grading) and for a Moodle zip the participant id (the
number in the worksheet's `Identifier`, `Participant 1234567`). `score` is the raw score (checks and scored
written answers); `final_score` the score after the late policy (course.toml; equal to `score` when on time);
`late_days` the days of the latest exercise, empty when on time. `lms`, `lms_id` and `lms_name` are what the
zip said (`lms_name`: Canvas's lowercased sortable name, `smithjohn`, none under anonymous grading; Moodle's
full name), `name` the roster's (`--roster`). `pending`: points awaiting a person's score (written answers not
scored yet, stale scores); not in `score`.
Cells a spreadsheet could run as a formula are neutralised (grader/textsafe.py `csv_cell`: one leading `'`,
quoted); `textsafe.csv_value` reads a student id back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..files import write_atomic
from ..late import final_score
from ..textsafe import csv_text

IDENTITY_COLUMNS = ["final_score", "late_days", "lms", "lms_id", "lms_name", "name"]


def question_columns(reports: Iterable[dict[str, Any]], order: list[tuple[str, list[str]]]) -> list[str]:
    """Columns `<exercise>.<question>` in rubric order."""
    return [f"{exercise}.{question}" for exercise, questions in order for question in questions]


def identity_cells(report: dict[str, Any]) -> list[Any]:
    """The final score, days late and LMS identity of one report, as the gradebook writes them."""
    lms = report.get("lms", {})
    days = max((ex["late"]["days"] for ex in report["exercises"] if "late" in ex), default=None)
    return [final_score(report), "" if days is None else days, lms.get("system", ""), lms.get("id", ""),
            lms.get("name", ""), lms.get("real_name", "")]


def write_gradebook(reports: list[dict[str, Any]], order: list[tuple[str, list[str]]], path: Path) -> None:
    """Write the gradebook atomically; `order` lists (exercise, [question ids]) in rubric order."""
    columns = question_columns(reports, order)
    rows: list[list[Any]] = [["student", "score", "max_score", "pending", *IDENTITY_COLUMNS, *columns]]
    for report in sorted(reports, key=lambda r: r["student"]):
        points = {f"{ex['id']}.{q['id']}": q["score"] for ex in report["exercises"] for q in ex["questions"]}
        rows.append([report["student"], report["score"], report["max_score"], report.get("pending", 0),
                     *identity_cells(report), *[points.get(column, 0) for column in columns]])
    write_atomic(path, csv_text(rows))
