"""`grade review OUT`: the human review of written answers, doubtful verdicts and near-copy pairs (items.py: what;
pairs.py: near-copies; mathspans.py: math through Markdown; page.py + static/katex/: the page; app.py: web)."""

from .items import Review

__all__ = ["Review"]
