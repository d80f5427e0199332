"""The ZMTP relay between the grader's sockets and a kernel's: real pyzmq sockets on ipc paths, no kernel."""

from __future__ import annotations

import os
import socket
import threading
import time
import tracemalloc

import psutil
import pytest
import zmq

from grader.kernel_messages import MALFORMED, GuardedSession
from grader.zmtp_relay import DROPPED, Drop, ProtocolError, Relay, ZmtpCounter, is_dropped

CAP = 1024**2


@pytest.fixture
def wired(tmp_path):
    """A kernel-side PUB and ROUTER bound in tmp_path, grader-side SUB and DEALER connected through a relay."""
    context = zmq.Context()
    context.setsockopt(zmq.RECONNECT_IVL, 10)
    kernel_ip = str(tmp_path / "k")
    relay = Relay({"iopub": CAP, "shell": CAP})
    relay.listen(kernel_ip, {"iopub": 1, "shell": 2})
    pub, router = context.socket(zmq.PUB), context.socket(zmq.ROUTER)
    pub.bind(f"ipc://{kernel_ip}-1")
    router.bind(f"ipc://{kernel_ip}-2")
    sub, dealer = context.socket(zmq.SUB), context.socket(zmq.DEALER)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    dealer.setsockopt(zmq.IDENTITY, b"grader")
    for sock in (sub, dealer):
        sock.setsockopt(zmq.RCVTIMEO, 10_000)
    sub.connect(f"ipc://{relay.ip}-1")
    dealer.connect(f"ipc://{relay.ip}-2")
    _subscribed(pub, sub)
    yield relay, pub, sub, router, dealer
    context.destroy(linger=0)
    relay.close()


def _subscribed(pub, sub) -> None:
    """PUB drops what it sends before the subscription arrives: send until one gets through."""
    sub.setsockopt(zmq.RCVTIMEO, 50)
    for _ in range(200):
        pub.send(b"hello")
        try:
            if sub.recv() == b"hello":
                break
        except zmq.Again:
            continue
    sub.setsockopt(zmq.RCVTIMEO, 10_000)
    while True:
        try:
            sub.recv(zmq.NOBLOCK)
        except zmq.Again:
            return


def test_multipart_messages_pass_byte_identical_both_ways(wired):
    relay, pub, sub, router, dealer = wired
    parts = [b"", os.urandom(300), b"x" * 70_000, os.urandom(CAP // 2)]
    dealer.send_multipart(parts)
    ident, *received = router.recv_multipart()
    assert ident == b"grader" and received == parts
    router.send_multipart([b"grader", *parts])
    assert dealer.recv_multipart() == parts
    pub.send_multipart(parts)
    assert sub.recv_multipart() == parts
    assert relay.drops() == []


def test_a_message_over_the_cap_is_dropped_and_recorded_and_the_next_passes(wired):
    relay, pub, sub, router, dealer = wired
    frame = b"b" * (CAP // 8)
    router.send_multipart([b"grader", b"head", *[frame] * 20])
    router.send_multipart([b"grader", b"next", b"small"])
    cut = dealer.recv_multipart()
    assert cut[0] == b"head" and is_dropped(cut) and len(cut) < 10
    assert dealer.recv_multipart() == [b"next", b"small"]
    assert relay.drops() == [Drop("shell", 4 + 20 * len(frame))]


def test_a_first_frame_over_the_cap_becomes_a_placeholder(wired):
    relay, pub, sub, router, dealer = wired
    pub.send(b"z" * (CAP + 1))
    pub.send_multipart([b"after"])
    cut = sub.recv_multipart()
    assert cut == [DROPPED]
    assert sub.recv_multipart() == [b"after"]
    session = GuardedSession(key=b"k" * 32)
    idents, rest = session.feed_identities(cut)
    assert session.deserialize(rest)["msg_type"] == MALFORMED
    assert relay.drops() == [Drop("iopub", CAP + 1)]


def test_a_cut_signed_message_is_a_placeholder_for_the_grader():
    """A message cut in its buffers keeps its signed parts: the DROPPED frame alone makes it a placeholder."""
    session = GuardedSession(key=b"k" * 32)
    message = session.msg("comm_msg", {"comm_id": "c", "data": {}})
    parts = session.serialize(message)
    parts = [p if isinstance(p, bytes) else p.encode() for p in parts]
    assert session.deserialize(session.feed_identities(parts + [b"buffer"])[1])["msg_type"] == "comm_msg"
    assert session.deserialize(session.feed_identities(parts + [b"buffer", DROPPED])[1])["msg_type"] == MALFORMED


@pytest.mark.parametrize("greeting", [
    b"\x05\x01hello",                                        # ZMTP 1.0: a short identity frame, no signature
    b"\xff" + b"\0" * 8 + b"\x7f\x01\x05",                   # ZMTP 2.0: revision 1
    b"\xff" + b"\0" * 8 + b"\x7f\x03\x00" + b"CURVE".ljust(20, b"\0"),  # version 3 with a mechanism not NULL
    b"GET / HTTP/1.1\r\n\r\n",
])
def test_a_hostile_greeting_closes_the_connection(tmp_path, greeting):
    kernel_path = str(tmp_path / "k-1")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(kernel_path)
    server.listen(1)
    relay = Relay({"iopub": CAP})
    relay.listen(str(tmp_path / "k"), {"iopub": 1})
    try:
        grader_side = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        grader_side.connect(f"{relay.ip}-1")
        kernel_side, _ = server.accept()
        kernel_side.sendall(greeting)
        grader_side.settimeout(5)
        received = b""
        while chunk := grader_side.recv(100):  # until the relay closes it
            received += chunk
        assert greeting.startswith(received) and len(received) < min(len(greeting), 12)
        kernel_side.settimeout(5)
        assert kernel_side.recv(100) == b""  # and the kernel's side too
    finally:
        relay.close()
        server.close()


def _fed(counter: ZmtpCounter, data: bytes) -> bytes:
    out = bytearray()
    counter.feed(memoryview(data), out)
    return bytes(out)


def test_the_parser_rejects_old_versions_and_bad_flags():
    with pytest.raises(ProtocolError):
        _fed(ZmtpCounter("shell", CAP, print), b"\xff" + b"\0" * 8 + b"\x7f\x02")
    counter = ZmtpCounter("shell", CAP, print)
    greeting = b"\xff" + b"\0" * 8 + b"\x7f\x03\x01" + b"NULL".ljust(20, b"\0") + b"\0" * 32
    assert _fed(counter, greeting) == greeting
    with pytest.raises(ProtocolError):
        _fed(counter, b"\x10\x00")


def test_the_parser_counts_across_chunk_boundaries():
    drops: list[Drop] = []
    counter = ZmtpCounter("iopub", 1000, drops.append)
    greeting = _zmtp_greeting()
    ready = b"\x04\x05" + b"READY"
    stream = greeting + ready + b"\x03" + (600).to_bytes(8, "big") + b"a" * 600 + b"\x02" + \
        (600).to_bytes(8, "big") + b"b" * 600 + b"\x00\x02ok"
    out = b"".join(_fed(counter, stream[i:i + 1]) for i in range(len(stream)))
    expected = greeting + ready + b"\x03" + (600).to_bytes(8, "big") + b"a" * 600 + \
        bytes((0, len(DROPPED))) + DROPPED + b"\x00\x02ok"
    assert out == expected and drops == [Drop("iopub", 1200)]


def _zmtp_greeting() -> bytes:
    return b"\xff" + b"\0" * 8 + b"\x7f\x03\x01" + b"NULL".ljust(20, b"\0") + b"\0" * 32


def _frame(body: bytes, more: bool = False) -> bytes:
    return bytes((0x02 | more,)) + len(body).to_bytes(8, "big") + body


def test_a_message_of_many_empty_frames_is_cut_too():
    drops: list[Drop] = []
    counter = ZmtpCounter("iopub", 64 * 1000, drops.append)
    out = _fed(counter, _zmtp_greeting() + b"\x01\x00" * 5000 + b"\x00\x00")
    assert out.endswith(bytes((0, len(DROPPED))) + DROPPED) and len(out) < 64 + 2 * 1000 + 20
    assert drops == [Drop("iopub", 0)]


def test_memory_stays_bounded_while_a_gib_flows_through(tmp_path):
    """A fake kernel writes 1 GiB of ZMTP frames (messages of 64 frames of 1 MiB, over the cap) at a real
    DEALER through the relay: the relay's memory does not grow with it, and every message is dropped."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "k-1"))
    server.listen(1)
    relay = Relay({"shell": CAP})
    relay.listen(str(tmp_path / "k"), {"shell": 1})
    context = zmq.Context()
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.RCVTIMEO, 30_000)
    dealer.connect(f"ipc://{relay.ip}-1")
    messages, frame = 16, b"m" * CAP
    try:
        kernel, _ = server.accept()
        ready = b"\x05READY" + b"\x0bSocket-Type" + (6).to_bytes(4, "big") + b"ROUTER"
        kernel.sendall(_zmtp_greeting() + b"\x04" + bytes((len(ready),)) + ready)
        seen = b""  # a real kernel sends no message before the grader's READY (libzmq would refuse it)
        while len(seen) < 66 or len(seen) < 66 + seen[65]:
            seen += kernel.recv(4096)
        rss_before = psutil.Process().memory_info().rss
        tracemalloc.start()
        started = time.monotonic()
        for _ in range(messages):
            for index in range(64):
                kernel.sendall(_frame(frame, more=index < 63))
        kernel.sendall(_frame(b"last"))
        cut = sum(is_dropped(dealer.recv_multipart()) for _ in range(messages))  # the first frame and DROPPED
        assert cut == messages and dealer.recv_multipart() == [b"last"]
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert relay.drops() == [Drop("shell", 64 * CAP)] * messages
        assert peak < 4 * 1024**2, peak
        assert psutil.Process().memory_info().rss - rss_before < 64 * 1024**2
        print(f"1 GiB through the relay in {seconds:.1f} s")
    finally:
        context.destroy(linger=0)
        relay.close()
        server.close()


def test_close_leaves_no_thread_fd_or_folder(tmp_path):
    before_threads = threading.active_count()
    before_fds = len(os.listdir("/proc/self/fd"))
    relay = Relay({"shell": CAP})
    relay.listen(str(tmp_path / "k"), {"shell": 1})
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(f"{relay.ip}-1")  # no kernel socket yet: the relay closes it (zmq would reconnect)
    client.settimeout(5)
    assert client.recv(10) == b""
    client.close()
    assert oct(os.stat(relay.folder).st_mode & 0o777) == "0o700"
    relay.close()
    assert not os.path.exists(relay.folder)
    assert threading.active_count() == before_threads
    assert len(os.listdir("/proc/self/fd")) == before_fds
