"""Late work: how many days late each exercise of a student is, and the late policy applied to its score.

Days late come from, in this order:
1. the instructor's list (`--late-days FILE`: CSV `student,days[,exercise]`; without an exercise the days
   count for every exercise), for what the zip does not say;
2. the file's time where the zip keeps it (Moodle writes each file's own time; read in the course's time
   zone) against the exercise's due date in course.toml;
3. Canvas's LATE flag, which says late but not by how much: counted as 1 day (a warning asks for the list).
A student's extensions in course.toml (days) move the due date, so they are taken off the days late.

The policy (grader/course.py `LatePolicy`) takes a part of the exercise's score: the score the checks and
a person gave, written answers included once scored (points still pending are not in it). report.json keeps
the raw `score` and adds `final_score` and `late` (days, where they came from, the part taken) per exercise,
and `final_score` for the student; `refinal` recomputes them when a score changes (`grade review`).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .course import CourseSettings, LatePolicy
from .errors import UsageError
from .roster import Identity, participant_id

LateList = dict[tuple[str, str | None], float]  # (student, exercise or None for all) -> days late


@dataclass(frozen=True)
class Lateness:
    days: int
    source: str  # list | file_time | lms


def read_late_days(path: Path) -> LateList:
    """The instructor's list of days late: CSV with columns `student`, `days` and optionally `exercise`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"late days {path}: cannot be read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    if not {"student", "days"} <= set(reader.fieldnames or []):
        raise UsageError(f"late days {path}: needs the columns student and days (and optionally exercise)")
    days: LateList = {}
    for line, row in enumerate(reader, start=2):
        try:
            value = float(row["days"] or "")
        except ValueError:
            raise UsageError(f"late days {path}: line {line}: days {row['days']!r} is not a number") from None
        if value < 0 or not math.isfinite(value):
            raise UsageError(f"late days {path}: line {line}: days must be 0 or more")
        days[(participant_id(row["student"] or ""), (row.get("exercise") or "").strip() or None)] = value
    return days


def days_between(submitted: datetime, due: datetime) -> int:
    """Whole days late, any part of a day counting as one; 0 when on time."""
    late = submitted - due
    return max(0, math.ceil(late / timedelta(days=1))) if late > timedelta(0) else 0


def lateness(student: str, exercise: str, notebook: str | None, identity: Identity | None,
             settings: CourseSettings, listed: LateList) -> Lateness | None:
    """How late `student`'s `exercise` is, or None when nothing says it is late."""
    extension = sum(e.days for e in settings.extensions if e.student == student and e.exercise in (None, exercise))
    given = listed.get((student, exercise), listed.get((student, None)))
    if given is not None:
        return _late(math.ceil(given - extension), "list")
    if not notebook:
        return None  # nothing handed in: nothing late
    files = [f for f in (identity.files if identity else ()) if f.get("file") == notebook]
    due = settings.due_date(exercise, student)
    modified = next((f["modified"] for f in files if f.get("modified")), None)
    if due is not None and modified:
        submitted = datetime.fromisoformat(modified)
        if due.tzinfo is not None:
            submitted = submitted.replace(tzinfo=settings.timezone or due.tzinfo)
        return _late(days_between(submitted, due), "file_time")
    flagged = any(f.get("late") for f in files) if files else bool(identity and identity.late)
    return _late(math.ceil(1 - extension), "lms") if flagged else None


def _late(days: int, source: str) -> Lateness | None:
    return Lateness(days, source) if days > 0 else None


def apply_late(data: dict[str, Any], late: dict[str, Lateness], policy: LatePolicy) -> dict[str, Any]:
    """Record each late exercise's days and penalty in a report dict and compute the final scores."""
    for ex in data["exercises"]:
        found = late.get(ex["id"])
        ex.pop("late", None)
        if found is not None:
            ex["late"] = {"days": found.days, "source": found.source, "penalty": _num(policy.fraction(found.days))}
    return refinal(data)


def refinal(data: dict[str, Any]) -> dict[str, Any]:
    """`final_score` of every late exercise and of the student from the raw scores (none when nothing is late)."""
    data.pop("final_score", None)
    late = False
    for ex in data["exercises"]:
        ex.pop("final_score", None)
        if "late" in ex:
            ex["final_score"] = _num(ex["score"] * (1 - ex["late"]["penalty"]))
            late = True
    if late:
        data["final_score"] = _num(sum(ex.get("final_score", ex["score"]) for ex in data["exercises"]))
    return data


def final_score(entry: dict[str, Any]) -> float:
    """An exercise's or a report's score after the late policy (the raw score when it was on time)."""
    return entry.get("final_score", entry["score"])


def _num(value: float) -> float | int:
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value
