"""Students' self-check: the public checks of one exercise, and how many hidden checks are to come.

`grade check NOTEBOOK` runs the notebook in a sandboxed kernel (`check_notebook`); `grader.check(...)` in
Jupyter runs the checks on the live kernel (grader/live.py). Both produce a `SelfCheck`, which
grader/reporters/selfcheck.py shows (text, HTML, Markdown, a terminal table) and grader/reporters/junit.py
writes as JUnit XML. Nothing here needs the instructor secret, hidden checks or known-wrong solutions; checks
that use the reference solution come back `unavailable` when the course folder has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, AbstractSet, Any, Iterable

from .course import Course
from .discovery import MAX_EXTRA_FILE_BYTES
from .errors import UsageError
from .i18n import DEFAULT_LANG
from .models import REFERENCE_UNAVAILABLE, ExerciseResult, Outcome
from .notebook import exercise_id_of, load_notebook
from .rubric import Rubric

if TYPE_CHECKING:
    from .reporters.view import CheckView, QuestionView, SelfCheckView

PUBLIC_SECRET = b"grader-public-self-check"  # public checks draw no hidden randomness; a fixed seed suffices
PUBLIC_STUDENT = "self-check"


@dataclass(frozen=True)
class SelfCheck:
    """A public-only grading result, with what it takes to show it to the student (`view`).

    `questions`, `automatic` and `passed` are those of its view: which checks a student sees, and how they went.
    """

    result: ExerciseResult
    rubric: Rubric
    unavailable: frozenset[str] = frozenset()  # check ids that need the reference solution, which is not here
    asked: AbstractSet[str] | None = None  # the questions asked for (None: the whole exercise)
    notebook: str = ""

    def view(self, course: Any | None = None, lang: str = DEFAULT_LANG) -> SelfCheckView:
        """What the student sees, in `lang` (titles and hints translated from `course`)."""
        from .reporters.view import self_check_view

        return self_check_view(self, course, lang)

    @property
    def questions(self) -> tuple[QuestionView, ...]:
        return self.view().questions

    @property
    def automatic(self) -> list[CheckView]:
        """The public checks (written answers left out)."""
        return self.view().automatic

    @property
    def passed(self) -> bool:
        """Every public check passed (written answers do not count)."""
        return self.view().passed


def unavailable_checks(outcomes: Iterable[Outcome]) -> frozenset[str]:
    """The checks that could not run because the course folder has no reference solution."""
    return frozenset(o.check_id for o in outcomes if o.reason == REFERENCE_UNAVAILABLE)


def _sibling_files(notebook: Path) -> list[Path]:
    """The student's other files beside the notebook, as a batch submission folder would have them."""
    return [p for p in sorted(notebook.parent.iterdir())
            if p.is_file() and not p.is_symlink() and not p.name.startswith(".") and p.suffix.lower() != ".ipynb"
            and p.stat().st_size <= MAX_EXTRA_FILE_BYTES]


def check_notebook(path: Path, course: Course, isolation: str = "auto", exercise: str | None = None) -> SelfCheck:
    """Run one notebook in a sandboxed kernel and its exercise's public checks only."""
    from .kernel import KernelSession
    from .options import grading_options

    nb = load_notebook(path)
    exercise = exercise or exercise_id_of(nb, path.name, course.notebook_names())
    if exercise is None or exercise not in course.rubrics:
        known = ", ".join(f"{e} ({r.notebook})" for e, r in course.rubrics.items())
        raise UsageError(f"{path.name}: cannot tell which exercise this notebook answers (no grader metadata and "
                         f"its name matches none of {known}); use --exercise")
    options = grading_options(course, isolation=isolation, secret=PUBLIC_SECRET, visibilities=("public",),
                              warm_start=False)
    files = _sibling_files(path)
    # The kernel starts first; its torch import runs while this process loads pytest, the checks and its own
    # torch. One notebook: a kernel factory would pay the imports a cold kernel pays, and then fork.
    kernel = KernelSession(nb, files, options.isolation, options.limits, warm=False)
    kernel.start_in_background()
    with kernel:
        # Importing the checks' machinery (pytest, ...) meanwhile would hold the GIL against the launch's thread.
        kernel.launched.wait()
        from .exercise import grade_notebook

        graded = grade_notebook(nb, exercise, PUBLIC_STUDENT, files, options, notebook_name=path.name,
                                kernel=kernel)
    unavailable = frozenset(check_id for check_id, d in graded.details.get("checks", {}).items()
                            if d.get("reason") == REFERENCE_UNAVAILABLE)
    return SelfCheck(graded.result, course.rubrics[exercise], unavailable, notebook=path.name)
