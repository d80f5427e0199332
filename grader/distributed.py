"""Grading on a dask.distributed cluster: each notebook job is a task on a dask worker (`--executor dask`).

A task grades one notebook exactly as a local worker does (`jobs.run_job`: a sandboxed kernel started on
the dask worker's machine, checks and verdicts in the dask worker process, which is trusted like a local
worker). `DaskExecutor` is one of the two `jobs.JobExecutor`s. What crosses to a worker is plain picklable data:

- once per batch (scattered to every worker): the grading options without the instructor's manual scores, and
  the course material (`rubrics/`, `reference/`, `exercises/`) as bytes. A worker writes it once into a private
  folder named by its content hash, so workers need no shared filesystem and always grade with exactly the
  material whose fingerprint is in the cache key;
- per task: the notebook and the bytes of the student's other files (at most MAX_JOB_FILE_BYTES in all), which
  the worker writes into a scratch folder the sandbox copies them from.

The executed notebook comes back as text in the JobResult, as from a local worker, and the batch in this
process (the one running `grade`) writes it and the cache entry into OUT: workers never write there. Before grading, every worker must run the same
grader (code, Python and package versions: the cache key's fingerprint) and get the same isolation as this
machine, with one thread per worker process; otherwise connecting is a UsageError naming the worker.

The secret travels to the workers inside the options: the cluster must be trusted and its network private
(or use dask's TLS: a tls:// scheduler address with certificates in dask's configuration).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from .cache import grader_fingerprint
from .course import Course
from .errors import GraderError, SandboxError, UsageError, WorkerMismatch
from .jobs import JobResult, NotebookJob, close_worker, lost_job, run_job, setup_worker
from .options import GradingOptions
from .sandbox import bwrap_problem, resolve_isolation

CONNECT_TIMEOUT = 5.0  # seconds to reach the scheduler, and to find a worker connected to it
COURSE_FOLDERS = ("rubrics", "reference", "exercises")
MAX_COURSE_BYTES = 64 * 1024**2
MAX_JOB_FILE_BYTES = 64 * 1024**2  # a student's other files, sent with each of their notebooks
COURSES_DIR = Path(tempfile.gettempdir()) / f"grader-courses-{os.getuid()}"


# -- what crosses to a worker ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoursePack:
    """A course's material as bytes: (path relative to the course root, content), and their hash."""

    digest: str
    files: tuple[tuple[str, bytes], ...]


def pack_course(course: Course) -> CoursePack:
    """The files under the course's rubrics/, reference/ and exercises/ (no caches), at most MAX_COURSE_BYTES."""
    files, total = [], 0
    for folder in COURSE_FOLDERS:
        for path in sorted((course.root / folder).rglob("*")):
            if not path.is_file() or path.is_symlink() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            data = path.read_bytes()
            total += len(data)
            if total > MAX_COURSE_BYTES:
                raise UsageError(f"the course material under {course.root} is over {MAX_COURSE_BYTES // 1024**2} MiB, "
                                 "too much to send to dask workers")
            files.append((path.relative_to(course.root).as_posix(), data))
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return CoursePack(digest.hexdigest(), tuple(files))


def unpack_course(pack: CoursePack, parent: Path | None = None) -> Path:
    """The course's folder on this machine: written once per content, in a folder only this user can use."""
    parent = parent or COURSES_DIR
    parent.mkdir(mode=0o700, exist_ok=True)
    info = parent.lstat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not parent.is_dir() or parent.is_symlink():
        raise GraderError(f"{parent} is not a private folder of this user; remove it")
    final = parent / pack.digest
    if final.is_dir():
        return final
    scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=parent))
    try:
        for name, data in pack.files:
            path = scratch / name
            if scratch not in path.resolve().parents:
                raise GraderError(f"course file outside the course: {name}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            os.rename(scratch, final)
        except OSError:  # another worker process on this machine unpacked the same course first
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


@dataclass(frozen=True)
class RemoteState:
    """What every task of a batch shares: options (course root and manual scores left behind), course, identity."""

    options: GradingOptions
    course: CoursePack
    identity: dict[str, Any]


@dataclass(frozen=True)
class RemoteJob:
    """A NotebookJob without local paths (files=()), and the bytes of the student's other files."""

    job: NotebookJob
    files: tuple[tuple[str, bytes], ...]


def remote_job(job: NotebookJob) -> RemoteJob:
    """`job` ready to send; raises UsageError when the student's other files total over MAX_JOB_FILE_BYTES."""
    files, total = [], 0
    for path in job.files:
        data = path.read_bytes()
        total += len(data)
        if total > MAX_JOB_FILE_BYTES:
            raise UsageError(f"the student's other files are over the {MAX_JOB_FILE_BYTES // 1024**2} MiB that can be "
                             "sent to a dask worker")
        files.append((path.name, data))
    return RemoteJob(replace(job, files=()), tuple(files))


# -- on a dask worker ---------------------------------------------------------------------------------------------
def worker_identity(requested: str) -> dict[str, Any]:
    """What must match between this machine and every worker: the grader's fingerprint and the isolation."""
    try:
        report = resolve_isolation(requested)
        isolation: Any = {"level": report.level, "protections": report.protections}
        why = (bwrap_problem() or "") if report.level != "bwrap" else ""
    except SandboxError as exc:
        isolation = why = str(exc)
    return {"grader": grader_fingerprint(), "isolation": isolation, "why": why}


def identity_problem(found: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """None when a worker grades as this machine does, else what differs, in a few words."""
    if found.get("grader") != expected.get("grader"):
        return ("it runs another grader (its code, Python or package versions differ from this machine's; install "
                "the same grader there and restart its dask workers)")
    have, want = found.get("isolation"), expected.get("isolation")
    if have == want:
        return None
    if not isinstance(have, dict) or not isinstance(want, dict):
        return str(have)  # strict isolation cannot be had there: the reason
    if have.get("level") != want.get("level"):
        return (f"its isolation would be {have.get('level')}, here it is {want.get('level')} "
                f"({found.get('why') or 'bubblewrap works there'})")
    differ = sorted(k for k in {**have["protections"], **want["protections"]}
                    if have["protections"].get(k) != want["protections"].get(k))
    return f"its sandbox protections differ from this machine's: {', '.join(differ)}"


_ONE_AT_A_TIME = threading.Lock()  # pytest and the reference cache are per process: one notebook at a time


def grade_remote(state: RemoteState, job: RemoteJob) -> JobResult:
    """The task: grade one notebook on this worker; the result carries the executed notebook's text."""
    with _ONE_AT_A_TIME:
        problem = identity_problem(worker_identity(state.options.isolation.requested), state.identity)
        if problem is not None:
            raise WorkerMismatch(f"the dask worker on {socket.gethostname()} cannot grade it: {problem}")
        course = replace(state.options.course, root=unpack_course(state.course))
        # Slot 0 everywhere: the machine-wide uid lock (uid_pool.claim_uid) gives each concurrent sandbox,
        # of whichever worker process, a uid of its own.
        worker = setup_worker(replace(state.options, course=course), 0)
        try:
            with tempfile.TemporaryDirectory(prefix="grader-files-") as folder:
                paths = []
                for name, data in job.files:
                    path = Path(folder) / Path(name).name
                    path.write_bytes(data)
                    paths.append(path)
                return run_job(worker, replace(job.job, files=tuple(paths)))
        finally:
            close_worker(worker)  # a task leaves no kernel behind


# -- on the machine running `grade` -------------------------------------------------------------------------------
def worker_problems(identities: dict[str, Any], threads: dict[str, int], expected: dict[str, Any]) -> list[str]:
    """One line per worker that cannot grade this batch: another grader or isolation, or several threads."""
    problems = []
    for address in sorted(identities):
        found = identities[address]
        if isinstance(found, BaseException):
            problems.append(f"dask worker {address} failed to describe itself: {type(found).__name__}: {found}")
            continue
        problem = identity_problem(found, expected)
        if problem is not None:
            problems.append(f"dask worker {address}: {problem}")
        elif threads.get(address, 1) != 1:
            problems.append(f"dask worker {address} has {threads[address]} threads; start grading workers with "
                            "--nthreads 1 (and --nworkers N for N at once)")
    return problems


class DaskExecutor:
    """Runs a batch's jobs on a dask cluster: `with connect(address, options) as executor: grade_batch(...)`.

    Like every `jobs.JobExecutor`, it writes nothing: the batch writes each result's outputs into OUT."""

    def __init__(self, client: Any, address: str, identity: dict[str, Any]) -> None:
        self.client, self.address, self.identity = client, address, identity

    def __enter__(self) -> "DaskExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def prepare(self, options: GradingOptions, notebooks: int) -> None:
        """Nothing to get ready here: the workers are the cluster's."""

    def run(self, jobs: list[NotebookJob], options: GradingOptions) -> Iterator[JobResult]:
        """Results as tasks finish. At most twice as many tasks as worker threads are queued at once, so a
        Ctrl-C (or an error here) has little to cancel: queued tasks are cancelled; running ones finish their
        notebook on the worker and their result is dropped."""
        if not jobs:
            return
        from distributed import as_completed

        state = self.client.scatter(RemoteState(replace(options, manual_scores={}), pack_course(options.course),
                                                self.identity), broadcast=True)
        pending = deque(jobs)
        running: dict[Any, NotebookJob] = {}  # dask future -> its job
        refused: list[JobResult] = []  # jobs that could not be sent
        done = as_completed(loop=self.client.loop)
        try:
            while pending or running or refused:
                self._submit(pending, running, refused, done, state)
                while refused:
                    yield refused.pop()
                if running:
                    future = next(done)
                    job = running.pop(future)
                    self._submit(pending, running, refused, done, state)  # keep workers busy meanwhile
                    yield task_result(future, job)
        finally:
            try:
                self.client.cancel([*running, state])
            except Exception:  # the scheduler is gone: nothing left to cancel
                pass

    def _submit(self, pending: deque[NotebookJob], running: dict[Any, NotebookJob], refused: list[JobResult],
                done: Any, state: Any) -> None:
        window = max(2, 2 * sum(self.client.nthreads().values()))
        while pending and len(running) < window:
            job = pending.popleft()
            try:
                payload = remote_job(job)
            except OSError as exc:
                refused.append(lost_job(job, f"{Path(exc.filename or '').name}: cannot be read ({exc.strerror})"))
                continue
            except UsageError as exc:
                refused.append(lost_job(job, str(exc)))
                continue
            future = self.client.submit(grade_remote, state, payload, pure=False,
                                        key=f"grade-{job.exercise}-{job.student}-{uuid.uuid4().hex[:8]}")
            running[future] = job
            done.add(future)


def task_result(future: Any, job: NotebookJob) -> JobResult:
    """A finished dask task's result (any object with `.result()`), or `lost_job` for this notebook only."""
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError

    try:
        return future.result()
    except KilledWorker:
        return lost_job(job, "the dask worker process grading it died (each time dask tried it)")
    except FutureCancelledError:
        return lost_job(job, "its dask task was cancelled (the scheduler or its worker went away)")
    except WorkerMismatch as exc:
        return lost_job(job, str(exc))
    except Exception as exc:  # a grader bug on the worker, or a result that does not unpickle
        return lost_job(job, f"the grader failed on it on a dask worker: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:300] if str(exc) else ''}")


def connect(address: str, options: GradingOptions) -> DaskExecutor:
    """A client of the scheduler at `address` whose workers all grade as this machine would; else UsageError."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--executor dask needs dask.distributed, which is not installed: "
                         "pip install 'grader[dask]'") from None
    expected = worker_identity(options.isolation.requested)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address...
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot reach the dask scheduler at {address} within {CONNECT_TIMEOUT:g} s: "
                         f"{detail}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except Exception:
            raise UsageError(f"no dask worker is connected to the scheduler at {address}; start some with: "
                             f"dask worker {address} --nthreads 1") from None
        identities = client.run(worker_identity, options.isolation.requested, on_error="return")
        problems = worker_problems(identities, client.nthreads(), expected)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise UsageError(problems[0] + more)
    except BaseException:
        client.close()
        raise
    return DaskExecutor(client, address, expected)
