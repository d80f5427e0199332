"""Reference solutions, loaded as trusted code in the grader process (never in a student kernel).

The reference notebook's code cells are instructor code: they are compiled and run in a fresh module,
skipping cells tagged `demo` (plots, printing). This is the one place the grader executes notebook code
itself, and it only ever reads files under the course's reference/ folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import types
from functools import lru_cache
from pathlib import Path

from .course import read_course_notebook
from .errors import CourseError, ReferenceUnavailable

SKIP_TAGS = {"demo"}


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> types.ModuleType:
    nb = read_course_notebook(path)
    module = types.ModuleType(f"reference_{path.stem}")
    module.__file__ = str(path)
    os.environ.setdefault("MPLBACKEND", "Agg")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or SKIP_TAGS & set(cell.metadata.get("tags", [])):
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            code = compile(source, f"{path.name}[cell {index}]", "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, module.__dict__)  # trusted instructor code from reference/, see module docstring
        except Exception as exc:
            raise CourseError(f"reference {path.name}, cell {index} failed: {type(exc).__name__}: {exc}") from exc
    return module


def load_reference(path: Path) -> types.ModuleType:
    """The reference notebook at `path` as a module, cached per process until the file changes.

    Raises ReferenceUnavailable when there is none (a check that needs it cannot run here), CourseError when
    the notebook does not read or one of its cells fails.
    """
    if not path.is_file():
        raise ReferenceUnavailable(f"reference solution not found: {path}")
    return _load(path.resolve(), path.stat().st_mtime_ns)
