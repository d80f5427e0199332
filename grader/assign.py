"""Build student exercise notebooks from reference notebooks (`grade assign`).

Markers (docs/ARCHITECTURE.md, "Notebook markers"):
- code cells: the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become
  ``raise NotImplementedError("TODO: ...")`` at the indent of the BEGIN line;
- cells tagged ``hidden`` are removed;
- markdown cells: ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` becomes the answer template;
- outputs and execution counts are cleared; notebook metadata (``grader.exercise``) is kept.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.errors import AssignError

__all__ = ["ANSWER_TEMPLATE", "HIDDEN_TAG", "assign", "build_exercise"]

ANSWER_TEMPLATE = "_在此作答 / Write your answer here._"
HIDDEN_TAG = "hidden"

_CODE_BEGIN = "### BEGIN SOLUTION"
_CODE_END = "### END SOLUTION"
_MD_BEGIN = "<!-- BEGIN SOLUTION -->"
_MD_END = "<!-- END SOLUTION -->"
_DEF = re.compile(r"^(\s*)(?:async\s+def|def|class)\s+([A-Za-z_]\w*)")


def build_exercise(reference_nb: NotebookNode, *, name: str = "<notebook>") -> NotebookNode:
    """Return the exercise built from `reference_nb` (which is left unchanged).

    `name` only labels error messages. Raises AssignError for unbalanced or nested markers,
    naming the notebook and the cell's index in the reference notebook.
    """
    exercise = copy.deepcopy(reference_nb)
    cells = []
    for index, cell in enumerate(exercise.cells):
        if HIDDEN_TAG in (cell.get("metadata", {}).get("tags") or []):
            continue
        where = f"{name}: cell {index}"
        if cell.cell_type == "code":
            cell.source = _replace_code_regions(cell.source, where)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = _replace_markdown_regions(cell.source, where)
            cell.pop("attachments", None)
        cells.append(cell)
    exercise.cells = cells
    return exercise


def assign(reference_dir: Path, exercises_dir: Path) -> list[Path]:
    """Build an exercise for every ``*.ipynb`` directly in `reference_dir`; return the paths written.

    Files are written with nbformat.write, each atomically (temporary file, then rename).
    Nothing is written if any reference notebook is malformed.
    """
    reference_dir, exercises_dir = Path(reference_dir), Path(exercises_dir)
    if not reference_dir.is_dir():
        raise AssignError(f"{reference_dir}: not a directory")
    built = []
    for path in sorted(reference_dir.glob("*.ipynb")):
        try:
            reference_nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # nbformat raises several unrelated types for unreadable files
            raise AssignError(f"{path.name}: cannot read notebook: {exc}") from None
        exercise = build_exercise(reference_nb, name=path.name)
        try:
            nbformat.validate(exercise)
        except nbformat.ValidationError as exc:
            raise AssignError(f"{path.name}: the built exercise is not a valid notebook: {exc}") from None
        built.append((path.name, exercise))
    exercises_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, exercise in built:
        target = exercises_dir / file_name
        _write_atomically(exercise, target)
        written.append(target)
    return written


def _replace_code_regions(source: str, where: str) -> str:
    lines = source.split("\n")
    out: list[str] = []
    begin: int | None = None
    indent = ""
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith(_CODE_BEGIN):
            if begin is not None:
                raise AssignError(f"{where}: line {number}: {_CODE_BEGIN} inside the region opened on line {begin}")
            begin = number
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}raise NotImplementedError("TODO: {_todo_label(lines[: number - 1], indent)}")')
        elif stripped.startswith(_CODE_END):
            if begin is None:
                raise AssignError(f"{where}: line {number}: {_CODE_END} without {_CODE_BEGIN}")
            begin = None
        elif begin is None:
            out.append(line)
    if begin is not None:
        raise AssignError(f"{where}: line {begin}: {_CODE_BEGIN} has no matching {_CODE_END}")
    return "\n".join(out)


def _todo_label(preceding: list[str], indent: str) -> str:
    """'implement <Class.method>' for the def/class chain enclosing a region at `indent`."""
    names: list[str] = []
    width = len(indent)
    for line in reversed(preceding):
        match = _DEF.match(line)
        if match and len(match.group(1)) < width:
            names.append(match.group(2))
            width = len(match.group(1))
    return "implement " + ".".join(reversed(names)) if names else "write your code here"


def _replace_markdown_regions(source: str, where: str) -> str:
    out = []
    position = 0
    while True:
        start = source.find(_MD_BEGIN, position)
        end = source.find(_MD_END, position)
        if start == -1:
            if end != -1:
                raise AssignError(f"{where}: {_MD_END} without {_MD_BEGIN}")
            out.append(source[position:])
            return "".join(out)
        if end == -1:
            raise AssignError(f"{where}: {_MD_BEGIN} has no matching {_MD_END}")
        if end < start:
            raise AssignError(f"{where}: {_MD_END} without {_MD_BEGIN}")
        nested = source.find(_MD_BEGIN, start + len(_MD_BEGIN))
        if nested != -1 and nested < end:
            raise AssignError(f"{where}: {_MD_BEGIN} inside another solution region")
        out.append(source[position:start])
        out.append(ANSWER_TEMPLATE)
        position = end + len(_MD_END)


def _write_atomically(nb: NotebookNode, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
