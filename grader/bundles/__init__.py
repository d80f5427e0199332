"""Course bundles: the Gradescope autograder zip and what students receive (`grade export gradescope|student`).

Both are built from a course folder and this grader's own source; `autograder.py` is what the Gradescope
bundle's `run_autograder` runs on each submission.
"""

from __future__ import annotations

from .gradescope import build_gradescope_bundle
from .student import build_student_bundle

__all__ = ["build_gradescope_bundle", "build_student_bundle"]
