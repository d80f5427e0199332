"""The executed-notebook cells an item of `grade review` shows: its answer cell and the code its question uses.

Outputs are text (escaped by the page) and PNG plots only, each checked by reporters/plots.py's `decode_png`
(a PNG's signature, a size cap) and sent as base64 for a `data:image/png` URL; any other output (HTML, SVG,
JavaScript a student's code printed) is never rendered.
"""

from __future__ import annotations

import ast
import base64
from typing import Any

from nbformat import NotebookNode

from ..answers import tagged_answer
from ..reporters.plots import decode_png

MAX_CELLS = 6
MAX_TEXT = 4000


def _defines(source: str, names: set[str]) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return any(f"def {n}" in source or f"class {n}" in source for n in names)
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names
               for node in tree.body)


def _outputs(cell: Any) -> list[dict[str, str]]:
    shown = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            shown.append({"text": str(output.get("text", ""))[:MAX_TEXT]})
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            png = decode_png(data.get("image/png"))
            if png is not None:
                shown.append({"png": base64.b64encode(png).decode("ascii")})
            elif "text/plain" in data:
                shown.append({"text": str(data["text/plain"])[:MAX_TEXT]})
        elif kind == "error":
            shown.append({"text": f"{output.get('ename', '')}: {output.get('evalue', '')}"[:MAX_TEXT]})
    return shown


def item_cells(notebook: NotebookNode | None, answer: str = "", uses: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The cells to show: the tagged answer cell (a written answer) and the cells after it up to the next markdown
    cell, or the code cells defining the question's `uses`, with their outputs."""
    if notebook is None:
        return []
    picked: list[int] = []
    if answer:
        start = tagged_answer(notebook, answer)
        if start is not None:
            picked.append(start)
            for index in range(start + 1, len(notebook.cells)):
                if notebook.cells[index].cell_type != "code":
                    break
                picked.append(index)
    if uses:
        picked += [i for i, cell in enumerate(notebook.cells)
                   if cell.cell_type == "code" and _defines(cell.source, set(uses)) and i not in picked]
    return [{"index": i, "type": notebook.cells[i].cell_type, "source": notebook.cells[i].source[:MAX_TEXT],
             "outputs": _outputs(notebook.cells[i]) if notebook.cells[i].cell_type == "code" else []}
            for i in sorted(picked)[:MAX_CELLS]]
