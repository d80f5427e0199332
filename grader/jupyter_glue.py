"""The grader's subclasses of jupyter_client, nbclient and pyzmq: sandboxed launch, a prompt client, bounded
output, bounded socket queues.

They override PRIVATE methods of those packages (`AsyncKernelClient._async_wait_for_ready`,
`AsyncKernelManager._async_launch_kernel` and `_async_wait`, `NotebookClient._async_handle_timeout`), set the private
`KernelManager._kernel_spec` and read the private `NotebookClient._display_id_map`; pyproject.toml pins both packages below their next major (minor for 0.x nbclient)
release, and tests/test_jupyter_glue.py fails the moment one of those names or signatures moves. The session
logic that uses them is kernel.py.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete
from nbformat import NotebookNode

from .budget import KEEPS_NOTHING, OVERSIZE, OutputBudget, human_bytes, message_size
from .errors import KernelError
from .kernel_messages import GuardedSession
from .sandbox import Sandbox
from .warm import KernelFactory, find_holder
from .zmtp_relay import Relay

RECEIVE_QUEUE = 1  # messages zmq may hold per socket before the kernel's side has to wait
CHANNELS = ("shell", "iopub", "stdin", "control", "hb")


class PromptClient(AsyncKernelClient):
    """jupyter_client's client, without the 0.2 s of IOPub silence it waits for after the kernel is ready.

    That wait only discards the kernel_info request's own IOPub messages; every reader here (nbclient, the
    calls) matches messages to its request's msg_id, so they do no harm. The wait was half of a warm start.
    """

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else math.inf)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # any IOPub message (the kernel's welcome, a status) proves IOPub is connected
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _async_wait_for_ready


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside a `Sandbox`, over unix sockets.

    The kernel binds its sockets in the sandbox's runtime dir (the connection file says so); every socket of
    the grader (this manager's control socket, the client's channels) connects through `relay` instead, which
    caps each message the kernel sends (grader/zmtp_relay.py). With a `factory`, the process it launches (and watches, signals and kills) is the sandbox's holder, and
    the kernel itself is forked into that sandbox by the warm kernel factory (grader/warm.py).
    """

    sandbox: Sandbox | None = None
    factory: KernelFactory | None = None
    relay: Relay | None = None
    client_factory = PromptClient
    _kernel_args: list[str] = []

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        assert self.sandbox is not None
        kernel_argv = super().format_kernel_cmd(extra_arguments)
        self._kernel_args = kernel_argv[3:]  # after `python -c KERNEL_BOOT`
        return self.sandbox.wrap(kernel_argv, hold=self.factory is not None)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.factory is None:
            return
        assert self.sandbox is not None and self.provisioner is not None
        process = getattr(self.provisioner, "process", None)
        if process is None:
            raise KernelError("the sandbox did not start")
        holder = find_holder(process.pid, timeout=10)
        self.factory.spawn(holder, self.sandbox.warm_kernel_request(self._kernel_args))

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """jupyter_client's wait for a killed kernel, polling every 5 ms instead of 100: a sandbox is gone within
        milliseconds of its kill, and the 100 ms poll was most of closing each notebook's kernel."""
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    def client(self, **kwargs: Any) -> Any:
        """A client on this manager's zmq context, so the context's bounds apply to its sockets too (without
        this, jupyter_client gives every client a context of its own)."""
        kwargs.setdefault("context", self.context)
        if self.relay is not None:
            kwargs.setdefault("ip", self.relay.ip)
        return super().client(**kwargs)

    def _make_url(self, channel: str) -> str:
        """This manager's own sockets (control) connect through the relay too."""
        if self.relay is None:
            return super()._make_url(channel)
        return f"ipc://{self.relay.ip}-{getattr(self, f'{channel}_port')}"

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        assert self.sandbox is not None
        self.sandbox.chown_for_kernel(Path(self.connection_file))
        if self.relay is not None:  # the ports are chosen now: the relay listens before any client connects
            self.relay.listen(self.ip, {channel: getattr(self, f"{channel}_port") for channel in CHANNELS})


def destroy_context(context: zmq.Context, timeout: float = 5.0) -> None:
    """Close the sockets and end the context; zmq's term can hang after an interrupted request, so it runs aside."""
    closer = threading.Thread(target=context.destroy, kwargs={"linger": 0}, name="grader-zmq-term", daemon=True)
    closer.start()
    closer.join(timeout)


# `python -m ipykernel_launcher`, without the Jupyter debugger: ipykernel imports debugpy at every start (0.05-0.2 s
# of a cold kernel) for a frontend that a grading kernel never has.
KERNEL_BOOT = ("import runpy, sys; sys.modules['debugpy'] = None; "
               "runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)")


def grader_kernel_spec() -> KernelSpec:
    """The grader's own kernel, whatever kernelspec the notebook names."""
    return KernelSpec(
        argv=[
            sys.executable,
            "-c",
            KERNEL_BOOT,
            "-f",
            "{connection_file}",
            "--HistoryManager.enabled=False",
            "--IPKernelApp.log_level=CRITICAL",
        ],
        display_name="grader sandbox",
        language="python",
        interrupt_mode="message",
    )


class BoundedClient(NotebookClient):
    """nbclient with one output budget for every message of the run (grader/budget.py), and a record of the
    cells that timed out or lost output."""

    def __init__(self, *args: Any, budget: OutputBudget, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.truncated_cells: set[int] = set()
        self.timed_out_cells: set[int] = set()
        self.current_cell: int | None = None
        self._drops_seen = 0

    def process_message(self, msg: dict[str, Any], cell: NotebookNode, cell_index: int) -> NotebookNode | None:
        msg_type = str(msg.get("msg_type"))
        content = msg.get("content")
        size = message_size(msg) * self._copies(msg_type, content)
        if not self.budget.admit(cell_index, msg_type, size):
            if msg_type not in KEEPS_NOTHING:
                self._mark_truncated(cell, cell_index)
            if msg_type == "status" and isinstance(content, dict) and content.get("execution_state") == "idle":
                raise CellExecutionComplete()
            return None
        try:
            return super().process_message(msg, cell, cell_index)
        except CellExecutionComplete:
            raise
        except Exception:  # a message nbclient cannot read (a forged comm_open, a display without data)
            self.budget.drop(cell_index, "unreadable", size)
            self._mark_truncated(cell, cell_index)
            return None

    def _copies(self, msg_type: str, content: Any) -> int:
        """How many outputs a message writes: a display with an id overwrites every earlier one with that id."""
        transient = content.get("transient") if isinstance(content, dict) else None
        display_id = transient.get("display_id") if isinstance(transient, dict) else None
        if not display_id or msg_type not in ("display_data", "update_display_data", "execute_result"):
            return 1
        shown = self._display_id_map.get(display_id, {}) if isinstance(display_id, str) else {}
        earlier = sum(len(indices) for indices in shown.values())
        return max(1, earlier + (msg_type != "update_display_data"))

    def take_drops(self, cell: NotebookNode | None, cell_index: int) -> bool:
        """Count the messages the relay dropped since the last call (over their channel's cap) as cut from
        `cell_index`, with a line in the cell's output; True when there were any."""
        relay = getattr(self.km, "relay", None)
        drops = relay.drops() if relay is not None else []
        new, self._drops_seen = drops[self._drops_seen:], len(drops)
        for drop in new:
            self.budget.drop(cell_index, OVERSIZE, drop.size)
        self.truncated_cells.update([cell_index] if new else [])
        if new and cell is not None and relay is not None:
            cap = human_bytes(min(relay.caps[drop.channel] for drop in new))
            cell.setdefault("outputs", []).append(nbformat.v4.new_output(
                "stream", name="stderr", text=f"[grader: {len(new)} message(s) of over {cap} from the kernel "
                "were dropped]\n"))
        return bool(new)

    def _mark_truncated(self, cell: NotebookNode, cell_index: int) -> None:
        if cell_index in self.truncated_cells:
            return
        self.truncated_cells.add(cell_index)
        cell.setdefault("outputs", []).append(nbformat.v4.new_output(
            "stream", name="stderr",
            text=f"[grader: output truncated, over {self.budget.limit} bytes in this notebook]\n"))

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None) -> Any:
        if self.current_cell is not None:
            self.timed_out_cells.add(self.current_cell)
        return await super()._async_handle_timeout(timeout, cell)


class BoundedContext(zmq.asyncio.Context):
    """A zmq context whose sockets hold at most a few messages of a bounded size each.

    zmq reads ahead of the grader up to a socket's receive high-water mark (1000 messages by default): with
    messages of 32 MiB a flooding kernel could fill this process. With a short queue the rest waits in the
    relay's socket buffers and the kernel's own send queue, in the sandbox's memory. Only IOPub carries large
    messages (outputs and the calls' answers); the other channels carry replies. MAXMSGSIZE caps a frame;
    the relay (grader/zmtp_relay.py) caps a whole message below it, so zmq never has to disconnect.
    """

    iopub_max_bytes: int = 20 * 1024**2
    reply_max_bytes: int = 4 * 1024**2

    def socket(self, socket_type: int, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        sock = super().socket(socket_type, *args, **kwargs)
        sock.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        sock.setsockopt(zmq.MAXMSGSIZE, self.iopub_max_bytes if socket_type == zmq.SUB else self.reply_max_bytes)
        return sock


def bounded_context(iopub_max_bytes: int, reply_max_bytes: int) -> BoundedContext:
    """A `BoundedContext` for one kernel's sockets."""
    context = BoundedContext()
    context.iopub_max_bytes = iopub_max_bytes
    context.reply_max_bytes = reply_max_bytes
    # The client connects before the kernel has bound its sockets; zmq retries every 100 ms by default,
    # which was most of a warm kernel's start.
    context.setsockopt(zmq.RECONNECT_IVL, 10)
    return context


def kernel_manager(sandbox: Sandbox, factory: KernelFactory | None, context: zmq.Context,
                   relay: Relay | None = None) -> SandboxedKernelManager:
    """A manager for one kernel in `sandbox` (forked by `factory` when given), over unix sockets in its runtime
    dir, reached through `relay` when given (the caller closes it after the kernel)."""
    km = SandboxedKernelManager(kernel_name="python3", context=context, transport="ipc",
                                ip=str(sandbox.runtime_dir / "k"))
    km.session = GuardedSession(parent=km)  # a message student code mangled is dropped, not raised
    km.sandbox = sandbox
    km.factory = factory
    km.relay = relay
    km._kernel_spec = grader_kernel_spec()  # whatever kernelspec the notebook names
    km.connection_file = str(sandbox.runtime_dir / "kernel.json")
    km.shutdown_wait_time = 1.0
    return km
