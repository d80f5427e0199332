"""The batch's table on the instructor's terminal: scores, pending points, lateness; student text shown as text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from ..textsafe import for_terminal


def results_table(reports: list[dict[str, Any]], exercises: list[str], out_dir: Path) -> Table:
    """The batch's terminal table; student ids and names are shown as text (no markup, no control characters).

    A `name` column (the roster's name, else the zip's, `LATE` when Canvas said so) when the LMS named anyone."""
    table = Table(title=for_terminal(f"{len(reports)} submission(s) graded -> {out_dir}"))
    table.add_column("student")
    named = any(r.get("lms") for r in reports)
    if named:
        table.add_column("name")
    table.add_column("score", justify="right")
    for exercise in exercises:
        table.add_column(for_terminal(exercise))
    for r in reports:
        cells = [score_text(e) + ("" if e["status"] == "graded" else f" ({e['status']})") for e in r["exercises"]]
        lms = r.get("lms", {})
        name = [for_terminal(" ".join(filter(None, [lms.get("real_name") or lms.get("name", ""),
                                                     "LATE" if lms.get("late") else ""])))] if named else []
        table.add_row(for_terminal(r["student"]), *name, score_text(r), *cells)
    return table


def score_text(entry: dict[str, Any]) -> str:
    """`90/100`, `90/100 (+10 pending)` while points await a person's score, `72/100 (2 days late, raw 90)`."""
    pending = entry.get("pending", 0)
    late = entry.get("late")
    final = entry.get("final_score", entry["score"])
    text = f"{final:g}/{entry['max_score']:g}" + (f" (+{pending:g} pending)" if pending else "")
    if late:
        return text + f" ({late['days']} day{'s' * (late['days'] != 1)} late, raw {entry['score']:g})"
    return text + (f" (raw {entry['score']:g})" if final != entry["score"] else "")
