"""What the LMS and the course say about a student, added to their report: identity and lateness.

`lms_context` gathers, once per batch, the identities of the last unpacked zip (grader/roster.py), the
roster, the instructor's late-days list and course.toml's settings; `annotate` adds to one report dict its
`lms` object (system, id, the zip's name, the roster's real name, LATE) and the late policy (grader/late.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .course import Course, CourseSettings
from .late import LateList, apply_late, lateness, read_late_days
from .roster import Identity, identities, read_roster


@dataclass(frozen=True)
class LmsInputs:
    """The instructor's files: `--roster` and `--late-days`."""

    roster: Path | None = None
    late_days: Path | None = None


@dataclass(frozen=True)
class LmsContext:
    settings: CourseSettings = CourseSettings()
    people: dict[str, Identity] = field(default_factory=dict)
    late_days: LateList = field(default_factory=dict)


def lms_context(intake_dir: Path, course: Course, inputs: LmsInputs | None) -> LmsContext:
    """Read the intake manifest, the roster and the late-days list (UsageError for an unusable file)."""
    inputs = inputs or LmsInputs()
    roster = read_roster(inputs.roster) if inputs.roster else {}
    late_days = read_late_days(inputs.late_days) if inputs.late_days else {}
    return LmsContext(getattr(course, "settings", CourseSettings()), identities(intake_dir, roster), late_days)


def annotate(data: dict[str, Any], context: LmsContext, warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Add the student's `lms` identity and the late policy to a report dict (in place; returned)."""
    student = data["student"]
    identity = context.people.get(student)
    if identity is not None and identity.as_dict():
        data["lms"] = identity.as_dict()
    late = {}
    for ex in data["exercises"]:
        found = lateness(student, ex["id"], ex.get("notebook"), identity, context.settings, context.late_days)
        if found is not None:
            late[ex["id"]] = found
            if found.source == "lms" and warn:
                warn(f"student {student}: {ex['id']} is marked LATE by Canvas, days late unknown: counted as 1 "
                     "(give them with --late-days FILE)")
    return apply_late(data, late, context.settings.late)


def who(report: dict[str, Any]) -> str:
    """The student's name as the LMS and roster know it, `LATE` when Canvas said so; "" when unknown.
    Student-controlled text: escape it where it is shown (grader/textsafe.py, html.escape)."""
    lms = report.get("lms", {})
    return " ".join(filter(None, [lms.get("real_name") or lms.get("name", ""), "LATE" if lms.get("late") else ""]))


def late_lines(report: dict[str, Any]) -> list[str]:
    """One line per late exercise: days, the part taken, the score after and before the policy."""
    lines = []
    for ex in report["exercises"]:
        late = ex.get("late")
        if late:
            days = f"{late['days']} day{'s' * (late['days'] != 1)}"
            lines.append(f"{ex['id']}: {days} late, {late['penalty'] * 100:g}% taken by the late policy: "
                         f"{ex['final_score']:g}/{ex['max_score']:g} (before: {ex['score']:g})")
    return lines
