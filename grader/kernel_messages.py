"""The trusted side's reading of kernel messages: a malformed one is dropped, never a grader exception.

Student code runs in the process that packs the kernel's messages: it can replace `json.dumps` (which
jupyter_client's packer uses when orjson is not installed), the session's `pack`, or send well-signed
messages of any shape. jupyter_client's `Session.deserialize` then fails with a KeyError ('msg_id') inside
whatever was waiting for a message, and the notebook came back "the grader failed on this notebook". Here such
a message (or one the relay cut short, or one without the delimiter) becomes one that answers no request: every reader matches replies by msg_id and skips it, and the
kernel, mute to the grader, is handled like any kernel that stops answering (timeout, restart, re-run).
"""

from __future__ import annotations

from typing import Any

from jupyter_client.session import Session

from .zmtp_relay import is_dropped

MALFORMED = "grader_malformed"
# The content keys (and their types) the readers (nbclient, grader/kernel.py) index without checking.
REQUIRED_CONTENT: dict[str, dict[str, type | tuple[type, ...]]] = {
    "status": {"execution_state": str},
    "execute_reply": {"status": str},
    "stream": {"name": str, "text": str},
    "error": {"ename": str, "evalue": str, "traceback": list},
    "display_data": {"data": dict, "metadata": dict},
    "update_display_data": {"data": dict, "metadata": dict},
    "execute_result": {"data": dict, "metadata": dict, "execution_count": (int, type(None))},
    "clear_output": {},
    "kernel_info_reply": {},
}


class GuardedSession(Session):
    """A jupyter_client Session whose `deserialize` turns a malformed or forged message into a placeholder."""

    def feed_identities(self, msg_list: list, copy: bool = True) -> tuple[list, list]:
        """The identities and the rest; a message without the delimiter has no rest (`deserialize` drops it)."""
        try:
            return super().feed_identities(msg_list, copy=copy)
        except ValueError:
            return [], []

    def deserialize(self, msg_list: list, content: bool = True, copy: bool = True) -> dict[str, Any]:
        if is_dropped(msg_list):  # the relay cut it short (grader/zmtp_relay.py): the signed parts alone pass
            return placeholder()
        try:
            message = super().deserialize(msg_list, content=content, copy=copy)
        except Exception:  # bad signature, unparsable parts, a header without msg_id: student-shaped bytes
            return placeholder()
        return message if well_formed(message, content) else placeholder()


def well_formed(message: Any, content: bool = True) -> bool:
    """The message has the shape every reader relies on (header, parent, metadata, content and its keys)."""
    if not isinstance(message, dict):
        return False
    header = message.get("header")
    if not isinstance(header, dict) or not isinstance(header.get("msg_id"), str) or \
            not isinstance(header.get("msg_type"), str):
        return False
    if not isinstance(message.get("parent_header"), dict) or not isinstance(message.get("metadata"), dict):
        return False
    parent_id = message["parent_header"].get("msg_id")
    if parent_id is not None and not isinstance(parent_id, str):
        return False
    if not content:
        return True
    body = message.get("content")
    if not isinstance(body, dict):
        return False
    for key, kind in REQUIRED_CONTENT.get(header["msg_type"], {}).items():
        if key not in body or not isinstance(body[key], kind):
            return False
    return True


def placeholder() -> dict[str, Any]:
    """A message that is the reply to nothing (empty msg_id and parent), so that every reader skips it."""
    header = {"msg_id": "", "msg_type": MALFORMED, "session": "", "username": "", "date": None, "version": ""}
    return {"header": header, "msg_id": "", "msg_type": MALFORMED, "parent_header": {}, "metadata": {},
            "content": {}, "buffers": []}
