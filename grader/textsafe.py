"""Student text as data: one place that makes a string safe where it is printed or written as text.

Student ids, file names and exception messages are chosen by students. Before they reach a terminal, a
Markdown file or a spreadsheet they go through one of these helpers:

- `plain(text)`: no control characters (escape sequences removed whole: clear-screen, OSC 8 hyperlinks,
  window titles), no C1 controls, no bidirectional overrides; newlines and tabs kept.
- `for_terminal(text)`: `plain`, then rich markup escaped (`[x]alice` shows as `[x]alice`, not `alice`).
- `for_markdown(text)`: `plain` on one line, then Markdown and HTML escaped (safe in a table cell).
- `csv_text(rows)`: CSV whose text cells cannot run as a spreadsheet formula (OWASP's CSV-injection advice):
  a cell starting with `= + - @ '`, a tab, CR or LF (after leading spaces), or reading `Points Possible`
  (Canvas's header row) gets one leading `'` and is quoted. `csv_value(cell)` reads a cell back: it drops
  one leading `'` when there is one, and gives the id exactly as the grader knew it.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from rich.markup import escape as _rich_escape

# ESC-introduced sequences, whole: CSI (ESC [ ... final), OSC/DCS/APC/PM/SOS (ESC ] ... BEL or ESC \), other ESC x
_ESCAPE_SEQUENCE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?", re.S)
# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), bidi embeddings/overrides/isolates
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\`*_\[\]|#<>!~])")
_FORMULA_START = ("=", "+", "-", "@", "'", "\t", "\r", "\n")
_RESERVED_CELLS = frozenset({"points possible"})


def plain(text: object) -> str:
    """`text` without control characters or escape sequences; newlines and tabs are kept."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", str(text)))


def one_line(text: object) -> str:
    """`plain(text)` with every run of whitespace (newlines included) made one space."""
    return " ".join(plain(text).split())


def for_terminal(text: object) -> str:
    """Text to hand to a rich console as markup: control characters gone, markup shown literally."""
    return _rich_escape(plain(text))


def for_markdown(text: object) -> str:
    """One line safe inside Markdown and a table cell: no markup, links, HTML or line breaks of its own."""
    return _MARKDOWN.sub(r"\\\1", one_line(text).replace("&", "&amp;"))


def csv_cell(value: object) -> str:
    """A cell's text, neutralised when a spreadsheet could read it as a formula or as Canvas's header row."""
    text = "" if value is None else str(value)
    if text.lstrip(" ").startswith(_FORMULA_START) or text.strip().lower() in _RESERVED_CELLS:
        return "'" + text
    return text


def csv_value(cell: str) -> str:
    """Reverse `csv_cell`: the value the grader wrote (one leading `'` dropped)."""
    return cell[1:] if cell.startswith("'") else cell


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """CSV text (comma, `\\n` line ends) with every cell through `csv_cell`; neutralised cells are always quoted."""
    return "".join(",".join(_field(value) for value in row) + "\n" for row in rows)


class Verbatim(str):
    """A cell the grader itself writes (a header label): `csv_text` leaves it as it is."""


def _field(value: object) -> str:
    if isinstance(value, (int, float, Verbatim)) and not isinstance(value, bool):
        return str(value)  # the grader's own numbers and labels
    raw = "" if value is None else str(value)
    text = csv_cell(raw)
    if text != raw or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
