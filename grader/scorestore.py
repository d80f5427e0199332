"""The score store: every score a person gave (written answers, overrides of an automatic verdict), kept in OUT.

One JSON file, OUT/.instructor/scores.json, owned by the grader. JSON rather than SQLite or TOML: a course has
hundreds of entries, not millions; the whole file is replaced atomically (grader/files.py) under the OUT lock,
so no database journal or second locking scheme is needed; and an instructor can read, diff and back it up as
text. TOML would do too, but Python only reads TOML.

    {"store_version": 2,
     "scores": {"alice": {"logistic_regression.hw1.answer":
                 {"points": 4, "comment": "clear", "override": false, "who": "ta1",
                  "when": "2025-03-01T10:00:00+00:00", "answer": "sha256:...", "version": 2}}},
     "pairs": {"logistic_regression/alice/bob":
                 {"decision": "noted", "comment": "", "who": "ta1", "when": "...", "code": "sha256:...",
                  "version": 1}}}

`pairs` (version 2; a version-1 store is read as having none) holds a person's decision on a near-copy pair
(grader/similarity.py): "noted" or "dismissed", never a score; `code` is the pair's fingerprint when decided.

`answer` is the fingerprint of what was scored (the written answer's text; for an override, the whole
notebook's sources). A grade run compares it with the current submission: when they differ the score is
stale, shown as awaiting review, and counts again only once a person confirms it (saves it again).
`version` grows with each save of the entry: the etag that refuses a save made from an outdated view.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import Iterator

from nbformat import NotebookNode

from .errors import GraderError, UsageError
from .files import write_atomic
from .layout import OutLayout

STORE_VERSION = 2
READABLE_VERSIONS = (1, 2)  # an older grader refuses a version-2 store instead of dropping its pairs
DECISIONS = ("noted", "dismissed")


class ScoreConflict(GraderError):
    """A save made from an outdated view of the entry (another tab or person saved it meanwhile)."""

    exit_code = 2

    def __init__(self, message: str, current: "Score | None") -> None:
        super().__init__(message)
        self.current = current


class OutBusy(UsageError):
    """Another process holds the OUT lock (a grade run)."""


@dataclass(frozen=True)
class Score:
    """One score given by a person."""

    points: float
    comment: str = ""
    override: bool = False  # replaces an automatic check's verdict
    who: str = ""
    when: str = ""
    answer: str = ""  # fingerprint of what was scored
    version: int = 1


StudentScores = dict[str, Score]  # check id -> score


@dataclass(frozen=True)
class PairDecision:
    """A person's decision on a near-copy pair: looked at and noted, or dismissed. Never changes points."""

    decision: str
    comment: str = ""
    who: str = ""
    when: str = ""
    code: str = ""  # the pair's fingerprint when decided (NearCopy.fingerprint)
    version: int = 1


def text_print(text: str | None) -> str:
    """Fingerprint of a written answer (whitespace-insensitive, as the unchanged-template test is)."""
    if text is None:
        return ""
    return "sha256:" + hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def notebook_print(nb: NotebookNode | None) -> str:
    """Fingerprint of every cell's type and source (outputs left out: the same as submitted and as executed)."""
    if nb is None:
        return ""
    digest = hashlib.sha256()
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        source = source if isinstance(source, str) else "".join(source)
        digest.update(json.dumps([cell.get("cell_type", ""), source]).encode("utf-8"))
    return "sha256:" + digest.hexdigest()


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ScoreStore:
    """The scores of one OUT folder. Load, change, `save()`; hold `out_lock` around all three when writing."""

    def __init__(self, layout: OutLayout, scores: dict[str, StudentScores] | None = None,
                 pairs: dict[str, PairDecision] | None = None) -> None:
        self.layout = layout
        self.scores: dict[str, StudentScores] = scores or {}
        self.pairs: dict[str, PairDecision] = pairs or {}

    @classmethod
    def load(cls, layout: OutLayout) -> "ScoreStore":
        path = layout.scores()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(layout)
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: the score store cannot be read ({exc}); restore it from a backup") from None
        if not isinstance(data, dict) or data.get("store_version") not in READABLE_VERSIONS:
            raise UsageError(f"{path}: not a score store of version {STORE_VERSION}")
        try:
            scores = {student: {check: Score(**entry) for check, entry in items.items()}
                      for student, items in data.get("scores", {}).items()}
            pairs = {key: PairDecision(**entry) for key, entry in data.get("pairs", {}).items()}
        except (TypeError, AttributeError) as exc:
            raise UsageError(f"{path}: malformed entry ({exc})") from None
        return cls(layout, scores, pairs)

    def save(self) -> None:
        data = {"store_version": STORE_VERSION,
                "scores": {student: {check: asdict(score) for check, score in sorted(items.items())}
                           for student, items in sorted(self.scores.items()) if items},
                "pairs": {key: asdict(decision) for key, decision in sorted(self.pairs.items())}}
        write_atomic(self.layout.scores(), json.dumps(data, ensure_ascii=False, indent=2) + "\n", mode=0o600)

    def get(self, student: str, check: str) -> Score | None:
        return self.scores.get(student, {}).get(check)

    def for_student(self, student: str) -> StudentScores:
        return dict(self.scores.get(student, {}))

    def put(self, student: str, check: str, score: Score, expected_version: int | None = None) -> Score:
        """Set an entry; `expected_version` (0: no entry yet) must match the current one, else ScoreConflict."""
        current = self.get(student, check)
        have = current.version if current else 0
        if expected_version is not None and expected_version != have:
            raise ScoreConflict(f"{student} / {check} was saved by someone else meanwhile (version {have}, "
                                f"this save was made from version {expected_version}); reload it", current)
        stored = replace(score, version=have + 1, when=score.when or now())
        self.scores.setdefault(student, {})[check] = stored
        return stored


    def put_pair(self, key: str, decision: PairDecision, expected_version: int | None = None) -> PairDecision:
        """Set a pair's decision; `expected_version` as in `put` (ScoreConflict when outdated)."""
        current = self.pairs.get(key)
        have = current.version if current else 0
        if expected_version is not None and expected_version != have:
            raise ScoreConflict(f"the near-copy pair {key} was decided by someone else meanwhile (version {have}, "
                                f"this save was made from version {expected_version}); reload it", None)
        stored = replace(decision, version=have + 1, when=decision.when or now())
        self.pairs[key] = stored
        return stored


@contextlib.contextmanager
def out_lock(layout: OutLayout, wait: float = 0.0) -> Iterator[None]:
    """The OUT folder's write lock (the one a grade run holds), waiting up to `wait` seconds for it."""
    lock = layout.lock()
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise OutBusy(f"another grade run is writing to {layout.root}; wait for it to finish") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)

