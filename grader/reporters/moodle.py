"""Moodle's offline grading worksheet, filled in: `grade export moodle OUT --worksheet FILE`.

Moodle (Assignment > View all submissions > Grading action "Download grading worksheet"; the assignment needs
"Offline grading worksheet" among its feedback types) writes one CSV per assignment with the columns
`Identifier, Full name, Email address, Status, Grade, Maximum Grade, Grade can be changed,
Last modified (submission), Last modified (grade), Feedback comments` (more columns for other feedback or
marking workflow). `Identifier` is `Participant <id>`: the same participant id that names the folders of
Moodle's submissions zip, hence the grader's student id. Upload the file back with "Upload grading worksheet".

We read the worksheet Moodle gave, and write it back unchanged but for `Grade`: the student's score after the
late policy (the course's total, or one exercise's with `exercise`), scaled to the row's `Maximum Grade`.
Rows of students the grader did not grade, and rows whose `Grade can be changed` is `No`, keep their grade.
Moodle matches rows by `Identifier` and compares `Last modified (grade)` to refuse overwriting a grade changed
since the download, so both are written back exactly as read; only `Full name` and `Email address` go through
grader/textsafe.py (one leading `'` before a formula; Moodle does not read them back).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..files import write_atomic
from ..late import final_score
from ..roster import participant_id
from ..textsafe import csv_cell

REQUIRED = ("Identifier", "Grade", "Maximum Grade")
STUDENT_TEXT = frozenset({"Full name", "Email address"})


@dataclass
class WorksheetResult:
    text: str
    graded: int = 0
    not_in_worksheet: list[str] = field(default_factory=list)  # graded students Moodle did not list
    locked: list[str] = field(default_factory=list)  # rows whose grade cannot be changed


def _score(report: dict[str, Any], exercise: str | None) -> tuple[float, float] | None:
    """(score after the late policy, maximum) of the total or of one exercise."""
    if exercise is None:
        return final_score(report), report["max_score"]
    for ex in report["exercises"]:
        if ex["id"] == exercise:
            return final_score(ex), ex["max_score"]
    return None


def _number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", "."))  # Moodle formats grades in the site's locale
    except ValueError:
        return None


def fill_worksheet(worksheet: str, reports: list[dict[str, Any]], exercise: str | None = None) -> WorksheetResult:
    """The worksheet's text with `Grade` filled in from `reports`; UsageError when it is not a Moodle worksheet."""
    rows = list(csv.reader(io.StringIO(worksheet.lstrip("\ufeff"))))
    if not rows or any(c not in rows[0] for c in REQUIRED):
        raise UsageError("not a Moodle grading worksheet: it needs the columns " + ", ".join(REQUIRED)
                         + (f"; it has {', '.join(rows[0])}" if rows else ""))
    header = rows[0]
    ident, grade, maximum = (header.index(c) for c in REQUIRED)
    changeable = header.index("Grade can be changed") if "Grade can be changed" in header else None
    by_student = {r["student"]: r for r in reports}
    result = WorksheetResult("")
    seen: set[str] = set()
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(header)
    for row in rows[1:]:
        row = row + [""] * (len(header) - len(row))
        # Moodle's own cells are written back as read; the student's name and email are neutralised for spreadsheets
        cells = [csv_cell(c) if header[i] in STUDENT_TEXT else c for i, c in enumerate(row)]
        student = participant_id(row[ident])
        report = by_student.get(student)
        score = _score(report, exercise) if report is not None else None
        top = _number(row[maximum])
        if score is not None and top is not None:
            seen.add(student)
            if changeable is not None and row[changeable].strip().lower() == "no":
                result.locked.append(student)
            else:
                points, most = score
                cells[grade] = f"{(points / most * top if most else 0.0):.2f}"
                result.graded += 1
        out.writerow(cells)
    result.not_in_worksheet = sorted(set(by_student) - seen)
    result.text = buffer.getvalue()
    return result


def write_moodle_worksheet(worksheet: Path, reports: list[dict[str, Any]], target: Path,
                           exercise: str | None = None) -> WorksheetResult:
    """Read `worksheet`, write it filled in to `target` (atomically)."""
    try:
        text = worksheet.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"worksheet {worksheet}: cannot be read ({exc})") from None
    try:
        result = fill_worksheet(text, reports, exercise)
    except UsageError as exc:
        raise UsageError(f"worksheet {worksheet}: {exc}") from None
    write_atomic(target, result.text)
    return result
