"""The grader's one exception family: everything raised on purpose derives from GraderError.

Each class carries the exit code `grade` ends with when it reaches the command line (grader/cli.py maps them
in one place): 2 when the person running the grader can fix it (a bad option, path, rubric, course notebook or
student notebook), 3 when the grader itself failed, 130 when it was interrupted. Errors from other libraries
are translated into these where they enter (nbformat, jsonschema, ...), with a message naming the file.
"""

from __future__ import annotations

EXIT_FAILED = 1  # what was checked did not pass (`grade check`, `grade verify`): no error class
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C


class GraderError(Exception):
    """Root of every error the grader raises on purpose; on its own, the grader itself failed."""

    exit_code = EXIT_INTERNAL


class UsageError(GraderError):
    """The instructor or student asked for something that cannot be done (bad path, bad option)."""

    exit_code = EXIT_USAGE


class NotebookError(GraderError):
    """A submitted file cannot be graded as a notebook (not JSON, not a notebook, bad nbformat...)."""

    exit_code = EXIT_USAGE


class RubricError(GraderError):
    """A rubric file is invalid; the message names the file and the field."""

    exit_code = EXIT_USAGE


class CourseError(GraderError):
    """The course's own material (a reference or exercise notebook) cannot be used; the message names the file."""

    exit_code = EXIT_USAGE


class ReferenceUnavailable(CourseError):
    """A check needs the reference solution and the course folder has none (a student bundle never has it)."""


class AssignError(CourseError):
    """A reference notebook's solution markers are malformed."""


class SandboxError(GraderError):
    """The requested isolation cannot be provided on this machine."""

    exit_code = EXIT_USAGE


class WorkerMismatch(GraderError):
    """A dask worker would grade differently from this machine (another grader, another isolation)."""

    exit_code = EXIT_USAGE


class KernelError(GraderError):
    """The student's kernel could not be started or stopped answering."""


class KernelDied(KernelError):
    """The student's kernel process ended while it was running something."""


class CallTimeout(GraderError):
    """A call into the student's kernel did not finish within its time limit."""


class ProtocolError(GraderError):
    """The kernel sent back data that is malformed, too large or not what was asked for."""


class DiskFull(GraderError):
    """The disk holding OUT (or a file the grader writes) has no space or quota left: nothing more can be written."""


class ReadOnlyOut(UsageError):
    """The folder the grader must write to is on a read-only file system or not writable by this user."""


class Interrupted(GraderError):
    """The instructor stopped a batch (Ctrl-C); what was finished is kept."""

    exit_code = EXIT_INTERRUPTED


class EnvironmentProblem(GraderError):
    """The grader's own environment cannot run a kernel (found by the probe notebook before a batch)."""

    exit_code = EXIT_INTERNAL
