"""`grade review OUT`: the human review of written answers and doubtful verdicts (items.py: what; app.py: web)."""

from .items import Review

__all__ = ["Review"]
