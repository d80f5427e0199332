"""Near-copies: pairs of submissions whose code is mostly the same, for a person to look at (never a verdict).

Token-level winnowing by copydetect (the maintained library behind the tool of the same name): identifiers and
literals are normalised, so renamed variables still match, and the exercise template's own code is left out
twice, its unchanged cells dropped and its fingerprints passed as boilerplate (partly edited cells).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from .files import write_atomic
from .layout import OutLayout

NOISE = 25  # copydetect's noise threshold k: matches shorter than this many normalised tokens are ignored
WINDOW = 1  # winnowing window: 1 keeps every k-gram (notebooks are short, precision matters more than speed)
THRESHOLD = 0.6  # both students' code must be at least this much shared to be listed
MAX_PASSAGES = 5
MAX_PASSAGE_CHARS = 600


@dataclass(frozen=True)
class NearCopy:
    """Two students whose code for one exercise is mostly shared: `similarity` of the less-covered of the two."""

    exercise: str
    first: str
    second: str
    similarity: float
    passages: tuple[str, ...]  # the shared code, as in `first`'s notebook
    fingerprint: str = ""  # of both students' code: a decision on the pair holds while this is unchanged

    @property
    def key(self) -> str:
        """The pair's id in the score store and the review API: `exercise/first/second`."""
        return f"{self.exercise}/{self.first}/{self.second}"


def notebook_code(notebook: dict[str, Any], template_cells: frozenset[str] = frozenset()) -> str:
    """The code cells of a notebook (a parsed .ipynb) joined, leaving out cells identical to a template cell."""
    parts = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if source.strip() and source.strip() not in template_cells:
            parts.append(source.rstrip() + "\n")
    return "\n".join(parts)


def _fingerprint(code: str, boilerplate: Any = None) -> Any:
    from copydetect import CodeFingerprint

    return CodeFingerprint("notebook.py", NOISE, WINDOW, boilerplate=boilerplate if boilerplate is not None else [],
                           language="python", fp=io.StringIO(code))


def near_copies(codes: dict[str, str], template: str = "", exercise: str = "",
                threshold: float = THRESHOLD) -> list[NearCopy]:
    """The pairs of `codes` (student -> code of one exercise) sharing at least `threshold` of both, most first."""
    from copydetect import compare_files

    boilerplate = sorted(_fingerprint(template).hashes) if template.strip() else []
    prints = {student: _fingerprint(code, boilerplate) for student, code in sorted(codes.items()) if code.strip()}
    found = []
    for a, b in combinations(sorted(prints), 2):
        overlap, (share_a, share_b), (slices_a, _) = compare_files(prints[a], prints[b])
        similarity = float(min(share_a, share_b))
        if overlap and similarity >= threshold:
            raw = prints[a].raw_code
            passages = tuple(_whole_lines(raw, int(start), int(end))[:MAX_PASSAGE_CHARS]
                             for start, end in list(zip(slices_a[0], slices_a[1]))[:MAX_PASSAGES])
            found.append(NearCopy(exercise, a, b, similarity, tuple(p for p in passages if p),
                                  _pair_print(codes[a], codes[b])))
    return sorted(found, key=lambda c: (-c.similarity, c.exercise, c.first, c.second))


def _pair_print(first: str, second: str) -> str:
    return "sha256:" + hashlib.sha256(json.dumps([first, second]).encode("utf-8")).hexdigest()


def _whole_lines(code: str, start: int, end: int) -> str:
    """The lines a shared slice touches (copydetect maps slices back from normalised tokens only roughly)."""
    first = code.rfind("\n", 0, max(start, 0)) + 1
    last = code.find("\n", max(end - 1, first))
    return code[first:len(code) if last < 0 else last].strip()


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def class_near_copies(layout: OutLayout, reports: list[dict[str, Any]], course: Any | None,
                      threshold: float = THRESHOLD) -> list[NearCopy]:
    """Near-copies among the executed notebooks in OUT, exercise by exercise (empty when copydetect is missing)."""
    try:
        import copydetect  # noqa: F401
    except ImportError:
        return []
    found: list[NearCopy] = []
    exercises = sorted({ex["id"] for r in reports for ex in r["exercises"]})
    for exercise in exercises:
        blank = _read(course.exercise_notebook(exercise)) if course is not None else None
        template = notebook_code(blank) if blank else ""
        cells = frozenset(notebook_code({"cells": [c]}).strip() for c in (blank or {}).get("cells", [])) - {""}
        codes = {}
        for report in reports:
            for ex in report["exercises"]:
                if ex["id"] == exercise and ex.get("notebook"):
                    nb = _read(layout.executed(report["student"], ex["notebook"]))
                    if nb:
                        codes[report["student"]] = notebook_code(nb, cells)
        found += near_copies(codes, template, exercise, threshold)
    return sorted(found, key=lambda c: (-c.similarity, c.exercise, c.first, c.second))


def write_near_copies(layout: OutLayout, copies: list[NearCopy]) -> None:
    """Keep the pairs under .instructor for `grade review` (it lists them without running copydetect again)."""
    data = [{"exercise": c.exercise, "first": c.first, "second": c.second, "similarity": c.similarity,
             "passages": list(c.passages), "fingerprint": c.fingerprint} for c in copies]
    write_atomic(layout.near_copies(), json.dumps({"near_copies": data}, ensure_ascii=False, indent=1) + "\n",
                 mode=0o600)


def read_near_copies(layout: OutLayout) -> list[NearCopy]:
    """The pairs the last export found (none when it has not run or the file is unreadable)."""
    data = _read(layout.near_copies()) or {}
    try:
        return [NearCopy(str(c["exercise"]), str(c["first"]), str(c["second"]), float(c["similarity"]),
                         tuple(str(p) for p in c.get("passages", [])), str(c.get("fingerprint", "")))
                for c in data.get("near_copies", [])]
    except (KeyError, TypeError, ValueError, AttributeError):
        return []
