"""A byte relay between the grader's zmq sockets and a kernel's, that caps each message the kernel sends.

libzmq's ZMQ_MAXMSGSIZE caps one frame, and libzmq hands over a multipart message only whole: a kernel that
sends one message of 50 frames of 16 MiB had all 800 MiB buffered in the grader process before any Python code
saw it. Here the grader's sockets connect to unix sockets in a folder private to the grader (mode 0700, never
mounted into the sandbox); for each connection the relay connects to the kernel's own socket and pumps bytes
both ways through fixed buffers. It reads the kernel's byte stream as ZMTP 3 (RFC 23/37): the greeting (NULL
mechanism, major version 3 or more, else the connection is closed), then frames. It sums the frames of each
message (each frame counts `FRAME_COST` more, so a million empty frames is no way around it); once a
message would pass its channel's cap, the relay ends it towards the grader with `DROPPED` as
its last frame (GuardedSession turns such a message into a placeholder that answers nothing), skips the rest
of it, and records the drop, which the session names in the report.

Memory bound (per worker, 600 MiB): the relay holds two `CHUNK` buffers per connection, whatever the kernel
sends. The grader's libzmq queues one message per socket (RCVHWM 1) plus one being decoded, and jupyter_client
holds a few copies of the one it reads: with IOPub capped at 32 MiB and the other channels at the output limit
(4 MiB), at most about 6 x 32 + 6 x 4 x 4 = 288 MiB above the process's baseline (257 MiB measured with torch
loaded), so under 600 MiB. `bench/flood.py` measures it: 374 MiB with messages just under the cap.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import stat
import struct
import threading
from dataclasses import dataclass
from typing import Callable

from .errors import ProtocolError  # here: the kernel's byte stream is not ZMTP 3 with NULL; the connection closes
from .scratch import owned_folder

CHUNK = 256 * 1024
COMMAND_BYTES = 64 * 1024  # READY, PING, PONG carry a few properties; a larger command is not a real one
FRAME_COST = 64  # what one frame costs the grader besides its bytes (libzmq's zmq_msg_t, a Python bytes object)
DROPPED = b"<GRADER|DROPPED>"  # the last frame of a message the relay cut short
_NULL_MECHANISM = b"NULL".ljust(20, b"\0")


@dataclass(frozen=True)
class Drop:
    """A message the relay did not pass on: its channel and its size in bytes (all its frames)."""

    channel: str
    size: int


class ZmtpCounter:
    """Parses the kernel-to-grader byte stream; `feed` returns the pieces to pass on, in order."""

    def __init__(self, channel: str, cap: int, on_drop: Callable[[Drop], None]) -> None:
        self.channel, self.cap, self.on_drop = channel, cap, on_drop
        self._greeting = bytearray()  # the 64-byte greeting, until it is whole
        self._header = bytearray()  # flags and size of the frame being announced
        self._body = 0  # bytes of the current frame's body still to come
        self._passing = True  # the current frame's body is passed on (False: skipped)
        self._last = False  # the current frame ends its message
        self._message = 0  # bytes of the current message so far
        self._frames = 0  # and its frames
        self._dropping = False

    def feed(self, data: memoryview, out: bytearray) -> None:
        """Append to `out` what of `data` passes on (at most `data` and one DROPPED frame per message cut)."""
        pos, end = 0, len(data)
        while pos < end:
            if len(self._greeting) < 64:
                pos = self._read_greeting(data, pos, out)
            elif self._body:
                take = min(self._body, end - pos)
                if self._passing:
                    out += data[pos:pos + take]
                pos += take
                self._body -= take
                if not self._body:
                    self._frame_done()
            else:
                self._header.append(data[pos])
                pos += 1
                self._read_header(out)

    def _read_greeting(self, data: memoryview, pos: int, out: bytearray) -> int:
        start = len(self._greeting)
        take = min(64 - start, len(data) - pos)
        self._greeting += data[pos:pos + take]
        got = self._greeting
        if got[0] != 0xFF or (len(got) > 9 and got[9] != 0x7F) or (len(got) > 10 and got[10] < 3):
            raise ProtocolError("not a ZMTP 3 greeting")
        if len(got) >= 32 and bytes(got[12:32]) != _NULL_MECHANISM:
            raise ProtocolError("a security mechanism other than NULL")
        out += got[start:]
        return pos + take

    def _read_header(self, out: bytearray) -> None:
        flags = self._header[0]
        if flags & 0xF8:
            raise ProtocolError("reserved frame flags set")
        need = 9 if flags & 0x02 else 2
        if len(self._header) < need:
            return
        size = int.from_bytes(self._header[1:need], "big")
        header, self._header = bytes(self._header), bytearray()
        if flags & 0x04:  # a command (READY, PING, PONG): passed on whole, never part of a message
            if size > COMMAND_BYTES or flags & 0x01:
                raise ProtocolError("an oversize or multipart command")
            self._passing, self._last = True, False
        else:
            self._message += size
            self._frames += 1
            if not self._dropping and self._message + FRAME_COST * self._frames > self.cap:
                self._dropping = True
                out += bytes((0, len(DROPPED))) + DROPPED  # ends the message towards the grader
            self._passing, self._last = not self._dropping, not flags & 0x01
        if self._passing:
            out += header
        self._body = size
        if not size:
            self._frame_done()

    def _frame_done(self) -> None:
        if not self._last:
            return
        if self._dropping:
            self.on_drop(Drop(self.channel, self._message))
        self._dropping, self._message, self._frames, self._passing = False, 0, 0, True


class _Pair:
    """One grader connection and its connection to the kernel, with a fixed buffer each way."""

    def __init__(self, down: socket.socket, up: socket.socket, counter: ZmtpCounter) -> None:
        self.down, self.up, self.counter = down, up, counter
        self.to_up = bytearray(CHUNK)
        self.to_up_span = (0, 0)
        self.from_up = bytearray(CHUNK)
        self.to_down = bytearray()  # what of the kernel's last chunk passes on; never more than CHUNK + a frame
        self.down_sent = 0
        self.registered = {"down": selectors.EVENT_READ, "up": selectors.EVENT_READ}
        self.closed = False


class Relay:
    """Relays one kernel's channels; `listen` once the ports are known, `close` with the kernel."""

    def __init__(self, caps: dict[str, int]) -> None:
        """`caps`: the largest message, in bytes, the kernel may send on each channel (by channel name)."""
        self.caps = caps
        self.folder = str(owned_folder("grd-relay-"))  # 0700, this process's user only
        self.ip = os.path.join(self.folder, "k")  # jupyter_client's ipc "ip": sockets are `{ip}-{port}`
        self._drops: list[Drop] = []
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopping = False
        self._pairs: set[_Pair] = set()
        self._thread: threading.Thread | None = None

    def drops(self) -> list[Drop]:
        """Every message dropped so far, oldest first."""
        with self._lock:
            return list(self._drops)

    def _record(self, drop: Drop) -> None:
        with self._lock:
            self._drops.append(drop)

    def listen(self, kernel_ip: str, ports: dict[str, int]) -> None:
        """Accept the grader's connections for each channel (name -> port) and relay them to `{kernel_ip}-{port}`."""
        if self._thread is not None:
            return
        for channel, port in ports.items():
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(f"{self.ip}-{port}")
            listener.listen(16)
            listener.setblocking(False)
            self._selector.register(listener, selectors.EVENT_READ, (channel, f"{kernel_ip}-{port}"))
        self._thread = threading.Thread(target=self._loop, name="grader-zmtp-relay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread, close every socket, remove the folder."""
        self._stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(10)
        for pair in list(self._pairs):
            self._drop_pair(pair)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()
        self._wake_w.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- the relay thread ------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping:
            for key, events in self._selector.select():
                if key.data is None:
                    continue  # woken to stop
                if isinstance(key.data[0], str):  # a listener: (channel, the kernel's socket path)
                    self._accept(key.fileobj, *key.data)  # type: ignore[arg-type]
                    continue
                pair, side = key.data
                if pair.closed:
                    continue
                try:
                    self._pump(pair, side, events)
                except Exception:  # a closed socket, a stream that is not ZMTP 3: this connection ends, zmq reconnects
                    self._drop_pair(pair)

    def _accept(self, listener: socket.socket, channel: str, kernel_path: str) -> None:
        try:
            down, _ = listener.accept()
        except OSError:
            return
        pid, uid, _gid = struct.unpack("3i", down.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        up.setblocking(False)
        try:
            if pid != os.getpid() or uid != os.geteuid():
                raise ConnectionRefusedError("not the grader's own socket")
            if not stat.S_ISSOCK(os.lstat(kernel_path).st_mode):  # a symlink the kernel planted is not followed
                raise ConnectionRefusedError("not a socket")
            up.connect(kernel_path)  # unix sockets connect at once, or fail (not bound yet: zmq will retry)
        except OSError:
            up.close()
            down.close()
            return
        down.setblocking(False)
        pair = _Pair(down, up, ZmtpCounter(channel, self.caps[channel], self._record))
        self._pairs.add(pair)
        self._selector.register(down, selectors.EVENT_READ, (pair, "down"))
        self._selector.register(up, selectors.EVENT_READ, (pair, "up"))

    def _pump(self, pair: _Pair, side: str, events: int) -> None:
        if events & selectors.EVENT_READ:
            if side == "down" and pair.to_up_span == (0, 0):
                n = pair.down.recv_into(pair.to_up)
                if not n:
                    raise ConnectionResetError
                pair.to_up_span = (0, n)
            elif side == "up" and not pair.to_down:
                n = pair.up.recv_into(pair.from_up)
                if not n:
                    raise ConnectionResetError
                pair.counter.feed(memoryview(pair.from_up)[:n], pair.to_down)
        self._flush_up(pair)
        self._flush_down(pair)
        self._interest(pair)

    def _flush_up(self, pair: _Pair) -> None:
        start, end = pair.to_up_span
        while start < end:
            try:
                start += pair.up.send(memoryview(pair.to_up)[start:end])
            except BlockingIOError:
                break
        pair.to_up_span = (start, end) if start < end else (0, 0)

    def _flush_down(self, pair: _Pair) -> None:
        while pair.down_sent < len(pair.to_down):
            try:
                with memoryview(pair.to_down) as view:
                    pair.down_sent += pair.down.send(view[pair.down_sent:])
            except BlockingIOError:
                return
        pair.to_down.clear()
        pair.down_sent = 0

    def _interest(self, pair: _Pair) -> None:
        """Read a side only when the buffer it fills is empty (else it waits in the kernel's socket buffers,
        not here); wait to write only what is pending."""
        wanted = {
            "down": (selectors.EVENT_READ if pair.to_up_span == (0, 0) else 0)
            | (selectors.EVENT_WRITE if pair.to_down else 0),
            "up": (selectors.EVENT_READ if not pair.to_down else 0)
            | (selectors.EVENT_WRITE if pair.to_up_span != (0, 0) else 0),
        }
        for name, sock in (("down", pair.down), ("up", pair.up)):
            mask, registered = wanted[name], pair.registered[name]
            if mask == registered:
                continue
            if not mask:
                self._selector.unregister(sock)
            elif not registered:
                self._selector.register(sock, mask, (pair, name))
            else:
                self._selector.modify(sock, mask, (pair, name))
            pair.registered[name] = mask

    def _drop_pair(self, pair: _Pair) -> None:
        pair.closed = True
        self._pairs.discard(pair)
        for name, sock in (("down", pair.down), ("up", pair.up)):
            if pair.registered[name]:
                self._selector.unregister(sock)
                pair.registered[name] = 0
            sock.close()


def is_dropped(parts: list) -> bool:
    """True when a received message is one the relay cut short (its last frame is `DROPPED`)."""
    if not parts:
        return False
    try:
        last = memoryview(parts[-1])
    except TypeError:
        return False
    return last.nbytes == len(DROPPED) and last.tobytes() == DROPPED


