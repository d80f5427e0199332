"""gradebook_canvas.csv: Canvas's gradebook import format (Grades > Import), one column per exercise.

Canvas reads `Student, ID, SIS User ID, SIS Login ID, Section`, then one column per assignment (a new
column name creates the assignment; an existing assignment's name updates it), and an optional
`Points Possible` row. The student id (the submission's folder or file name) fills `Student`,
`SIS User ID` and `SIS Login ID`, so Canvas matches it by either SIS id, else by name; `ID` (Canvas's
internal number) is left empty. Students graded from a Canvas submissions zip (grader/intake.py) are
named by their Canvas user id: for them that id fills `ID` and the SIS columns stay empty. Under anonymous
grading the zip names students `anon_<anonymous id>`, which is no user id and no SIS id: their rows keep the
id in `Student` only (every id column empty, so Canvas's import matches no one by mistake), and
`anonymous_students` names them for a warning (enter those grades in SpeedGrader, which shows the same
anonymous ids). Scores are after the late policy (course.toml, grader/late.py): a late exercise's `final_score`.

Student cells go through grader/textsafe.py (`csv_cell`): one that a spreadsheet could run as a formula, or
a student named `Points Possible`, gets a leading `'` (and quotes), so no student id forges a formula or
Canvas's points row; `textsafe.csv_value` reads the id back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Collection

from ..files import write_atomic
from ..late import final_score
from ..textsafe import Verbatim, csv_text

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]

_POINTS_POSSIBLE = Verbatim("Points Possible")  # the grader's own row: the one cell of that text kept as is


def canvas_csv(reports: list[dict[str, Any]], exercises: list[tuple[str, float]],
               canvas_ids: Collection[str] = ()) -> str:
    """The CSV text; `exercises` are (exercise id, maximum points) in rubric order; `canvas_ids` the
    students whose id is their Canvas user id."""
    rows: list[list[Any]] = [[*HEADER, *[exercise for exercise, _ in exercises]],
                             [_POINTS_POSSIBLE, "", "", "", "", *[f"{points:g}" for _, points in exercises]]]
    for report in sorted(reports, key=lambda r: r["student"]):
        scores = {ex["id"]: final_score(ex) for ex in report["exercises"]}
        student = report["student"]
        if student in canvas_ids:
            ids = [student, "", ""] if student.isdigit() else ["", "", ""]  # anon_<id>: matches no Canvas column
        else:
            ids = ["", student, student]
        rows.append([student, *ids, "", *[f"{scores.get(e, 0):g}" for e, _ in exercises]])
    return csv_text(rows)


def anonymous_students(reports: list[dict[str, Any]], canvas_ids: Collection[str]) -> list[str]:
    """Students of a Canvas zip under anonymous grading: Canvas's gradebook import cannot match them."""
    return sorted(r["student"] for r in reports if r["student"] in canvas_ids and not r["student"].isdigit())


def write_canvas(reports: list[dict[str, Any]], exercises: list[tuple[str, float]], path: Path,
                 canvas_ids: Collection[str] = ()) -> None:
    write_atomic(path, canvas_csv(reports, exercises, canvas_ids))
