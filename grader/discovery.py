"""Find the submissions in a folder: one folder per student, or one notebook file per student."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

MAX_EXTRA_FILE_BYTES = 16 * 1024**2


@dataclass(frozen=True)
class Submission:
    """What one student handed in: their notebooks and any other files beside them."""

    student: str
    notebooks: tuple[Path, ...]
    extra_files: tuple[Path, ...] = field(default=())
    source: Path | None = None


def find_submissions(root: Path) -> list[Submission]:
    """Every submission under `root`, sorted by student id. The folder or file stem is the student id."""
    if not root.exists():
        raise UsageError(f"submissions folder not found: {root}")
    if not root.is_dir():
        raise UsageError(f"not a folder: {root} (give the folder that holds the submissions)")
    found: dict[str, Submission] = {}
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir():
            found[entry.name] = _folder_submission(entry)
        elif entry.is_file() and entry.suffix.lower() == ".ipynb":
            if entry.stem in found:
                raise UsageError(f"student {entry.stem!r} has both a folder and a notebook file in {root}")
            found[entry.stem] = Submission(entry.stem, (entry,), (), entry)
    return [found[k] for k in sorted(found)]


def _folder_submission(folder: Path) -> Submission:
    notebooks, extra = [], []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or path.is_symlink() or not path.is_file():
            continue
        if path.suffix.lower() == ".ipynb":
            notebooks.append(path)
        elif path.stat().st_size <= MAX_EXTRA_FILE_BYTES:
            extra.append(path)
    return Submission(folder.name, tuple(notebooks), tuple(extra), folder)
