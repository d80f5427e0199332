"""Load a submitted file as a notebook, or say exactly why it cannot be graded."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.corpus.words import generate_corpus_id

from .errors import NotebookError

MAX_NOTEBOOK_BYTES = 32 * 1024**2
SUPPORTED_MAJOR = 4


def load_notebook(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> NotebookNode:
    """Read and validate a notebook (nbformat 3 is upgraded to 4); raise NotebookError saying what is wrong."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise NotebookError(f"{path.name}: cannot be read ({exc.strerror})") from None
    if size == 0:
        raise NotebookError(f"{path.name}: the file is empty")
    if size > max_bytes:
        raise NotebookError(f"{path.name}: the file is {size / 1024**2:.0f} MiB, over the {max_bytes // 1024**2} MiB limit")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{path.name}: not UTF-8 text (bad byte at offset {exc.start}); is it really a notebook?") from None
    return parse_notebook(text, path.name)


def parse_notebook(text: str, name: str = "notebook") -> NotebookNode:
    """Parse notebook JSON text; raise NotebookError with a message a student can act on."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise NotebookError(f"{name}: JSON nested too deeply to be a notebook") from None
    if not isinstance(data, dict):
        raise NotebookError(f"{name}: JSON {type(data).__name__} where a notebook object was expected")
    major = data.get("nbformat")
    if not isinstance(major, int):
        raise NotebookError(f"{name}: not a notebook (no integer 'nbformat' field)")
    if major not in (3, SUPPORTED_MAJOR):
        raise NotebookError(f"{name}: unsupported nbformat {major} (this grader reads versions 3 and 4)")
    if major == 4 and not isinstance(data.get("cells"), list):
        raise NotebookError(f"{name}: not a notebook ('cells' is missing or not a list)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing cell ids and the like: repaired below, not worth a warning
        try:
            nb = nbformat.reads(json.dumps(data), as_version=SUPPORTED_MAJOR)
        except Exception as exc:  # nbformat raises many kinds for bad structure
            raise NotebookError(f"{name}: not a valid notebook ({_first_line(exc)})") from None
        _repair(nb, name)
        try:
            nbformat.validate(nb)
        except Exception as exc:  # ValidationError, and nbformat's own error reporting can raise TypeError
            raise NotebookError(f"{name}: not a valid notebook ({_first_line(exc)})") from None
    return nb


def _repair(nb: NotebookNode, name: str) -> None:
    """Fix what students' editors commonly get wrong without changing any code."""
    nb.setdefault("metadata", {})
    for cell in nb.cells:
        if not isinstance(cell, dict):
            raise NotebookError(f"{name}: not a valid notebook (a cell is not a JSON object)")
        cell.setdefault("metadata", {})
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(str(part) for part in cell["source"])
        if cell.get("cell_type") == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
        if "id" not in cell and nb.get("nbformat_minor", 0) >= 5:
            cell["id"] = generate_corpus_id()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def exercise_id_of(nb: NotebookNode, filename: str, known: dict[str, str]) -> str | None:
    """Which exercise a notebook answers: its metadata first, then its file name.

    `known` maps exercise id -> the notebook file name its rubric names (e.g. "01_autograd.ipynb").
    """
    meta = nb.get("metadata", {}).get("grader", {})
    exercise = meta.get("exercise") if isinstance(meta, dict) else None
    if isinstance(exercise, str) and exercise in known:
        return exercise
    return exercise_id_from_filename(filename, known)


def exercise_id_from_filename(filename: str, known: dict[str, str]) -> str | None:
    stem = Path(filename).stem.lower()
    for exercise, notebook in known.items():
        if stem == Path(notebook).stem.lower() or stem == exercise.lower():
            return exercise
    for exercise in known:
        if exercise.lower() in stem:
            return exercise
    return None


# What nbclient (0.10-0.11) reads from a cell to decide whether or how to run it: `skip-execution` skips the
# cell (its stored outputs would survive), `raises-exception` lets it fail; `execution` holds timings of a
# previous run. None of that is the student's to decide.
EXECUTION_TAGS = frozenset({"skip-execution", "raises-exception"})
EXECUTION_METADATA = ("execution",)


def prepare_for_execution(nb: NotebookNode) -> NotebookNode:
    """A copy of the notebook as the grader runs it: no stored outputs, no student say over what runs.

    Only outputs this run produces may count (a stored image in an empty or skipped cell must not pass a
    plots check or reach feedback), so every code cell's outputs and execution count are cleared, and the
    tags and metadata nbclient honours are removed. Sources and markdown are left as they are.
    """
    copy = nbformat.from_dict(nb)
    copy.setdefault("metadata", {}).pop("widgets", None)  # saved widget state can carry output widgets' outputs
    for cell in copy.cells:
        metadata = cell.setdefault("metadata", {})
        tags = metadata.get("tags")
        if isinstance(tags, list):
            kept = [tag for tag in tags if not (isinstance(tag, str) and tag.strip().lower() in EXECUTION_TAGS)]
            if kept:
                metadata["tags"] = kept
            else:
                metadata.pop("tags")
        for key in EXECUTION_METADATA:
            metadata.pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return copy
