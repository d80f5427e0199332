"""grader: grade PyTorch course notebooks in sandboxed kernels, with verdicts decided outside them."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
