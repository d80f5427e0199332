"""Find a student's written answers, wherever in the notebook they wrote them.

The answer cell is tagged (metadata `grader.answer`), but students often leave it as it is and write in a new
cell below, and editors that rebuild a notebook drop cell metadata. So an answer is looked for in order:

1. the tagged cell, when its text is new (not the template): `answer_cell`, confident;
2. new prose in the question's section: after its prompt (the tagged cell, or the exercise's heading above
   it, matched by text) and before the next heading of the exercise notebook: `below_prompt`, confident;
3. new prose under a heading the student wrote that names the homework ("作业1", "homework 1", "hw1"):
   `under_heading`, not confident;
4. new prose nowhere near any question: `elsewhere`, not confident, offered for every unanswered question.

"New prose" is markdown or raw text the exercise notebook does not have (lines of the distributed notebook do
not count, so an edited prompt counts only for what was added). Only when no new prose is left for a
question is it "not found", which scores 0; every other case goes to the instructor.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nbformat
from nbformat import NotebookNode

Where = Literal["answer_cell", "below_prompt", "under_heading", "elsewhere", "not_found"]
CONFIDENT: frozenset[str] = frozenset({"answer_cell", "below_prompt"})
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*\S)\s*$")


@dataclass(frozen=True)
class LocatedAnswer:
    """A written answer as found in the notebook: its text, where it was, and the cells it came from."""

    text: str | None
    where: Where
    cells: tuple[int, ...] = ()
    heading: str = ""  # the student's heading it was found under (`under_heading`)

    @property
    def found(self) -> bool:
        return self.where != "not_found"

    @property
    def confident(self) -> bool:
        return self.where in CONFIDENT

    @classmethod
    def coerce(cls, value: Any, template: str | None = None) -> "LocatedAnswer":
        """From a LocatedAnswer, its JSON form (a cached run), or the text of the tagged cell (or None)."""
        if isinstance(value, LocatedAnswer):
            return value
        if isinstance(value, dict):
            return cls(value.get("text"), value.get("where", "not_found"), tuple(value.get("cells", ())),
                       value.get("heading", ""))
        if value is None or not str(value).strip() or _normalise(str(value)) == _normalise(template or ""):
            return cls(None, "not_found")
        return cls(str(value), "answer_cell")


@dataclass(frozen=True)
class AnswerSlot:
    """Where the exercise notebook asks for one answer: the template of its cell and the heading above it."""

    answer_id: str
    template: str
    heading: str  # normalised first heading line of the section, "" when there is none
    names: tuple[re.Pattern[str], ...]


def cell_text(cell: Any) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def tagged_answer(notebook: NotebookNode, answer_id: str) -> int | None:
    """The index of the cell tagged as the answer to `answer_id` (metadata grader.answer)."""
    for index, cell in enumerate(notebook.cells):
        meta = cell.get("metadata", {}).get("grader", {})
        if isinstance(meta, dict) and meta.get("answer") == answer_id:
            return index
    return None


def answer_slots(exercise: NotebookNode, answer_ids: list[str]) -> dict[str, AnswerSlot]:
    """The prompt of each answer in the notebook students received."""
    slots = {}
    for answer_id in answer_ids:
        index = tagged_answer(exercise, answer_id)
        if index is None:
            continue
        heading = ""
        for cell in reversed(exercise.cells[:index]):
            line = _heading_of(cell)
            if line is not None:
                heading = line
                break
        slots[answer_id] = AnswerSlot(answer_id, cell_text(exercise.cells[index]), heading,
                                      _names(answer_id, heading))
    return slots


def locate_answers(notebook: NotebookNode, answer_ids: list[str],
                   exercise: NotebookNode | Path | None) -> dict[str, LocatedAnswer]:
    """Each answer's text and where it was found. `exercise`: the notebook students received, if any."""
    if isinstance(exercise, Path):
        exercise = _read_exercise(exercise, exercise.stat().st_mtime_ns) if exercise.is_file() else None
    if exercise is None:  # nothing to compare with: only the tagged cell can be trusted
        return {a: LocatedAnswer.coerce(_tagged_text(notebook, a)) for a in answer_ids}
    slots = answer_slots(exercise, answer_ids)
    known_lines = {_normalise(line) for cell in exercise.cells if cell.get("cell_type") != "code"
                   for line in cell_text(cell).splitlines()}
    boundaries = {h for h in (_heading_of(c) for c in exercise.cells) if h}
    new = {i: text for i, cell in enumerate(notebook.cells) if cell.get("cell_type") in ("markdown", "raw")
           for text in [_new_text(cell_text(cell), known_lines)] if text}
    found: dict[str, LocatedAnswer] = {}
    for answer_id in answer_ids:
        slot = slots.get(answer_id)
        located = _locate(notebook, answer_id, slot, new, boundaries, slots) if slot else None
        if located is None and slot is None:
            located = LocatedAnswer.coerce(_tagged_text(notebook, answer_id))
        if located is not None and located.found:
            found[answer_id] = located
    claimed = {i for answer in found.values() for i in answer.cells}
    stray = tuple(i for i in sorted(new) if i not in claimed)
    leftover = LocatedAnswer("\n\n".join(new[i] for i in stray), "elsewhere", stray) if stray else None
    return {a: found.get(a) or leftover or LocatedAnswer(None, "not_found") for a in answer_ids}


def _locate(notebook: NotebookNode, answer_id: str, slot: AnswerSlot, new: dict[int, str], boundaries: set[str],
            slots: dict[str, AnswerSlot]) -> LocatedAnswer | None:
    cells = notebook.cells
    tagged = tagged_answer(notebook, answer_id)
    if tagged is not None:
        text = cell_text(cells[tagged])
        if text.strip() and _normalise(text) != _normalise(slot.template):
            following = _section(notebook, tagged, boundaries, slots, answer_id)
            extra = [i for i in following if i in new]
            return LocatedAnswer("\n\n".join([text, *(new[i] for i in extra)]), "answer_cell", (tagged, *extra))
    headings = [i for i, c in enumerate(cells) if slot.heading and _heading_of(c) == slot.heading
                and (tagged is None or i < tagged)]
    start = headings[-1] if headings else tagged  # from the prompt's heading: an answer may go above the cell too
    if start is not None:
        prose = [i for i in _section(notebook, start, boundaries, slots, answer_id, inclusive=True) if i in new]
        if prose:
            return LocatedAnswer("\n\n".join(new[i] for i in prose), "below_prompt", tuple(prose))
    for index, cell in enumerate(cells):
        line = _heading_of(cell)
        if line is None or line in boundaries or not any(p.search(line) for p in slot.names):
            continue
        prose = [i for i in _section(notebook, index, boundaries, slots, answer_id, inclusive=True) if i in new]
        if prose:
            return LocatedAnswer("\n\n".join(new[i] for i in prose), "under_heading", tuple(prose), line)
    return None


def _section(notebook: NotebookNode, start: int, boundaries: set[str], slots: dict[str, AnswerSlot],
             answer_id: str, inclusive: bool = False) -> list[int]:
    """Cell indexes from `start` up to the next heading of the exercise (or one naming another homework)."""
    others = [p for a, s in slots.items() if a != answer_id for p in s.names]
    indexes = [start] if inclusive else []
    for index in range(start + 1, len(notebook.cells)):
        line = _heading_of(notebook.cells[index])
        if line is not None and (line in boundaries or any(p.search(line) for p in others)):
            break
        indexes.append(index)
    return indexes


def _names(answer_id: str, heading: str) -> tuple[re.Pattern[str], ...]:
    """Patterns a student's own heading for this homework would match: 作业1, homework 1, hw1, HW 1."""
    numbers = set(re.findall(r"\d+", answer_id)) | set(re.findall(r"(?:作业|homework|hw)\s*(\d+)", heading, re.I))
    patterns = [rf"(?<![a-z])(?:作业|homework|hw)\s*[#:：.]?\s*{n}(?!\d)" for n in sorted(numbers)]
    patterns.append(rf"(?<![a-z0-9]){re.escape(answer_id)}(?![a-z0-9])")
    return tuple(re.compile(p, re.I) for p in patterns)


def _heading_of(cell: Any) -> str | None:
    """The normalised first heading line of a markdown cell, if its first non-empty line is a heading."""
    if cell.get("cell_type") != "markdown":
        return None
    for line in cell_text(cell).splitlines():
        if line.strip():
            match = _HEADING.match(line)
            return _normalise(match.group(1)) if match else None
    return None


def _new_text(text: str, known_lines: set[str]) -> str:
    """The lines of a cell the exercise notebook does not have (its template and prompts left out)."""
    lines = [line for line in text.splitlines() if line.strip() and _normalise(line) not in known_lines]
    return "\n".join(lines).strip()


def _tagged_text(notebook: NotebookNode, answer_id: str) -> str | None:
    index = tagged_answer(notebook, answer_id)
    return None if index is None else cell_text(notebook.cells[index])


@functools.lru_cache(maxsize=16)
def _read_exercise(path: Path, mtime_ns: int) -> NotebookNode:
    return nbformat.read(path, as_version=4)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def written_answer(notebook: NotebookNode, answer_id: str, exercise: NotebookNode | Path | None) -> str | None:
    """The text a person scores for `answer_id`: the located answer, else the answer cell as it stands (None
    when the notebook has no such cell). Scoring, the review and `--manual` imports all fingerprint this text."""
    located = locate_answers(notebook, [answer_id], exercise)[answer_id]
    return located.text if located.found else _tagged_text(notebook, answer_id)
