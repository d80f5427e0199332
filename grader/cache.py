"""Incremental regrading: what running one notebook and its checks produced, kept per (student, exercise).

The key is a sha256 over everything that can change that outcome: the notebook's bytes and name, the
student's other files, the exercise's rubric file, every file under rubrics/checks/<exercise>/, the reference
notebook, the grader's own code and the versions of the packages the kernel and the checks use, the isolation
level, the limits, the visibilities, the student id and the secret (by its hash). Instructor scores for
written answers are not in it: they are applied when the report is assembled, so entering them never
re-runs a kernel. A second run over an unchanged batch does no kernel work; changing one rubric file
regrades only the notebooks of that exercise.

Entries live in the OUT folder's cache folder (grader/layout.py), one `<id>/<exercise>.json` each
(instructor only: check details), written atomically after the executed notebook they name, so a run killed at any point leaves either a complete
entry or none. Only notebooks that were actually graded are stored; a kernel that could not start is tried
again next time.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .course import Course
from .files import write_atomic
from .layout import OutLayout
from .messages import from_json, to_json
from .models import CellNote, ExerciseRun, Outcome
from .options import GradingOptions

CACHE_FORMAT = 2  # 2: messages carry their code and parameters
# The kernel's behaviour and the checks' arithmetic depend on these as much as on the grader's code.
_PACKAGES = ("torch", "numpy", "matplotlib", "ipykernel", "ipython", "jupyter_client", "nbclient", "nbformat",
             "pytest", "pyzmq")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=1)
def grader_fingerprint() -> str:
    """The grader's version, the hash of its own source and schemas, Python's and the key packages' versions."""
    digest = hashlib.sha256(f"{__version__}\0{sys.version}\0".encode())
    for name in _PACKAGES:
        try:
            digest.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=-\0".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def exercise_fingerprint(course: Course, exercise: str) -> str:
    """The hash of an exercise's rubric file, its check files and its reference notebook."""
    digest = hashlib.sha256()
    rubric = course.rubrics[exercise]
    paths = [("rubric", rubric.path), ("reference", course.reference_notebook(exercise))]
    checks = course.root / "rubrics" / "checks" / exercise
    if checks.is_dir():
        paths += [(f"checks/{p.relative_to(checks)}", p) for p in sorted(checks.rglob("*"))
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    for label, path in paths:
        content = path.read_bytes() if path.is_file() else b"<missing>"
        digest.update(label.encode() + b"\0" + sha256(content).encode() + b"\0")
    return digest.hexdigest()


def options_fingerprint(options: GradingOptions) -> str:
    """The hash of what the instructor chose: isolation, limits (not the thread count), visibilities, secret."""
    limits = asdict(options.limits)
    limits.pop("torch_threads", None)  # speed only; a grade must not depend on it
    data = {
        "isolation": options.isolation.as_dict(),
        "limits": limits,
        "visibilities": list(options.visibilities),
        "secret": sha256(options.secret),
    }
    return sha256(json.dumps(data, sort_keys=True, default=str).encode())


def job_key(*, student: str, exercise: str, notebook_name: str, notebook_bytes: bytes,
            extra_files: list[Path], exercise_print: str, options_print: str) -> str:
    """The cache key of one (student, exercise)."""
    parts = [f"format={CACHE_FORMAT}", f"grader={grader_fingerprint()}", f"exercise={exercise}:{exercise_print}",
             f"options={options_print}", f"student={student}", f"notebook={notebook_name}:{sha256(notebook_bytes)}"]
    parts += [f"file={p.name}:{sha256(p.read_bytes())}" for p in sorted(extra_files, key=lambda p: p.name)]
    return sha256("\0".join(parts).encode("utf-8", "surrogateescape"))  # file names keep their bytes


class ResultCache:
    """The entries of one OUT folder; `enabled=False` (--no-cache) still writes, never reads."""

    def __init__(self, layout: OutLayout, enabled: bool = True) -> None:
        self.layout = layout
        self.root = layout.cache_dir()
        self.enabled = enabled

    def path(self, student: str, exercise: str) -> Path:
        return self.layout.cache_entry(student, exercise)

    def get(self, student: str, exercise: str, key: str) -> ExerciseRun | None:
        """The stored run when its key matches and the executed notebook it names is still in OUT unchanged."""
        if not self.enabled:
            return None
        try:
            entry = json.loads(self.path(student, exercise).read_text(encoding="utf-8"))
            if entry.get("format") != CACHE_FORMAT or entry.get("key") != key:
                return None
            executed = entry.get("executed")
            if executed is not None:
                if sha256(self.layout.executed(student, executed["name"]).read_bytes()) != executed["sha256"]:
                    return None
            return run_from_json(entry["run"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no entry, or one this version cannot read: grade again

    @staticmethod
    def entry(key: str, run: ExerciseRun, executed_name: str | None, executed_text: str | None) -> str:
        executed = None if executed_text is None else {"name": executed_name,
                                                       "sha256": sha256(executed_text.encode("utf-8"))}
        return json.dumps({"format": CACHE_FORMAT, "key": key, "executed": executed, "run": run_to_json(run)},
                          ensure_ascii=False)

    def put(self, student: str, exercise: str, key: str, run: ExerciseRun, executed_name: str | None,
            executed_text: str | None) -> None:
        write_atomic(self.path(student, exercise), self.entry(key, run, executed_name, executed_text), mode=0o600)


def run_to_json(run: ExerciseRun) -> dict[str, Any]:
    """An ExerciseRun as the cache stores it, each message with its code and parameters."""
    data = {**asdict(run), **to_json(run.message)}
    data["outcomes"] = [{**asdict(o), **to_json(o.message)} for o in run.outcomes]
    data["cells"] = [{**asdict(c), **to_json(c.message)} for c in run.cells]
    return data


def _said(data: dict[str, Any]) -> dict[str, Any]:
    """A stored record with its message rebuilt (and the code fields folded into it)."""
    data = dict(data)
    code, params = data.pop("message_code", None), data.pop("message_params", None)
    return {**data, "message": from_json(data["message"], code, params)}


def run_from_json(data: dict[str, Any]) -> ExerciseRun:
    """The ExerciseRun `run_to_json` stored; KeyError or TypeError when the entry is not one."""
    return ExerciseRun(
        exercise=data["exercise"], status=data["status"], message=_said(data)["message"], notebook=data["notebook"],
        outcomes=tuple(Outcome(**_said(o)) for o in data["outcomes"]),
        answers=dict(data["answers"]),
        cells=tuple(CellNote(**_said(c)) for c in data["cells"]),
        seconds=float(data["seconds"]),
        collection_errors=tuple(data["collection_errors"]),
        unmapped=tuple(data["unmapped"]),
        grader_error=data.get("grader_error", ""),
    )
