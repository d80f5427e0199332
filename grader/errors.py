"""The grader's one exception family: everything raised on purpose derives from GraderError."""

from __future__ import annotations


class GraderError(Exception):
    """Root of every error the grader raises on purpose."""


class UsageError(GraderError):
    """The instructor or student asked for something that cannot be done (bad path, bad option)."""


class NotebookError(GraderError):
    """A submitted file cannot be graded as a notebook (not JSON, not a notebook, bad nbformat...)."""


class RubricError(GraderError):
    """A rubric file is invalid; the message names the file and the field."""


class AssignError(GraderError):
    """A reference notebook's solution markers are malformed."""


class SandboxError(GraderError):
    """The requested isolation cannot be provided on this machine."""


class KernelError(GraderError):
    """The student's kernel could not be started or stopped answering."""


class KernelDied(KernelError):
    """The student's kernel process ended while it was running something."""


class CallTimeout(GraderError):
    """A call into the student's kernel did not finish within its time limit."""


class ProtocolError(GraderError):
    """The kernel sent back data that is malformed, too large or not what was asked for."""


class Interrupted(GraderError):
    """The instructor stopped a batch (Ctrl-C); what was finished is kept."""


class VerifyError(GraderError):
    """`grade verify` found course material that does not hold up."""


class EnvironmentProblem(GraderError):
    """The grader's own environment cannot run a kernel (found by the probe notebook before a batch)."""
