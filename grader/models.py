"""The results of grading, as frozen dataclasses. Formats live in reporters/, not here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CheckStatus = Literal["passed", "failed", "error", "timeout", "manual"]
ExerciseStatus = Literal["graded", "missing", "not_gradable"]
REFERENCE_UNAVAILABLE = "reference_unavailable"  # Outcome.reason: the check needs reference/, which is not there


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: CheckStatus
    points: float
    max_points: float
    visibility: str
    message: str
    hint: str = ""
    pending: float = 0.0  # points awaiting a person's score (not counted in `points`)


@dataclass(frozen=True)
class QuestionResult:
    id: str
    title: str
    checks: tuple[CheckResult, ...]

    @property
    def score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.checks)

    @property
    def pending(self) -> float:
        return sum(c.pending for c in self.checks)


@dataclass(frozen=True)
class CellNote:
    """What happened to one cell of the student's notebook (timeout, kernel death, truncated output)."""

    cell_index: int
    kind: str
    message: str


@dataclass(frozen=True)
class ExerciseResult:
    id: str
    status: ExerciseStatus
    message: str
    questions: tuple[QuestionResult, ...]
    notebook: str | None = None
    cells: tuple[CellNote, ...] = field(default=())
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    @property
    def pending(self) -> float:
        return sum(q.pending for q in self.questions)


@dataclass(frozen=True)
class StudentReport:
    student: str
    exercises: tuple[ExerciseResult, ...]
    isolation: dict
    grader_version: str
    graded_at: str

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    @property
    def pending(self) -> float:
        return sum(e.pending for e in self.exercises)


@dataclass(frozen=True)
class Outcome:
    """How one check ended. `message` is safe to show the student; `detail` is for the instructor only."""

    check_id: str
    status: str  # passed | failed | error | timeout
    message: str
    detail: str = ""
    reason: str = ""  # why an `error` check could not run, when the grader knows: REFERENCE_UNAVAILABLE
    misconception: str = ""  # the reference/wrong/ stem a failed check recognised (Feedback(misconception=...))


@dataclass(frozen=True)
class ExerciseRun:
    """One notebook run with its checks, before scoring: the expensive part of grading, and what is cached."""

    exercise: str
    status: str  # "graded" | "not_gradable"
    message: str
    notebook: str | None
    outcomes: tuple[Outcome, ...] = ()
    answers: dict[str, str | None] = field(default_factory=dict)
    cells: tuple[CellNote, ...] = ()
    seconds: float = 0.0
    collection_errors: tuple[str, ...] = ()
    unmapped: tuple[str, ...] = ()
    grader_error: str = ""  # the traceback when the grader itself failed on this notebook

    def details(self) -> dict[str, Any]:
        """The instructor's view: every failed check's traceback, and checks that did not load or map."""
        return {
            "checks": {o.check_id: {"status": o.status, "detail": o.detail,
                                    **({"reason": o.reason} if o.reason else {}),
                                    **({"misconception": o.misconception} if o.misconception else {})}
                       for o in self.outcomes if o.detail},
            "collection_errors": list(self.collection_errors),
            "unmapped_tests": list(self.unmapped),
            **({"grader_error": self.grader_error} if self.grader_error else {}),
        }
