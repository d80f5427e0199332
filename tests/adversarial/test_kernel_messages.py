"""Kernel messages that student code mangled or forged are dropped by the trusted side, never raised."""

from __future__ import annotations

import pytest
from jupyter_client.session import Session, json_packer

from grader.kernel_messages import MALFORMED, GuardedSession, well_formed

KEY = b"k" * 32


def kernel_side(pack=json_packer) -> Session:
    session = Session(key=KEY)
    session.pack = pack  # after construction, as student code in the kernel can do (no round-trip check)
    return session


def wire(session: Session, msg_type: str, content: dict, parent: dict | None = None) -> list[bytes]:
    msg = session.msg(msg_type, content, parent=parent or {})
    parts = session.serialize(msg)
    return [p if isinstance(p, bytes) else p.encode() for p in parts[1:]]  # after the delimiter's ident list


def _received(parts: list[bytes]) -> dict:
    return GuardedSession(key=KEY).deserialize(parts)


def test_a_message_packed_by_a_patched_json_dumps_is_dropped():
    # What a kernel sends once a student ran `json.dumps = lambda *a, **k: '{"ok": true}'` (json packer).
    mangled = kernel_side(pack=lambda obj: b'{"ok": true}')
    parts = wire(mangled, "execute_reply", {"status": "ok"})
    with pytest.raises(KeyError):
        Session(key=KEY).deserialize(parts)  # what jupyter_client alone does in the grader's process
    message = _received(parts)
    assert message["msg_type"] == MALFORMED and message["parent_header"] == {}


@pytest.mark.parametrize("msg_type, content", [
    ("status", {"no_state": 1}),
    ("stream", {"name": "stdout"}),
    ("error", {"ename": "E", "evalue": "v", "traceback": "not a list"}),
    ("execute_result", {"data": {}, "metadata": {}}),
    ("display_data", {"data": "text"}),
])
def test_a_forged_message_missing_what_readers_index_is_dropped(msg_type, content):
    parts = wire(kernel_side(), msg_type, content, parent={"msg_id": "request-1"})
    assert _received(parts)["msg_type"] == MALFORMED


def test_a_bad_signature_or_garbage_is_dropped():
    parts = wire(kernel_side(), "status", {"execution_state": "idle"})
    assert _received([b"0" * 64, *parts[1:]])["msg_type"] == MALFORMED
    assert _received([b"junk"])["msg_type"] == MALFORMED


def test_well_formed_messages_pass_unchanged():
    parts = wire(kernel_side(), "status", {"execution_state": "idle"}, parent={"msg_id": "request-1"})
    message = _received(parts)
    assert message["msg_type"] == "status" and message["parent_header"]["msg_id"] == "request-1"
    assert well_formed(message)
