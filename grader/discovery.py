"""Find the submissions in a folder: one folder per student, or one notebook file per student.

A student's problem is never the batch's: a folder beside a notebook of the same name, a symbolic link (never
followed) or a hidden folder each become that student's submission with a `problem` (every exercise
not_gradable, saying why) and a warning. Names are data (grader/names.py): paths keep the bytes on disk, ids
are decoded text, unique per folder. Folders that are not students (`.git`, `.ipynb_checkpoints`,
`__MACOSX`, the OUT folder itself or any grader OUT folder) are skipped with a warning.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import UsageError
from .names import byte_escaped, decode_name, escaped_name

MAX_EXTRA_FILE_BYTES = 16 * 1024**2
NOT_STUDENTS = frozenset({".git", ".ipynb_checkpoints", "__MACOSX", ".DS_Store", ".svn", ".hg", "__pycache__"})


@dataclass(frozen=True)
class Submission:
    """What one student handed in: their notebooks and any other files beside them.

    `problem`: why nothing of this submission can be graded (None when it can); `notes`: what was left out
    of it and why (symbolic links), shown with the exercises that have no notebook.
    """

    student: str
    notebooks: tuple[Path, ...]
    extra_files: tuple[Path, ...] = field(default=())
    source: Path | None = None
    problem: str | None = None
    notes: tuple[str, ...] = field(default=())


def find_submissions(root: Path, exclude: Path | None = None,
                     warn: Callable[[str], None] | None = None) -> list[Submission]:
    """Every submission under `root`, sorted by student id. The folder or file stem is the student id.

    `exclude` (the OUT folder) is never a student; `warn` gets a line for every entry that is skipped or
    graded as a problem.
    """
    if not root.exists():
        raise UsageError(f"submissions folder not found: {root}")
    if not root.is_dir():
        raise UsageError(f"not a folder: {root} (give the folder that holds the submissions)")
    say = warn or (lambda line: None)
    skip = exclude.resolve() if exclude is not None else None
    found: dict[str, Submission] = {}
    for entry in sorted(root.iterdir(), key=_utf8_first):
        shown = escaped_name(entry.name)
        if entry.name in NOT_STUDENTS or entry.name.startswith("._"):  # ._x: macOS metadata beside x
            if entry.is_dir() and not entry.is_symlink():
                say(f"{shown}/ in the submissions folder is not a student; skipped")
            continue
        if not entry.is_symlink() and entry.is_dir() and (entry.resolve() == skip or _is_out_folder(entry)):
            say(f"{shown}/ is a grader output folder, not a student; skipped")
            continue
        submission = _submission(entry, shown)
        if submission is None:
            continue
        twin = found.get(submission.student)
        if twin is not None and _file_beside_folder(entry, twin):
            problem = (f"both a folder {escaped_name(twin.source.name)}/ and a notebook {shown} were handed in; "
                       "hand in one of them")
            found[twin.student] = Submission(twin.student, (), (), twin.source, problem)
            say(f"student {twin.student}: {problem}")
            continue
        student = _unique(submission.student, entry.name, found)
        if student != submission.student:
            say(f"{shown}: its name reads as {submission.student!r} like another submission's; "
                f"graded as {student!r}")
            submission = Submission(student, submission.notebooks, submission.extra_files, submission.source,
                                    submission.problem, submission.notes)
        for line in (submission.problem, *submission.notes):
            if line:
                say(f"student {student}: {line}")
        found[student] = submission
    _warn_about_twins(found, say)
    return [found[k] for k in sorted(found)]


def _utf8_first(entry: Path) -> tuple[bool, bytes]:
    """Names that are UTF-8 take their ids first: a GBK name that reads the same gets the escaped one."""
    raw = os.fsencode(entry.name)
    try:
        raw.decode("utf-8")
        return False, raw
    except UnicodeDecodeError:
        return True, raw


def _submission(entry: Path, shown: str) -> Submission | None:
    """The submission `entry` stands for (a folder, a notebook file or a link to either), or None."""
    name = decode_name(entry.name)
    is_notebook = name.lower().endswith(".ipynb") and not entry.is_dir()
    student = name[:-len(".ipynb")] if is_notebook else name
    if not student:
        student = name  # a notebook named just ".ipynb" (hidden: a problem below)
    if entry.is_symlink():
        if not (is_notebook or entry.is_dir()):
            return None
        return Submission(student, (), (), entry, f"{shown} is a symbolic link; links are not followed, "
                                                  "hand in the folder or file itself")
    if entry.is_dir():
        if name.startswith("."):
            return Submission(student, (), (), entry, f"the folder {shown} is hidden (its name starts with '.'); "
                                                      "rename it without the dot")
        return _folder_submission(entry, student)
    if entry.is_file() and is_notebook:
        if name.startswith("."):
            return Submission(student, (), (), entry, f"the file {shown} is hidden (its name starts with '.'); "
                                                      "rename it without the dot")
        return Submission(student, (entry,), (), entry)
    return None


def _folder_submission(folder: Path, student: str) -> Submission:
    notebooks, extra, notes = [], [], []
    for path in sorted(folder.iterdir(), key=lambda p: os.fsencode(p.name)):
        if path.name.startswith("."):
            continue
        if path.is_symlink():
            notes.append(f"{escaped_name(path.name)} is a symbolic link; links are not followed")
            if path.name.lower().endswith(".ipynb"):
                notebooks.append(path)  # read as a problem of its exercise (grader/batch.py), never followed
            continue
        if not path.is_file():
            continue
        if path.suffix.lower() == ".ipynb":
            notebooks.append(path)
        elif path.stat().st_size <= MAX_EXTRA_FILE_BYTES:
            extra.append(path)
    return Submission(student, tuple(notebooks), tuple(extra), folder, None, tuple(notes))


def _is_out_folder(folder: Path) -> bool:
    """Whether `folder` was written by `grade` (an OUT folder put inside SUBMISSIONS)."""
    return (folder / ".instructor").is_dir() and ((folder / "gradebook.csv").is_file()
                                                   or (folder / ".instructor" / "lock").is_file())


def _unique(student: str, raw_name: str, found: dict[str, Submission]) -> str:
    """`student`, or when another entry decoded to the same id, the escaped bytes of this one (then ~N)."""
    if student not in found:
        return student
    base = byte_escaped(raw_name)
    base = base[:-len(".ipynb")] if base.lower().endswith(".ipynb") else base
    candidate, number = base, 2
    while candidate in found or candidate == student:
        candidate = f"{base}~{number}"
        number += 1
    return candidate


def _warn_about_twins(found: dict[str, Submission], say: Callable[[str], None]) -> None:
    """Ids that differ only in Unicode normalisation are graded apart, with a warning."""
    groups: dict[str, list[str]] = {}
    for student in found:
        groups.setdefault(unicodedata.normalize("NFKC", student).casefold(), []).append(student)
    for twins in groups.values():
        if len(twins) > 1 and len({unicodedata.normalize("NFC", t) for t in twins}) < len(twins):
            say("students " + ", ".join(repr(t) for t in twins) + " differ only in Unicode normalisation; "
                "graded as different students")


def _file_beside_folder(entry: Path, twin: Submission) -> bool:
    """`alice.ipynb` beside `alice/`: which one is alice's is not ours to guess."""
    folder = twin.source
    return (folder is not None and folder.is_dir() and not folder.is_symlink() and entry.is_file()
            and not entry.is_symlink() and os.fsencode(entry.name)[:-len(".ipynb")] == os.fsencode(folder.name))
