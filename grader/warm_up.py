"""The trusted side's own heavy imports, made on a thread while a kernel starts or runs a notebook.

A process that grades imports torch for the checks (and torch._dynamo, which torch imports at the first
optimizer step, about 1 s more, for exercises that train). Made on the critical path, after the notebook, they
would cost every worker's first notebook, and `grade check` its only one. So they start early (`start`), and
the checks begin only once they are done (`wait`): a check importing torch while a thread is halfway through
importing it can get a partly initialised module (Python's escape from an import deadlock).
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Iterable

from .course import Course

_imported: dict[str, threading.Event] = {}  # module -> set once the thread importing it is done with it
_lock = threading.Lock()


def modules_for(course: Course, exercises: Iterable[str]) -> list[str]:
    """What checking `exercises` will import: torch, and torch._dynamo where they train with torch.optim."""
    modules = ["torch"]
    if any(_uses_optimizers(course, exercise) for exercise in exercises):
        modules.append("torch._dynamo")
    return modules


def start(modules: list[str]) -> None:
    """Import `modules` on a thread, in order, those not imported nor being imported already."""
    with _lock:
        todo = [name for name in modules if name not in sys.modules and name not in _imported]
        if not todo:
            return
        for name in todo:
            _imported[name] = threading.Event()
        # One thread, one module after the other: two threads importing torch and torch._dynamo at once could
        # hand one of them a half-imported torch.
        threading.Thread(target=_import_in_order, args=todo, name="grader-warm-up", daemon=True).start()


def wait(modules: list[str]) -> None:
    """Return once `start` is done with each of `modules` it began (at once for the others)."""
    with _lock:
        events = [_imported[name] for name in modules if name in _imported]
    for event in events:
        event.wait()


def _uses_optimizers(course: Course, exercise: str) -> bool:
    paths = [course.reference_notebook(exercise), *course.check_dir(exercise, "public").glob("*.py"),
             *course.check_dir(exercise, "hidden").glob("*.py")]
    return any("torch.optim" in path.read_text(encoding="utf-8", errors="replace") for path in paths
               if path.is_file())


def _import_in_order(*names: str) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the checks will meet the same problem and report it where it belongs
            pass
        finally:
            _imported[name].set()
