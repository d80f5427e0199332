"""What `grade SUBMISSIONS` shows while it grades: a bar on a terminal, else a line per finished student.

`BatchProgress` is given to `grade_batch` as its callbacks (`start`, `planned`, `notebook_done`,
`student_done`). The bar counts the notebooks that actually run (cached ones are not work), names the
students being graded, and estimates the time left from the first finished notebook on. Where stderr is not a
terminal (CI logs, nohup) a live bar would print nothing until the end, so each finished student is one line.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from .reporters.terminal import score_text

if TYPE_CHECKING:
    from .jobs import JobResult, NotebookJob


def duration(seconds: float) -> str:
    """`42s`, `3m05s`, `1h02m`."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class BatchProgress:
    """Progress of one batch on `console`; `live` (default: the console is a terminal) chooses bar or lines."""

    def __init__(self, console: Console, workers: int = 1, live: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console, self.workers, self.clock = console, max(1, workers), clock
        self.live = console.is_terminal if live is None else live
        self.students = 0
        self.finished = 0
        self.cached: list[tuple[str, str]] = []
        self.pending: list[tuple[str, str]] = []  # (student, exercise) of the jobs not finished, in job order
        self.ran = 0
        self._jobs = 0
        self._ran_for: set[str] = set()  # the students with a notebook to run
        self._started: float | None = None
        self._eta_at: float | None = None  # the clock reading at which the last estimate expects the end
        self._bar: Progress | None = None
        self._task: Any = None

    # -- the batch's callbacks ------------------------------------------------------------------------------
    def start(self, students: int) -> None:
        self.students = students

    def planned(self, jobs: list[NotebookJob], cached: list[tuple[str, str]]) -> None:
        """The notebooks that will run, and the (student, exercise) pairs that came from the cache."""
        self.pending = [(job.student, job.exercise) for job in jobs]
        self._ran_for = {job.student for job in jobs}
        self._jobs, self.cached, self._started = len(jobs), list(cached), self.clock()
        line = f"{self.students} student(s): {len(jobs)} notebook(s) to run"
        if cached:
            line += f", {len(cached)} unchanged since the last run (from the cache)"
        self._say(line)
        if self._bar is not None:
            self._task = self._bar.add_task("", total=len(jobs), current=self.current())

    def notebook_done(self, result: JobResult) -> None:
        with_key = (result.student, result.exercise)
        if with_key in self.pending:
            self.pending.remove(with_key)
        self.ran += 1
        now = self.clock()
        estimate = self.remaining_estimate(now)
        self._eta_at = None if estimate is None else now + estimate
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self.ran, current=self.current())

    def student_done(self, report: dict[str, Any]) -> None:
        self.finished += 1
        if self.live:
            return
        student = report["student"]
        if student in self._ran_for:
            eta = self.eta()
            where = f"{self.ran}/{self._jobs} notebook(s) run" + (f", about {duration(eta)} left" if eta else "")
        else:
            where = "from the cache" if any(s == student for s, _ in self.cached) else "nothing to run"
        self._say(f"[{self.finished}/{self.students}] {student}: {score_text(report)} ({where})")

    # -- what is shown -------------------------------------------------------------------------------------
    def current(self) -> str:
        """The students whose notebooks are running now: the first `workers` unfinished jobs, by student."""
        names = list(dict.fromkeys(student for student, _ in self.pending[:self.workers]))
        return ", ".join(names)

    def remaining_estimate(self, now: float) -> float | None:
        """Seconds left, from the notebooks finished so far; None before the first one finishes.

        Until `workers` notebooks have finished, the others started with the first and are about as far along:
        each worker is taken to finish one notebook per (time so far / notebooks finished).
        """
        if self._started is None or self.ran == 0:
            return None
        parallel = max(self.ran, min(self.workers, self._jobs))
        return (now - self._started) * (self._jobs - self.ran) / parallel

    def eta(self) -> float | None:
        """Seconds left now (the last estimate counted down); None until a notebook has finished."""
        if self._eta_at is None:
            return None
        return max(0.0, self._eta_at - self.clock())

    def summary(self) -> str:
        """The closing line: how many notebooks ran, in how long, and how many came from the cache."""
        took = "" if self._started is None else f" in {duration(self.clock() - self._started)}"
        line = f"ran {self.ran} notebook(s){took}"
        if self.cached:
            line += (f"; {len(self.cached)} came from the cache (unchanged since the last run into OUT; "
                     "--no-cache grades them again)")
        return line

    def _say(self, line: str) -> None:
        self.console.print(escape(line), highlight=False)

    # -- the bar ---------------------------------------------------------------------------------------------
    def __enter__(self) -> BatchProgress:
        if self.live:
            self._bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 _EtaColumn(self), TextColumn("{task.fields[current]}"), console=self.console,
                                 transient=True)
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class _EtaColumn(ProgressColumn):
    """`eta 3m05s` once a notebook has finished, counting down between notebooks."""

    def __init__(self, progress: BatchProgress) -> None:
        super().__init__()
        self._progress = progress

    def render(self, task: Any) -> Text:
        eta = self._progress.eta()
        return Text("eta " + ("-:--" if eta is None else duration(eta)), style="progress.remaining")
