"""LMS intake: unpack a Canvas or Moodle "download all submissions" zip into a submissions folder.

`grade SUBMISSIONS.zip` calls `unpack_lms_zip`, which writes `DEST/submissions/<student>/<file>` (one
folder per student, the layout grader/discovery.py reads) and `DEST/students.json` (who handed in what,
which files were dropped and why), so the rest of the engine is unchanged.

How entry names map to students and files (Canvas and Moodle conventions, student ids): see
grader/intake_names.py.

Several files of one student for the same notebook (same exercise, else the same file name once the
`-N`/` (N)` suffix is removed): the latest wins and a warning names the student, the kept file and the
dropped ones. "Latest" is, for Canvas, the larger attachment id (Canvas stamps every zip entry with the
time the zip was built, so entry times say nothing about uploads), then the larger `-N`; for Moodle,
the zip entry's modification time (Moodle writes the file's own time), then the larger ` (N)`.

Unpacking is defensive: an entry with an absolute name, `..`, a symbolic link or encryption is not unpacked;
when its name tells whose it is, it is that student's problem (`IntakeResult.problems`, shown in their
report), else it is ignored with a warning;
the number of files and the total unpacked size are capped (counted while decompressing, so a lying
header does not help); only files whose names follow one of the two conventions are unpacked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from .errors import UsageError
from .files import write_atomic
from .intake_names import LmsFile, parse_entry

__all__ = ["IntakeLimits", "IntakeResult", "LmsFile", "intake_students", "is_zip_path", "parse_entry",
           "submissions_from_zip", "unpack_lms_zip"]
from .notebook import MAX_NOTEBOOK_BYTES, exercise_id_of

MANIFEST = "students.json"
SUBMISSIONS_DIR = "submissions"
CHUNK = 1024**2


@dataclass(frozen=True)
class IntakeLimits:
    """Caps against zip bombs: files unpacked and their total size once decompressed."""

    max_files: int = 20_000
    max_total_bytes: int = 4 * 1024**3


@dataclass
class IntakeResult:
    lms: str
    folder: Path  # the submissions folder: one folder per student
    students: dict[str, list[LmsFile]] = field(default_factory=dict)  # kept files
    dropped: dict[str, list[tuple[LmsFile, LmsFile]]] = field(default_factory=dict)  # (dropped, kept instead)
    warnings: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)  # by student: entries that were not unpacked


def is_zip_path(path: Path) -> bool:
    """Whether SUBMISSIONS names a zip file (an LMS download) rather than a folder."""
    return path.suffix.lower() == ".zip" and not path.is_dir()


def unpack_lms_zip(zip_path: Path, dest: Path, known: dict[str, str] | None = None,
                   limits: IntakeLimits = IntakeLimits()) -> IntakeResult:
    """Unpack a Canvas or Moodle submissions zip into `dest/submissions/<student>/`; see the module docstring.

    `known` maps exercise id -> notebook file name (Course.notebook_names()): files answering the same
    exercise are one notebook for the latest-wins rule. Raises UsageError for a missing, unreadable or
    unsafe zip, or one with no Canvas or Moodle submission in it.
    """
    if not zip_path.is_file():
        raise UsageError(f"submissions zip not found: {zip_path}")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            return _unpack(archive, zip_path, dest, known or {}, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"{zip_path}: not a readable zip file ({reason})") from None


def _unpack(archive: zipfile.ZipFile, zip_path: Path, dest: Path, known: dict[str, str],
            limits: IntakeLimits) -> IntakeResult:
    infos = [info for info in archive.infolist() if not info.is_dir()]
    files: list[tuple[zipfile.ZipInfo, LmsFile]] = []
    ignored: list[str] = []
    problems: dict[str, list[str]] = {}
    problem_lms: set[str] = set()
    for info in infos:
        name = _entry_name(info)
        parsed = parse_entry(name)
        unsafe = _unsafe(info, name)
        if unsafe is not None:
            if parsed is None:
                ignored.append(name)
            else:
                problem_lms.add(parsed.lms)
                problems.setdefault(parsed.student, []).append(
                    f"{_safe_name(parsed.name)}: not unpacked from the submissions zip ({unsafe})")
            continue
        if parsed is None:
            ignored.append(name)
        else:
            files.append((info, parsed))
    lms_seen = {f.lms for _, f in files}
    lms_seen = lms_seen or problem_lms
    if not lms_seen:
        raise UsageError(f"{zip_path}: no Canvas or Moodle submission files in it (Canvas names them "
                         "<name>_<userid>_<fileid>_<file>, Moodle <Full Name>_<id>_assignsubmission_file_...)")
    if len(lms_seen) > 1:
        raise UsageError(f"{zip_path}: mixes Canvas and Moodle file names; give one LMS download at a time")
    if len(files) > limits.max_files:
        raise UsageError(f"{zip_path}: {len(files)} files, over the limit of {limits.max_files}")
    declared = sum(info.file_size for info, _ in files)
    if declared > limits.max_total_bytes:
        raise UsageError(f"{zip_path}: unpacks to {declared / 1024**2:.0f} MiB, over the limit of "
                         f"{limits.max_total_bytes / 1024**2:.0f} MiB")

    dest.mkdir(parents=True, exist_ok=True)
    staging = dest / ".staging"
    folder = dest / SUBMISSIONS_DIR
    for old in (staging, folder):
        shutil.rmtree(old, ignore_errors=True)
    staging.mkdir()
    budget = [limits.max_total_bytes]
    staged: list[tuple[Path, LmsFile]] = []
    try:
        for index, (info, parsed) in enumerate(files):
            path = staging / str(index)
            _extract(archive, info, path, budget, zip_path, limits)
            mtime = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(path, (mtime, mtime))
            staged.append((path, _with_mtime(parsed, mtime)))
        result = IntakeResult(next(iter(lms_seen)), folder, problems=problems)
        _place(staged, folder, known, result)
        for student, lines in sorted(problems.items()):
            (folder / student).mkdir(parents=True, exist_ok=True)
            result.students.setdefault(student, [])
            result.warnings.extend(f"student {student}: {line}" for line in lines)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if ignored:
        sample = ", ".join(repr(n) for n in ignored[:3]) + (", ..." if len(ignored) > 3 else "")
        result.warnings.insert(0, f"{zip_path.name}: ignored {len(ignored)} file(s) not named like a "
                                  f"{result.lms.capitalize()} submission: {sample}")
    write_atomic(dest / MANIFEST, json.dumps(_manifest(zip_path, result), ensure_ascii=False, indent=2), mode=0o600)
    return result


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name; names stored without the UTF-8 flag are tried as UTF-8 first (zipfile assumes cp437)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _unsafe(info: zipfile.ZipInfo, name: str) -> str | None:
    """Why an entry must not be unpacked, or None when it may."""
    parts = name.replace("\\", "/").split("/")
    if (name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts or "\0" in name):
        return "an absolute path or '..' in its name"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link; links are not followed"
    if info.flag_bits & 0x1:
        return "encrypted; hand it in without a password"
    return None


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: list[int], zip_path: Path,
             limits: IntakeLimits) -> None:
    """Stream one entry to `path`, counting the bytes really produced against the remaining budget."""
    with archive.open(info) as source, open(path, "xb") as target:
        while chunk := source.read(CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise UsageError(f"{zip_path}: unpacks to more than {limits.max_total_bytes / 1024**2:.0f} MiB "
                                 "(the sizes in the zip are wrong); refusing to unpack it")
            target.write(chunk)


def _with_mtime(f: LmsFile, mtime: float) -> LmsFile:
    return LmsFile(f.lms, f.student, f.name, f.entry, f.display, f.late, f.attachment_id, f.copy, mtime)


def _order(f: LmsFile) -> tuple[Any, ...]:
    """Later is larger: Canvas by attachment id, Moodle by entry time; then the -N / (N) copy number."""
    if f.lms == "canvas":
        return (f.attachment_id, f.copy, f.mtime, f.entry)
    return (f.mtime, f.copy, f.entry)


def _group(path: Path, f: LmsFile, known: dict[str, str]) -> str:
    """What counts as "the same notebook": its exercise when it says or its name tells, else its name."""
    if f.name.lower().endswith(".ipynb") and known:
        nb: dict[str, Any] = {}
        if path.stat().st_size <= MAX_NOTEBOOK_BYTES:
            try:
                loaded = json.loads(path.read_bytes().decode("utf-8-sig"))
                nb = loaded if isinstance(loaded, dict) else {}
            except (ValueError, UnicodeDecodeError):
                pass
        exercise = exercise_id_of(nb, f.name, known) if isinstance(nb.get("metadata", {}), dict) else None
        if exercise is not None:
            return f"exercise:{exercise}"
    return f"name:{f.name.lower()}"


def _place(staged: list[tuple[Path, LmsFile]], folder: Path, known: dict[str, str], result: IntakeResult) -> None:
    """Keep the latest file of each (student, notebook), move it into the student's folder, warn about the rest."""
    groups: dict[tuple[str, str], list[tuple[Path, LmsFile]]] = {}
    for path, f in staged:
        groups.setdefault((f.student, _group(path, f, known)), []).append((path, f))
    for (student, _), members in sorted(groups.items()):
        members.sort(key=lambda m: _order(m[1]))
        (path, kept), dropped = members[-1], [m[1] for m in members[:-1]]
        target_dir = folder / student
        target_dir.mkdir(parents=True, exist_ok=True)
        name = _safe_name(kept.name)
        if (target_dir / name).exists():  # two different notebooks that share a name once the suffix is gone
            name = _safe_name(PurePosixPath(kept.entry).name)
        os.replace(path, target_dir / name)
        result.students.setdefault(student, []).append(_renamed(kept, name))
        if dropped:
            result.dropped.setdefault(student, []).extend((d, kept) for d in dropped)
            result.warnings.append(f"student {student}: several files for {kept.name}; kept {kept.entry!r}"
                                   f"{' (LATE)' if kept.late else ''}, dropped "
                                   + ", ".join(repr(d.entry) for d in reversed(dropped)))


def _safe_name(name: str) -> str:
    """A plain file name inside the student's folder (Moodle keeps sub-folders; we flatten them)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return base if base not in ("", ".", "..") else "file"


def _renamed(f: LmsFile, name: str) -> LmsFile:
    return LmsFile(f.lms, f.student, name, f.entry, f.display, f.late, f.attachment_id, f.copy, f.mtime)


def _blind(result: IntakeResult) -> bool:
    """Moodle's blind marking: every folder says "Participant" where the full name would be (after a group
    name, `Group A-Participant`; in the site's language, so: one name shared by 3 or more students too)."""
    names = {files[0].display.rsplit("-", 1)[-1].strip() for files in result.students.values() if files}
    if result.lms != "moodle" or len(names) != 1:
        return False
    return len(result.students) >= 3 or next(iter(names)).casefold() == "participant"


def _manifest(zip_path: Path, result: IntakeResult) -> dict[str, Any]:
    blind = _blind(result)
    return {"source": str(zip_path), "lms": result.lms, "students": {
        student: {"name": files[0].display if files and not blind else "", "late": any(f.late for f in files),
                  "problems": result.problems.get(student, []),
                  "files": [_file_entry(result.lms, f) for f in files],
                  "dropped": [{"entry": d.entry, "kept_instead": k.entry} for d, k in result.dropped.get(student, [])]}
        for student, files in sorted(result.students.items())}}


def _file_entry(lms: str, f: LmsFile) -> dict[str, Any]:
    """A kept file; `modified` (the zip's local time, no zone) only for Moodle, whose entries keep the file's time."""
    entry: dict[str, Any] = {"file": f.name, "entry": f.entry, "late": f.late}
    if lms == "moodle" and f.mtime:
        entry["modified"] = datetime.fromtimestamp(f.mtime).isoformat(timespec="seconds")
    return entry


def intake_students(intake_dir: Path, lms: str) -> set[str]:
    """The students of the last `lms` zip unpacked into `intake_dir` (OUT/.instructor/intake; empty when none)."""
    try:
        manifest = json.loads((intake_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(manifest, dict) or manifest.get("lms") != lms or not isinstance(manifest.get("students"), dict):
        return set()
    return set(manifest["students"])


def submissions_from_zip(zip_path: Path, intake_dir: Path, known: dict[str, str],
                         warn: Callable[[str], None]) -> tuple[Path, dict[str, list[str]]]:
    """Unpack `zip_path` under `intake_dir`, pass every warning to `warn`; returns the submissions folder and
    the problems by student (entries that were not unpacked)."""
    result = unpack_lms_zip(zip_path, intake_dir, known)
    for line in result.warnings:
        warn(line)
    return result.folder, result.problems
