"""grader: grade PyTorch course notebooks in sandboxed kernels, with verdicts decided outside them."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "check"]


def check(question: str | None = None, **options: Any) -> None:
    """In Jupyter: run the public checks of `question` on this notebook and show the result (grader.live.check)."""
    from .live import check as live_check

    live_check(question, **options)
