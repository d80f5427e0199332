"""What the LMS and the course say about a student, added to their report: identity and lateness.

`lms_context` gathers, once per batch, the identities of the last unpacked zip (grader/roster.py), the
roster, the instructor's late-days list and course.toml's settings; `annotate` adds to one report dict its
`lms` object (system, id, the zip's name, the roster's real name, LATE) and the late policy (grader/late.py).
What students and the class summary are told of it (`who`, `late_lines`, `after_policy`) are catalogue messages
(grader/messages.py, `late.*`), built from report.json's `lms` and `late` fields and rendered in the reader's
language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .course import Course, CourseSettings
from .late import LateList, apply_late, lateness, read_late_days
from .messages import Message, msg, verbatim
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
    A Message (grader/messages.py) to render in the reader's language; the name in it is student-controlled
    text: escape it where it is shown (grader/textsafe.py, html.escape)."""
    lms = report.get("lms", {})
    name = lms.get("real_name") or lms.get("name", "")
    if not lms.get("late"):
        return verbatim(name) if name else ""
    return msg("late.named_flag", name=verbatim(name)) if name else msg("late.flag")


def late_lines(report: dict[str, Any]) -> list[Message]:
    """One message per late exercise: days, the part taken, the score after and before the policy."""
    lines = []
    for ex in report["exercises"]:
        late = ex.get("late")
        if late:
            lines.append(msg("late.one_day" if late["days"] == 1 else "late.days", exercise=ex["id"],
                             days=late["days"], percent=f"{late['penalty'] * 100:g}",
                             final=f"{ex['final_score']:g}", max=f"{ex['max_score']:g}", score=f"{ex['score']:g}"))
    return lines


def after_policy(report: dict[str, Any]) -> str:
    """`smithjohn LATE · 11.2 after the late policy`: who the student is and their final score, as a Message
    (grader/messages.py); "" when the LMS and the late policy say nothing."""
    name = who(report)
    if "final_score" not in report:
        return name
    final = f"{report['final_score']:g}"
    return msg("late.named_after_policy", name=name, final=final) if name else msg("late.after_policy", final=final)
