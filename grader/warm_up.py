"""The trusted side's own heavy imports, made on a thread while a kernel starts or runs a notebook.

A process that grades imports torch for the checks (and torch._dynamo, which torch imports when the first
optimizer is made, about 1.3 s more, for checks that train with torch.optim). Made on the critical path, after
the notebook, they would cost every worker's first notebook, and `grade check` its only one. So they start early
(`start`), and the checks begin only once the ones they need are done (`wait`): a check importing torch while a
thread is halfway through importing it can get a partly initialised module (Python's escape from an import
deadlock).
"""

from __future__ import annotations

import ast
import functools
import importlib
import os
import sys
import threading
from typing import Iterable

from .course import Course

# The GIL's switch interval while the warm-up imports: the kernel's messages (the relay's thread, then the
# session's) each wait up to this long for the GIL an import holds; Python's 5 ms cost a cell tens of ms.
WARM_UP_SWITCH_INTERVAL = 0.0005
# How much nicer the warm-up's thread runs: on a busy machine the kernel, which is `grade check`'s critical path,
# gets the CPU first; on an idle one the warm-up still has a core of its own.
WARM_UP_NICENESS = 10

_imported: dict[str, threading.Event] = {}  # module -> set once the thread importing it is done with it
_lock = threading.Lock()


def modules_for(course: Course, exercises: Iterable[str],
                visibilities: tuple[str, ...] = ("public", "hidden")) -> list[str]:
    """What checking `exercises` will import: torch, and torch._dynamo where the checks of `visibilities` (or
    the reference solution, when one of them takes it) use torch.optim."""
    modules = ["torch"]
    if any(_uses_optimizers(course, exercise, visibilities) for exercise in exercises):
        modules.append("torch._dynamo")
    return modules


def start(modules: list[str], after: threading.Event | None = None) -> None:
    """Import `modules` on a thread, in order, those not imported nor being imported already.

    `after`: a kernel starting in the background is launched (`KernelSession.launched`). Until then the imports
    would hold the GIL against the launch's thread, whose many short syscalls (the /proc scans of the sandbox's
    uid and processes) each waited for the GIL's switch interval.
    """
    with _lock:
        todo = [name for name in modules if name not in sys.modules and name not in _imported]
        if not todo:
            return
        for name in todo:
            _imported[name] = threading.Event()
        # One thread, one module after the other: two threads importing torch and torch._dynamo at once could
        # hand one of them a half-imported torch.
        threading.Thread(target=_import_in_order, args=(todo, after), name="grader-warm-up", daemon=True).start()


def wait(modules: list[str]) -> None:
    """Return once `start` is done with each of `modules` it began (at once for the others)."""
    with _lock:
        events = [_imported[name] for name in modules if name in _imported]
    for event in events:
        event.wait()


def _uses_optimizers(course: Course, exercise: str, visibilities: tuple[str, ...]) -> bool:
    checks = {path: path.read_text(encoding="utf-8", errors="replace")
              for visibility in visibilities for path in sorted(course.check_dir(exercise, visibility).glob("*.py"))
              if path.is_file()}
    reference = course.reference_notebook(exercise)
    if reference.is_file() and any(_takes_reference(source) for source in checks.values()):
        checks[reference] = reference.read_text(encoding="utf-8", errors="replace")
    return any("torch.optim" in source for source in checks.values())


@functools.lru_cache(maxsize=256)  # asked for every notebook graded: parsing a check file each time cost ~35 ms
def _takes_reference(source: str) -> bool:
    """A check in `source` takes the `reference` fixture (grader/plugin.py): the reference then runs here too."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True  # cannot tell: assume it does (a warm-up too many costs only CPU)
    return any(arg.arg == "reference" for node in ast.walk(tree)
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
               for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs))


def _lower_this_threads_priority() -> None:
    """Linux only: there setpriority(PRIO_PROCESS, thread id) concerns one thread (elsewhere the id is a pid's)."""
    if sys.platform != "linux":
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + WARM_UP_NICENESS))
    except OSError:
        pass


def _import_in_order(names: list[str], after: threading.Event | None) -> None:
    try:
        if after is not None:
            after.wait()
        _lower_this_threads_priority()
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, WARM_UP_SWITCH_INTERVAL))
        try:
            for name in names:
                try:
                    importlib.import_module(name)
                except Exception:  # the checks will meet the same problem and report it where it belongs
                    pass
                finally:
                    _imported[name].set()
        finally:
            sys.setswitchinterval(interval)
    finally:
        for name in names:  # none left waited for, whatever happened
            _imported[name].set()
