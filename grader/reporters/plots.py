"""The student's own plots: PNG outputs of an executed notebook, checked before they are embedded anywhere.

The executed notebook is the student's output, so every image is decoded, must be a real PNG and is
re-encoded by us: nothing the student wrote reaches an HTML attribute unchecked.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PLOTS = 12
MAX_PLOT_BYTES = 2 * 1024**2
MAX_NOTEBOOK_BYTES = 64 * 1024**2


@dataclass(frozen=True)
class Plot:
    """One PNG image a code cell displayed."""

    cell_index: int
    png: bytes

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def decode_png(data: Any) -> bytes | None:
    """The bytes of a notebook `image/png` value (str or list of str), or None unless it is a PNG."""
    if isinstance(data, list) and all(isinstance(part, str) for part in data):
        data = "".join(data)
    if not isinstance(data, str) or len(data) > MAX_PLOT_BYTES * 4 // 3 + 1024:
        return None
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if raw.startswith(PNG_SIGNATURE) and len(raw) <= MAX_PLOT_BYTES else None


def notebook_plots(path: Path, limit: int = MAX_PLOTS) -> tuple[list[Plot], int]:
    """Up to `limit` valid PNG outputs of the notebook at `path`, and how many valid ones it has in all."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return [], 0
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return [], 0
    plots: list[Plot] = []
    total = 0
    cells = nb.get("cells") if isinstance(nb, dict) else None
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs") or []:
            data = output.get("data") if isinstance(output, dict) else None
            png = decode_png(data.get("image/png")) if isinstance(data, dict) else None
            if png is None:
                continue
            total += 1
            if len(plots) < limit:
                plots.append(Plot(index, png))
    return plots, total
