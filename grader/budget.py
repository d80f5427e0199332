"""A notebook's two budgets: bytes for everything its kernel sends while the cells run (with a record of what was
cut), and seconds of wall time for everything (start-up, cells, checks, restarts).

Every message counts, whatever its type: outputs, display updates (times the outputs they overwrite), widget
and other comm messages, their metadata and binary buffers. A message that does not fit is not kept; what was
cut is named per cell, by message type. The checks' calls are not counted here: each call's answer has its own
cap (`Limits.response_bytes`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# Message types that store nothing in the notebook: counted, but never named as cut.
KEEPS_NOTHING = frozenset({"status", "execute_input"})
# Named by their type in a cell note; any other type (the kernel can send any string) is "other".
KNOWN_TYPES = frozenset({"stream", "display_data", "update_display_data", "execute_result", "error",
                         "clear_output", "comm_open", "comm_msg", "comm_close"})
OVERSIZE = "oversize_message"  # a message over its channel's cap, dropped by the relay (grader/zmtp_relay.py)


def message_size(msg: dict[str, Any]) -> int:
    """About the bytes `msg` takes as JSON: the strings and numbers of its content and metadata, plus its
    binary buffers. Walks without recursion and without building a JSON copy (a message can be 20 MiB)."""
    total = 0
    stack: list[Any] = [msg.get("content"), msg.get("metadata")]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            total += 2 + len(item)
            stack.extend(item)
        else:
            total += 8
    for buffer in msg.get("buffers") or ():
        try:
            total += memoryview(buffer).nbytes
        except TypeError:
            total += 8
    return total


@dataclass
class OutputBudget:
    """Bytes a notebook run may keep; `admit` spends them, and what did not fit is recorded by cell."""

    limit: int
    spent: int = 0
    cut: dict[int, dict[str, list[int]]] = field(default_factory=dict)  # cell -> type -> [messages, bytes]

    def admit(self, cell_index: int, msg_type: str, size: int) -> bool:
        """True (and the bytes spent) when a message of `size` bytes still fits; else it is recorded as cut."""
        if self.spent + size <= self.limit:
            self.spent += size
            return True
        if msg_type not in KEEPS_NOTHING:
            self.drop(cell_index, msg_type, size)
        return False

    def drop(self, cell_index: int, msg_type: str, size: int) -> None:
        """Record a message of `cell_index` that was not kept (over budget, over its channel's cap, or one the grader
        could not read)."""
        name = msg_type if msg_type in KNOWN_TYPES or msg_type in ("unreadable", OVERSIZE) else "other"
        entry = self.cut.setdefault(cell_index, {}).setdefault(name, [0, 0])
        entry[0] += 1
        entry[1] += size

    def describe(self, cell_index: int) -> str:
        """What was cut in `cell_index`, e.g. `97 comm_msg (1.4 GiB), 3 update_display_data (9.0 MiB)`."""
        entries = sorted(self.cut.get(cell_index, {}).items(), key=lambda item: -item[1][1])
        return ", ".join(f"{count} {name} ({human_bytes(size)})" for name, (count, size) in entries)


def human_bytes(size: float) -> str:
    """`size` bytes as B, KiB, MiB or GiB with one decimal."""
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class WallBudget:
    """A notebook's seconds of wall time, counted from the first `start()`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._deadline: float | None = None

    def start(self) -> None:
        if self._deadline is None:
            self._deadline = time.monotonic() + self.seconds

    def remaining(self) -> float:
        """Seconds left (all of them before the clock starts); zero or less once spent."""
        return self.seconds if self._deadline is None else self._deadline - time.monotonic()
