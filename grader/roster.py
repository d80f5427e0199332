"""Who a student is in the LMS: the name and id the submissions zip carried, and a roster's real name.

The gradebook's student id is the folder name (grader/intake.py): a Canvas user id, `anon_<id>` under
anonymous grading, or a Moodle participant id. The zip also says a name (Canvas: the lowercased sortable
name, `smithjohn`, none under anonymous grading; Moodle: the full name of the folder) and, for Canvas,
LATE; `OUT/.instructor/intake/students.json` keeps both. A roster (`--roster FILE`, the LMS's gradebook
export, or Moodle's grading worksheet) maps ids to real names: its id column is Canvas's `ID` (the user
id), `SIS User ID` or `SIS Login ID` (students graded from a folder named so), Moodle's `Identifier`
(`Participant 1234567`), or a plain `id`/`student`; its name column `Student` (Canvas writes
`Last, First`), `Full name`, `Name`, or `First name` + `Last name`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

MANIFEST = "students.json"  # grader/intake.py writes it
_ID_COLUMNS = ("ID", "SIS User ID", "SIS Login ID", "Identifier", "id", "student", "Student ID")
_NAME_COLUMNS = ("Student", "Full name", "Name", "name")
_PARTICIPANT = re.compile(r"^\s*Participant\s+(\d+)\s*$", re.I)


@dataclass(frozen=True)
class Identity:
    """What the LMS knows of one student; every part may be empty."""

    lms: str = ""  # canvas | moodle | "" (graded from a folder)
    lms_id: str = ""  # Canvas user id / anon id, Moodle participant id
    lms_name: str = ""  # the name the zip carried
    name: str = ""  # the roster's name
    late: bool = False  # Canvas marked the submission LATE
    files: tuple[dict[str, Any], ...] = field(default=())  # the manifest's files: file, entry, late, modified

    def as_dict(self) -> dict[str, Any]:
        """report.json's `lms` object (empty parts left out)."""
        data = {"system": self.lms, "id": self.lms_id, "name": self.lms_name, "real_name": self.name}
        return {k: v for k, v in data.items() if v} | ({"late": True} if self.late else {})


def participant_id(identifier: str) -> str:
    """Moodle's `Participant 1234567` -> `1234567`; any other id as it is."""
    match = _PARTICIPANT.match(identifier)
    return match.group(1) if match else identifier.strip()


def read_roster(path: Path) -> dict[str, str]:
    """id -> real name from a roster CSV; several id columns may each name the student. UsageError when unusable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"roster {path}: cannot be read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    ids = [c for c in columns if c.strip() in _ID_COLUMNS]
    names = [c for c in columns if c.strip() in _NAME_COLUMNS]
    first_last = [c for c in columns if c.strip() in ("First name", "Last name")]
    if not ids or not (names or len(first_last) == 2):
        raise UsageError(f"roster {path}: needs an id column ({', '.join(_ID_COLUMNS)}) and a name column "
                         f"({', '.join(_NAME_COLUMNS)}, or First name and Last name); it has {', '.join(columns)}")
    roster: dict[str, str] = {}
    for row in reader:
        if (row.get(names[0]) if names else "") and "points possible" in (row.get(names[0]) or "").lower():
            continue  # Canvas's points row
        name = (row.get(names[0]) or "").strip() if names else " ".join(
            (row.get(c) or "").strip() for c in first_last).strip()
        for column in ids:
            key = participant_id(row.get(column) or "")
            if key and name:
                roster.setdefault(key, name)
    return roster


def read_intake(intake_dir: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """The LMS and the per-student entries of the last zip unpacked into `intake_dir` (empty when none)."""
    try:
        manifest = json.loads((intake_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "", {}
    if not isinstance(manifest, dict) or not isinstance(manifest.get("students"), dict):
        return "", {}
    return str(manifest.get("lms", "")), manifest["students"]


def identities(intake_dir: Path, roster: dict[str, str] | None = None) -> dict[str, Identity]:
    """Every student the intake or the roster knows, by gradebook id."""
    lms, students = read_intake(intake_dir)
    roster = roster or {}
    known: dict[str, Identity] = {}
    for student, entry in students.items():
        lms_id = student.removeprefix("anon_") if lms == "canvas" and student.startswith("anon_") else student
        known[student] = Identity(lms, lms_id, str(entry.get("name", "")), roster.get(student, ""),
                                  bool(entry.get("late")), tuple(entry.get("files", [])))
    for student, name in roster.items():
        known.setdefault(student, Identity(name=name))
    return known
