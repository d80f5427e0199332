"""KernelSession: start a sandboxed kernel, run a student's notebook in it, call into it, restart, shut down.

Everything that comes back from the kernel is treated as untrusted plain data: notebook outputs as JSON
messages, call results as JSON that `codec.decode_response` validates. Nothing from the kernel is imported,
unpickled or evaluated here.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
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
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from . import codec
from .errors import CallTimeout, KernelDied, KernelError, ProtocolError
from .kernel_messages import GuardedSession
from .models import CellNote
from .sandbox import IsolationReport, Limits, Sandbox
from .warm import KernelFactory, find_holder, kernel_factory, warm_start_problem

MAX_RESTARTS = 5
INTERRUPT_GRACE = 5.0


class _PromptClient(AsyncKernelClient):
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
    client_factory = _PromptClient
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


def _destroy_context(context: zmq.Context, timeout: float = 5.0) -> None:
    """Close the sockets and end the context; zmq's term can hang after an interrupted request, so it runs aside."""
    closer = threading.Thread(target=context.destroy, kwargs={"linger": 0}, name="grader-zmq-term", daemon=True)
    closer.start()
    closer.join(timeout)


def _kernel_spec() -> KernelSpec:
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


class _BoundedClient(NotebookClient):
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


class KernelSession:
    """Owns one student kernel: start, execute the notebook, call functions, restart and shutdown."""

    def __init__(self, notebook: NotebookNode, files: list[Path], isolation: IsolationReport, limits: Limits,
                 slot: int = 0, warm: bool = True) -> None:
        """`warm`: fork kernels from this process's kernel factory where that is possible (grader/warm.py)."""
        self.source = notebook
        self.warm = warm and warm_start_problem(isolation) is None
        self.files = files
        self.isolation = isolation
        self.limits = limits
        self.slot = slot
        self.notebook: NotebookNode = nbformat.from_dict(notebook)
        self.problems: list[CellNote] = []
        self.skipped_cells: set[int] = set()
        self._loop = asyncio.new_event_loop()
        self._sandbox: Sandbox | None = None
        self._client: _BoundedClient | None = None
        self._agent_ready = False
        self._needs_restart = False
        self._kernel_pids: frozenset[int] = frozenset()
        self._prestart: threading.Thread | None = None
        self._prestart_done = threading.Event()
        self._prestarted = False
        self._closing = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> "KernelSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        """Shut the kernel down and make sure nothing it started survives."""
        self._join_prestart()
        try:
            self._run(self._stop_kernel())
        finally:
            self._loop.close()
            self._closing.set()
            if self._prestart is not None:
                self._prestart.join()

    async def _start_kernel(self) -> None:
        try:
            await self._launch_kernel()
        except KernelError:
            if not self.warm:
                raise
            self.warm = False  # the factory failed: start cold, slower and just as safe
            await self._stop_kernel()
            await self._launch_kernel()

    async def _launch_kernel(self) -> None:
        factory = kernel_factory(self.limits.torch_threads) if self.warm else None
        self._sandbox = Sandbox(self.isolation, self.limits, self.slot)
        self._sandbox.add_files(self.files)
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, self.limits.response_bytes + self.limits.output_bytes)
        # The client connects before the kernel has bound its sockets; zmq retries every 100 ms by default,
        # which was most of a warm kernel's start.
        context.setsockopt(zmq.RECONNECT_IVL, 10)
        km = SandboxedKernelManager(kernel_name="python3", context=context, transport="ipc",
                                    ip=str(self._sandbox.runtime_dir / "k"))
        km.session = GuardedSession(parent=km)  # a message student code mangled is dropped, not raised
        km.sandbox = self._sandbox
        km.factory = factory
        km._kernel_spec = _kernel_spec()
        km.connection_file = str(self._sandbox.runtime_dir / "kernel.json")
        km.shutdown_wait_time = 1.0
        client = _BoundedClient(
            self.notebook,
            km=km,
            timeout=int(self.limits.cell_timeout),
            startup_timeout=int(self.limits.startup_timeout),
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": "TimeoutError", "evalue": "cell time limit reached", "traceback": []},
            record_timing=False,
            iopub_timeout=4,
            ipython_hist_file="",
        )
        client.output_limit = self.limits.output_bytes
        self._client = client
        try:
            # The kernel's own stdout/stderr carry nothing the grader needs (outputs travel as messages).
            await client.async_start_new_kernel(env=self._sandbox.environment(), cwd=str(self._sandbox.root),
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await client.async_start_new_kernel_client()
        except Exception as exc:  # nbclient and jupyter_client raise many kinds here
            await self._stop_kernel()
            raise KernelError(f"the kernel did not start: {exc}") from None
        self._agent_ready = False
        self._needs_restart = False
        # Before any student code runs, the sandbox holds just the kernel: remember it.
        self._kernel_pids = frozenset(self._sandbox.processes())

    async def _stop_kernel(self) -> None:
        client, sandbox = self._client, self._sandbox
        self._client, self._sandbox = None, None
        try:
            if client is not None and client.km is not None:
                if client.kc is not None:
                    client.kc.stop_channels()
                try:
                    await asyncio.wait_for(client.km.shutdown_kernel(now=True), timeout=10)
                except Exception:
                    pass
                _destroy_context(client.km.context)
        finally:
            if sandbox is not None:
                sandbox.close()

    # -- running the notebook ----------------------------------------------------------------------------
    def start_in_background(self) -> None:
        """Start the kernel (agent included) on a thread, while this process does other work (`grade check`)."""
        self._prestart = threading.Thread(target=self._prestart_kernel, name="grader-kernel-start", daemon=True)
        self._prestart.start()

    def _prestart_kernel(self) -> None:
        try:
            self._run(self._ready_kernel())
            self._prestarted = True
        except Exception:  # run_notebook starts a kernel again, and reports what goes wrong there
            self._prestarted = False
        finally:
            self._prestart_done.set()
        # bubblewrap's --die-with-parent follows the thread that started it: this one stays until close().
        self._closing.wait()

    def _join_prestart(self) -> None:
        if self._prestart is not None:
            self._prestart_done.wait()

    def run_notebook(self) -> NotebookNode:
        """Execute every code cell once; on a kernel death restart and re-run without the killing cell."""
        self._join_prestart()
        return self._run(self._run_notebook())

    async def _ready_kernel(self) -> None:
        await self._stop_kernel()
        await self._start_kernel()
        # The agent goes in before the student's first cell, so it holds pristine references. Its torch import
        # is start-up (seconds in a cold kernel on a busy machine), not a call: the start-up time limit applies.
        await self._execute_silently(codec.agent_source(), max(self.limits.call_timeout, self.limits.startup_timeout))

    async def _run_notebook(self) -> NotebookNode:
        for attempt in range(MAX_RESTARTS + 1):
            self.notebook = nbformat.from_dict(self.source)
            if not (attempt == 0 and self._prestarted):
                await self._ready_kernel()
            self._prestarted = False
            # Each run gets the whole notebook budget; kernel start-up is not the student's time.
            died_at = await self._execute_cells(time.monotonic() + self.limits.notebook_timeout)
            if died_at is None:
                # Whatever the notebook left running (a fork bomb, a daemon) would only steal the checks' time.
                if self._sandbox is not None:
                    self._sandbox.kill_leftovers(keep=self._kernel_pids)
                return self.notebook
            # A re-run skips the killer, and the cells that timed out: they would only time out again.
            self.skipped_cells.add(died_at)
            self.skipped_cells.update(self._client.timed_out_cells if self._client else ())
        self.problems.append(CellNote(-1, "kernel_died", f"the kernel died {MAX_RESTARTS + 1} times; gave up"))
        return self.notebook

    async def _execute_cells(self, deadline: float) -> int | None:
        """Run the cells in order; return the index of a cell that killed the kernel, if one did."""
        client = self._client
        assert client is not None
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type != "code":
                continue
            if index in self.skipped_cells:
                cell.outputs = [nbformat.v4.new_output(
                    "stream", name="stderr", text="[grader: this cell was skipped on the re-run: it killed the "
                    "kernel or ran out of time]\n")]
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._problem(index, "notebook_timeout",
                              f"the notebook time limit ({self.limits.notebook_timeout:.0f}s) was reached; "
                              "this cell and the ones after it did not run")
                return None
            client.timeout = max(1, math.ceil(min(self.limits.cell_timeout, remaining)))
            client.current_cell = index
            try:
                await asyncio.wait_for(client.async_execute_cell(cell, index),
                                       timeout=client.timeout + INTERRUPT_GRACE + 10)
            except DeadKernelError:
                self._problem(index, "kernel_died", "this cell ended the kernel (exit, crash or out of memory); "
                              "the notebook was re-run without it")
                return index
            except asyncio.TimeoutError:
                self._problem(index, "timeout", "this cell did not stop when interrupted; the kernel was "
                              "restarted and the notebook re-run without it")
                return index
            if index in client.timed_out_cells:
                if not await self._kernel_answers():
                    self._problem(index, "timeout", "this cell ignored the interrupt after its time limit; the "
                                  "kernel was restarted and the notebook re-run without it")
                    return index
                self._problem(index, "timeout", f"this cell was interrupted after {client.timeout:.0f}s")
            if index in client.truncated_cells:
                self._problem(index, "output_truncated", "this cell's output was cut: too much output")
        return None

    def _problem(self, index: int, kind: str, message: str) -> None:
        problem = CellNote(index, kind, message)
        if problem not in self.problems:
            self.problems.append(problem)

    async def _kernel_answers(self, timeout: float = INTERRUPT_GRACE) -> bool:
        """True when the kernel is alive and idle enough to answer a trivial request."""
        client = self._client
        if client is None or client.kc is None or not await client.kc.is_alive():
            return False
        msg_id = client.kc.kernel_info()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                reply = await client.kc.get_shell_msg(timeout=max(0.05, end - time.monotonic()))
            except Empty:
                return False
            if reply["parent_header"].get("msg_id") == msg_id:
                # an execute_reply of the interrupted cell may still be queued before it; drain and go on
                return True
        return False

    # -- calls into the kernel ---------------------------------------------------------------------------
    def call(self, target: str | codec.Handle, *args: Any, _seed: int | None = None, _timeout: float | None = None,
             _keep: bool = False, _method: str | None = None, **kwargs: Any) -> Any:
        """Call a function (or class) the notebook defines; return its result as plain data."""
        request = codec.call_fields(target, args, kwargs, method=_method, seed=_seed, keep=_keep)
        return self._run(self._request(request, _timeout or self.limits.call_timeout))

    def get(self, name: str) -> Any:
        """The value of a name the notebook defines, as plain data."""
        return self._run(self._request({"op": "get", "target": name}, self.limits.call_timeout))

    def defines(self, name: str) -> bool:
        return bool(self._run(self._request({"op": "defines", "target": name}, self.limits.call_timeout)))

    async def _ensure_ready(self) -> None:
        if self._client is None or self._needs_restart:
            await self._run_notebook()
        if not self._agent_ready:
            # A no-op unless the notebook wiped it (`%reset`, `del`): then it is defined again.
            await self._execute_silently(codec.agent_source(), self.limits.call_timeout)
            self._agent_ready = True

    async def _execute_silently(self, code: str, timeout: float) -> list[dict[str, Any]]:
        """Run grader code in the kernel (not recorded in the notebook); return its display payloads."""
        client = self._client
        assert client is not None and client.kc is not None
        kc = client.kc
        msg_id = kc.execute(code, silent=False, store_history=False, allow_stdin=False)
        payloads: list[dict[str, Any]] = []
        received = 0
        end = time.monotonic() + timeout
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                await self._after_call_timeout()
                raise CallTimeout(f"did not finish within {timeout:.0f}s")
            try:
                msg = await kc.get_iopub_msg(timeout=min(remaining, 1.0))
            except Empty:
                if not await kc.is_alive():
                    self._needs_restart = True
                    raise KernelDied("the kernel died during the call") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg.get("content", {})
            if kind == "display_data" and codec.RESPONSE_MIMETYPE in content.get("data", {}):
                received += len(json.dumps(content["data"][codec.RESPONSE_MIMETYPE], default=str))
                if received > self.limits.response_bytes:
                    raise ProtocolError("the response was larger than the limit")
                payloads.append(content["data"][codec.RESPONSE_MIMETYPE])
            elif kind == "status" and content.get("execution_state") == "idle":
                return payloads

    async def _after_call_timeout(self) -> None:
        client = self._client
        assert client is not None and client.km is not None
        try:
            await client.km.interrupt_kernel()
        except Exception:
            pass
        if not await self._kernel_answers():
            self._needs_restart = True

    async def _request(self, request: dict[str, Any], timeout: float) -> Any:
        await self._ensure_ready()
        nonce = codec.new_nonce()
        limits = codec.Limits(max_bytes=self.limits.response_bytes)
        request = {**request, "nonce": nonce, "limits": limits.to_json()}
        payloads = await self._execute_silently(codec.request_code(request), timeout)
        matching = [p for p in payloads if isinstance(p, dict) and p.get("nonce") == nonce]
        if len(matching) != 1:
            # The agent publishes exactly one answer; none or several means student code interfered.
            raise ProtocolError(f"expected one answer to the call, got {len(matching)}")
        return codec.decode_response(matching[0], expected_nonce=nonce, limits=limits)
