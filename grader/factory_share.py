"""One warm kernel factory for a whole batch: the grading process lends its factory to its worker processes.

A factory costs what a cold kernel costs (the interpreter, ipykernel and torch imports, seconds on a busy
machine). The probe already starts one in the `grade` process to prove warm start works; without sharing,
each worker then started its own, on the batch's critical path. Here the `grade` process keeps its factory
and serves spawn requests to its workers over a unix socket in a folder only this user can enter; a worker
asks it to fork each kernel into a sandbox the worker built (the sandbox's holder pid is a pid of this
machine, which the factory, running as root, can join).

Kernels never see this socket: their filesystem is the sandbox's, with a /tmp of their own. The broker also
checks that the peer runs as this process's user. A worker that cannot reach the broker starts its kernels
cold (grader/kernel.py), which is only slower.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import threading
from pathlib import Path
from typing import Any, Callable, Protocol

from .errors import KernelError
from .scratch import owned_folder

REQUEST_BYTES = 1024**2  # a spawn request is an argv, an environment and limits: kilobytes
CONNECT_TIMEOUT = 5.0
SPAWN_TIMEOUT = 60.0


class Spawner(Protocol):
    """What a factory does for a kernel (grader.warm.KernelFactory)."""

    def spawn(self, holder_pid: int, request: dict[str, Any]) -> int: ...


class FactoryBroker:
    """Serves a factory's `spawn` to this user's other processes on a unix socket (`address`).

    `factory` returns the factory (it may block while the factory starts, or raise KernelError when it cannot).
    """

    def __init__(self, factory: Callable[[], Spawner]) -> None:
        self.factory = factory
        self._folder = owned_folder("grader-factory-")  # mode 0700
        self.address = str(self._folder / "spawn.sock")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.address)
        self._server.listen(16)
        self._closed = threading.Event()
        threading.Thread(target=self._serve, name="grader-factory-broker", daemon=True).start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._answer, args=(connection,), name="grader-factory-spawn",
                             daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            try:
                if _peer_uid(connection) != os.geteuid():
                    return
                connection.settimeout(SPAWN_TIMEOUT)
                asked = json.loads(_read_line(connection))
                pid = self.factory().spawn(int(asked["holder"]), dict(asked["request"]))
                reply: dict[str, Any] = {"pid": pid}
            except KernelError as exc:
                reply = {"error": str(exc)}
            except (OSError, ValueError, KeyError, TypeError) as exc:
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            try:
                connection.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        shutil.rmtree(self._folder, ignore_errors=True)


class RemoteFactory:
    """A worker's handle on the factory its `grade` process lends (same `spawn` and `alive` as KernelFactory)."""

    def __init__(self, address: str, torch_threads: int) -> None:
        self.address = address
        self.torch_threads = torch_threads

    def alive(self) -> bool:
        return os.path.exists(self.address)

    def spawn(self, holder_pid: int, request: dict[str, Any]) -> int:
        """Fork a kernel into the sandbox whose holder is `holder_pid`, through the broker; its pid."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(CONNECT_TIMEOUT)
                connection.connect(self.address)
                connection.settimeout(SPAWN_TIMEOUT)
                connection.sendall(json.dumps({"holder": holder_pid, "request": request}).encode() + b"\n")
                reply = json.loads(_read_line(connection))
        except (OSError, ValueError) as exc:
            raise KernelError(f"the shared kernel factory did not answer: {exc}") from None
        if not isinstance(reply, dict) or not isinstance(reply.get("pid"), int):
            error = reply.get("error", reply) if isinstance(reply, dict) else reply
            raise KernelError(f"the kernel factory could not start a kernel: {error}")
        return reply["pid"]

    def close(self) -> None:
        """Nothing to stop here: the factory belongs to the `grade` process."""


def _read_line(connection: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > REQUEST_BYTES:
            raise ValueError("request too large")
    return data


def _peer_uid(connection: socket.socket) -> int:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", credentials)
    return uid
