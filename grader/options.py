"""What decides a grade besides the submission itself: the course, isolation, limits, secret, visibilities.

`grading_options` is the one place these are assembled (`grade run`, `grade verify`, `grade check` and the
Gradescope autograder all go through it); every limit left out keeps its `sandbox.Limits` default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .course import Course, load_course
from .sandbox import IsolationReport, Limits, resolve_isolation
from .scoring import ManualScores

MIB = 1024**2


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
    factory_address: str | None = None  # where the batch process lends its factory to workers (factory_share.py)


def grading_options(course: Course | Path, *, isolation: str | IsolationReport = "auto", secret: bytes = b"",
                    cell_timeout: float | None = None, notebook_timeout: float | None = None,
                    memory_mb: int | None = None, torch_threads: int | None = None,
                    visibilities: tuple[str, ...] = ("public", "hidden"),
                    manual_scores: dict[str, ManualScores] | None = None, warm_start: bool = True) -> GradingOptions:
    """GradingOptions for `course` (a Course, or a folder to load); a limit given as None keeps its default.

    `isolation` is a level to resolve now ("auto", "strict", "none"; strict without bubblewrap raises
    SandboxError) or an IsolationReport already resolved (and shown to the user).
    """
    overrides = {"cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout, "torch_threads": torch_threads,
                 "memory_bytes": None if memory_mb is None else memory_mb * MIB}
    limits = replace(Limits(), **{name: value for name, value in overrides.items() if value is not None})
    return GradingOptions(
        course if isinstance(course, Course) else load_course(course),
        isolation if isinstance(isolation, IsolationReport) else resolve_isolation(isolation),
        limits, secret, tuple(visibilities), dict(manual_scores or {}), warm_start)
