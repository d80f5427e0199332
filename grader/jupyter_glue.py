"""The grader's subclasses of jupyter_client and nbclient: sandboxed launch, a prompt client, bounded output.

They override PRIVATE methods of those packages (`AsyncKernelClient._async_wait_for_ready`,
`AsyncKernelManager._async_launch_kernel`, `NotebookClient._async_handle_timeout`) and set the private
`KernelManager._kernel_spec`; pyproject.toml pins both packages below their next major (minor for 0.x nbclient)
release, and tests/test_jupyter_glue.py fails the moment one of those names or signatures moves. The session
logic that uses them is kernel.py.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

from .errors import KernelError
from .sandbox import Sandbox
from .warm import KernelFactory, find_holder


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

    With a `factory`, the process it launches (and watches, signals and kills) is the sandbox's holder, and
    the kernel itself is forked into that sandbox by the warm kernel factory (grader/warm.py).
    """

    sandbox: Sandbox | None = None
    factory: KernelFactory | None = None
    client_factory = PromptClient
    _kernel_args: list[str] = []

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        assert self.sandbox is not None
        kernel_argv = super().format_kernel_cmd(extra_arguments)
        self._kernel_args = kernel_argv[3:]  # after `python -m ipykernel_launcher`
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

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        assert self.sandbox is not None
        self.sandbox.chown_for_kernel(Path(self.connection_file))


def destroy_context(context: zmq.Context, timeout: float = 5.0) -> None:
    """Close the sockets and end the context; zmq's term can hang after an interrupted request, so it runs aside."""
    closer = threading.Thread(target=context.destroy, kwargs={"linger": 0}, name="grader-zmq-term", daemon=True)
    closer.start()
    closer.join(timeout)


def grader_kernel_spec() -> KernelSpec:
    """The grader's own kernel, whatever kernelspec the notebook names."""
    return KernelSpec(
        argv=[
            sys.executable,
            "-m",
            "ipykernel_launcher",
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
    """nbclient with a cap on captured output and a record of timed-out cells."""

    output_limit: int = 4 * 1024**2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output_bytes = 0
        self.truncated_cells: set[int] = set()
        self.timed_out_cells: set[int] = set()
        self.current_cell: int | None = None

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self.output_bytes + size > self.output_limit:
            if cell_index not in self.truncated_cells:
                self.truncated_cells.add(cell_index)
                outs.append(
                    nbformat.v4.new_output(
                        "stream",
                        name="stderr",
                        text=f"[grader: output truncated, over {self.output_limit} bytes in this notebook]\n",
                    )
                )
            return None
        self.output_bytes += size
        return super().output(outs, msg, display_id, cell_index)

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None) -> Any:
        if self.current_cell is not None:
            self.timed_out_cells.add(self.current_cell)
        return await super()._async_handle_timeout(timeout, cell)


def kernel_manager(sandbox: Sandbox, factory: KernelFactory | None, context: zmq.Context) -> SandboxedKernelManager:
    """A manager for one kernel in `sandbox` (forked by `factory` when given), over unix sockets in its runtime dir."""
    km = SandboxedKernelManager(kernel_name="python3", context=context, transport="ipc",
                                ip=str(sandbox.runtime_dir / "k"))
    km.sandbox = sandbox
    km.factory = factory
    km._kernel_spec = grader_kernel_spec()  # whatever kernelspec the notebook names
    km.connection_file = str(sandbox.runtime_dir / "kernel.json")
    km.shutdown_wait_time = 1.0
    return km
