"""Pure class statistics over report dicts: what summary.html shows."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import Any

from ..lms import after_policy
from ..layout import OutLayout


@dataclass(frozen=True)
class Rate:
    """How a question or check went over the graded submissions."""

    id: str  # <exercise>.<question> or a check id
    graded: int
    full: int  # full marks (a check: passed)
    mean_fraction: float
    awaiting: int = 0  # submissions whose points here still await a person's score (not in `graded`)
    failed: tuple[str, ...] = ()  # a check: the students who did not pass it

    @property
    def rate(self) -> float:
        return self.full / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class Problem:
    student: str
    exercise: str
    status: str
    message: str


@dataclass(frozen=True)
class Misconception:
    """How many students a check recognised a known misconception in (the stem of a reference/wrong/ solution)."""

    check: str
    tag: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class ClassStats:
    totals: tuple[tuple[str, float, float], ...]  # student, score, max_score
    questions: tuple[Rate, ...]
    checks: tuple[Rate, ...]  # automatic checks, lowest pass rate first
    slowest: tuple[tuple[str, float], ...]  # student, seconds
    problems: tuple[Problem, ...]  # exercises not graded
    pending: tuple[tuple[str, float], ...] = ()  # student, points awaiting review (students with some only)
    people: tuple[tuple[str, str], ...] = ()  # student, name and lateness (grader/lms.py; students with some only)
    misconceptions: tuple[Misconception, ...] = ()  # most students first

    @property
    def max_score(self) -> float:
        return max((m for _, _, m in self.totals), default=0.0)

    def mean(self) -> float:
        return statistics.fmean(s for _, s, _ in self.totals) if self.totals else 0.0

    def median(self) -> float:
        return statistics.median(s for _, s, _ in self.totals) if self.totals else 0.0


Tags = dict[str, dict[str, str]]  # student -> check id -> misconception tag


def _rate(key: str, fractions: list[float], awaiting: int = 0, failed: tuple[str, ...] = ()) -> Rate:
    return Rate(key, len(fractions), sum(1 for f in fractions if f >= 1.0),
                statistics.fmean(fractions) if fractions else 0.0, awaiting, failed)


def read_tags(layout: OutLayout, students: list[str]) -> Tags:
    """The misconception tags of each student's failed checks, from the instructor's details in OUT/.instructor."""
    tags: Tags = {}
    for student in students:
        try:
            details = json.loads(layout.details(student).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found = {check: entry["misconception"] for exercise in details.values() if isinstance(exercise, dict)
                 for check, entry in (exercise.get("checks") or {}).items()
                 if isinstance(entry, dict) and entry.get("misconception")}
        if found:
            tags[student] = found
    return tags


def class_stats(reports: list[dict[str, Any]], manual_ids: frozenset[str] = frozenset(),
                slowest: int = 5, tags: Tags | None = None) -> ClassStats:
    """Statistics over `reports`; `manual_ids` are written-answer items, left out of the per-check rates.

    `tags` (read_tags) are the misconceptions the checks recognised, counted for the checks that failed."""
    failed: dict[str, list[str]] = {}
    showed: dict[tuple[str, str], list[str]] = {}
    questions: dict[str, list[float]] = {}
    awaiting: dict[str, int] = {}
    checks: dict[str, list[float]] = {}
    manual = set(manual_ids)
    problems: list[Problem] = []
    seconds: list[tuple[str, float]] = []
    for report in sorted(reports, key=lambda r: r["student"]):
        seconds.append((report["student"], sum(e.get("seconds", 0.0) for e in report["exercises"])))
        for ex in report["exercises"]:
            if ex["status"] != "graded":
                problems.append(Problem(report["student"], ex["id"], ex["status"], ex["message"]))
                continue
            for q in ex["questions"]:
                key = f"{ex['id']}.{q['id']}"
                if q.get("pending", 0):  # not scored yet: neither a pass nor a fail
                    questions.setdefault(key, [])
                    awaiting[key] = awaiting.get(key, 0) + 1
                elif q["max_score"] > 0:
                    questions.setdefault(f"{ex['id']}.{q['id']}", []).append(q["score"] / q["max_score"])
                for c in q["checks"]:
                    if c["status"] == "manual":
                        manual.add(c["id"])
                    checks.setdefault(c["id"], []).append(1.0 if c["status"] == "passed" else 0.0)
                    if c["status"] not in ("passed", "manual"):
                        failed.setdefault(c["id"], []).append(report["student"])
                        tag = (tags or {}).get(report["student"], {}).get(c["id"])
                        if tag:
                            showed.setdefault((c["id"], tag), []).append(report["student"])
    check_rates = sorted((_rate(k, v, failed=tuple(failed.get(k, ()))) for k, v in checks.items() if k not in manual),
                         key=lambda r: (r.rate, r.id))
    seconds.sort(key=lambda item: -item[1])
    ordered = sorted(reports, key=lambda r: r["student"])
    return ClassStats(
        tuple((r["student"], float(r["score"]), float(r["max_score"])) for r in ordered),
        tuple(_rate(k, v, awaiting.get(k, 0)) for k, v in questions.items()),
        tuple(check_rates),
        tuple(item for item in seconds[:slowest] if item[1] > 0),
        tuple(problems),
        tuple((r["student"], float(r["pending"])) for r in ordered if r.get("pending")),
        tuple((r["student"], _person(r)) for r in ordered if _person(r)),
        tuple(sorted((Misconception(check, tag, tuple(students)) for (check, tag), students in showed.items()),
                     key=lambda m: (-len(m.students), m.check, m.tag))),
    )


def _person(report: dict[str, Any]) -> str:
    """`smithjohn LATE · 11.2 after the late policy` (a Message: summary.html renders it in its language)."""
    return after_policy(report)
