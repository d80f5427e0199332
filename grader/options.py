"""What decides a grade besides the submission itself: the course, isolation, limits, secret, visibilities."""

from __future__ import annotations

from dataclasses import dataclass, field

from .course import Course
from .sandbox import IsolationReport, Limits
from .scoring import ManualScores


@dataclass(frozen=True)
class GradingOptions:
    """Everything that decides a grade besides the submission itself."""

    course: Course
    isolation: IsolationReport
    limits: Limits = field(default_factory=Limits)
    secret: bytes = b""
    visibilities: tuple[str, ...] = ("public", "hidden")
    manual_scores: dict[str, ManualScores] = field(default_factory=dict)
    warm_start: bool = True  # fork kernels from a warm kernel factory where possible (grader/warm.py)
