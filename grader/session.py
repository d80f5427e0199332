"""What a check sees of the student (`StudentSession`), over any channel to the kernel agent.

A `Channel` carries one agent request (grader/sandboxed/kernel_agent.py) and returns the decoded, validated
answer. Two implement it: `kernel.KernelSession` (the sandboxed kernel, when grading) and `live.LiveChannel`
(the agent in a private namespace of a running Jupyter kernel, for `grader.check`). The session on top is the
same for both, so a check sees exactly the same plain data in either place.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Protocol

from nbformat import NotebookNode

from . import codec
from .codec import MissingDefinition, StudentException


class Channel(Protocol):
    """Sends one agent request (without nonce and limits: the channel adds them) and returns its answer."""

    def request(self, request: dict[str, Any], timeout: float | None = None) -> Any:
        """The answer's value as plain data; raises what `codec.decode_response` raises, `CallTimeout`,
        `KernelDied`. `timeout` None means the channel's own default."""
        ...


class StudentSession:
    """The `student` fixture: calls into the student's namespace, and the executed notebook."""

    def __init__(self, channel: Channel, notebook: NotebookNode) -> None:
        self._channel = channel
        self.notebook = notebook
        self._shared: dict[str, tuple[bool, Any]] = {}

    def call(self, target: str | codec.Handle, *args: Any, _seed: int | None = None, _timeout: float | None = None,
             _keep: bool = False, _method: str | None = None, **kwargs: Any) -> Any:
        """Call a function (or class) the notebook defines; return its result as plain data.

        `_seed` seeds the student's random generators first, `_keep` keeps the result in the kernel and returns
        a `Handle` to it, `_timeout` overrides the call time limit (ignored in Jupyter, where there is none).
        """
        fields = codec.call_fields(target, args, kwargs, method=_method, seed=_seed, keep=_keep)
        return self._channel.request(fields, _timeout)

    def call_shared(self, target: str, *args: Any, _seed: int, **kwargs: Any) -> Any:
        """`call` for a seeded call that several checks judge: a call identical to one an earlier check made on
        this notebook (same target, arguments and seed) returns a copy of that result, or raises that exception,
        instead of running again (a training run can take a second)."""
        key = json.dumps(codec.call_fields(target, args, kwargs, seed=_seed), sort_keys=True, default=str)
        if key not in self._shared:
            try:
                self._shared[key] = (True, self.call(target, *args, _seed=_seed, **kwargs))
            except (StudentException, MissingDefinition) as exc:  # deterministic too: the same next time
                self._shared[key] = (False, exc)
        returned, outcome = self._shared[key]
        if not returned:
            raise outcome
        return copy.deepcopy(outcome)

    def call_method(self, handle: codec.Handle, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call `method` on an object kept in the kernel (`call(..., _keep=True)` returned its handle)."""
        return self.call(handle, *args, _method=method, **kwargs)

    def defines(self, name: str) -> bool:
        """True when the notebook defines `name` (a dotted path is followed)."""
        return bool(self._channel.request({"op": "defines", "target": name}))

    def variable(self, name: str) -> Any:
        """The value of a name the notebook defines, as plain data."""
        return self._channel.request({"op": "get", "target": name})

    def answer(self, answer_id: str) -> str | None:
        """The text of the written answer `answer_id`, or None when the notebook has no such cell."""
        return answer_text(self.notebook, answer_id)

    def image_outputs(self) -> int:
        """How many images the executed notebook displayed."""
        return sum(
            1
            for cell in self.notebook.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if "image/png" in out.get("data", {})
        )


def answer_text(notebook: NotebookNode, answer_id: str) -> str | None:
    """The text of the written-answer cell tagged with `answer_id` (metadata grader.answer)."""
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("grader", {})
        if isinstance(meta, dict) and meta.get("answer") == answer_id:
            return cell.source if isinstance(cell.source, str) else "".join(cell.source)
    return None
