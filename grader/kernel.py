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
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from . import codec, sandboxed
from .errors import CallTimeout, KernelDied, KernelError, ProtocolError
from .budget import OutputBudget, WallBudget, human_bytes
from .jupyter_glue import CHANNELS, BoundedClient, bounded_context, destroy_context, kernel_manager
from .messages import Message, msg
from .models import CellNote
from .notebook import prepare_for_execution
from .sandbox import IsolationReport, Limits, Sandbox
from .warm import kernel_factory, warm_start_problem
from .zmtp_relay import Relay

# The largest IOPub message the relay passes on (grader/zmtp_relay.py; a larger one is dropped and named in the
# report, the kernel stays connected): above a call's answer (Limits.response_bytes) with its envelope, and
# far above any output worth keeping (the output budget cuts those).
IOPUB_MESSAGE_BYTES = 32 * 1024**2
MAX_RESTARTS = 5
INTERRUPT_GRACE = 5.0


class KernelSession:
    """Owns one student kernel: start, execute the notebook, answer agent requests (a `session.Channel`),
    restart and shutdown."""

    def __init__(self, notebook: NotebookNode, files: list[Path], isolation: IsolationReport, limits: Limits,
                 slot: int = 0, warm: bool = True) -> None:
        """`warm`: fork kernels from this process's kernel factory where that is possible (grader/warm.py)."""
        self.source = prepare_for_execution(notebook)  # only this run's outputs count
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
        self._client: BoundedClient | None = None
        self._agent_ready = False
        self._needs_restart = False
        self._kernel_pids: frozenset[int] = frozenset()
        self._prestart: threading.Thread | None = None
        self._prestart_done = threading.Event()
        self._prestarted = False
        self.launched = threading.Event()  # clear only while a background start has yet to launch its kernel
        self.launched.set()
        self._closing = threading.Event()
        self.clock = WallBudget(limits.notebook_timeout)  # start-up, cells, checks and restarts

    def _time_spent(self) -> CallTimeout:
        """Note that the time limit is spent (once) and return the error every later call raises."""
        seconds = f"{self.limits.notebook_timeout:.0f}"
        self._problem(-1, "notebook_timeout", msg("cell.time_spent", seconds=seconds))
        error = CallTimeout(f"the notebook time limit ({seconds}s) was spent")
        error.notebook_seconds = seconds
        return error

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
        context = bounded_context(iopub_max_bytes=IOPUB_MESSAGE_BYTES,
                                  reply_max_bytes=self.limits.output_bytes)
        caps = {channel: self.limits.output_bytes for channel in CHANNELS} | {"iopub": IOPUB_MESSAGE_BYTES}
        client = BoundedClient(
            self.notebook,
            km=kernel_manager(self._sandbox, factory, context, Relay(caps)),
            budget=OutputBudget(self.limits.output_bytes),
            timeout=int(self.limits.cell_timeout),
            startup_timeout=max(1, math.ceil(min(self.limits.startup_timeout, self.clock.remaining()))),
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": "TimeoutError", "evalue": "cell time limit reached", "traceback": []},
            record_timing=False,
            iopub_timeout=4,
            ipython_hist_file="",
        )
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
                destroy_context(client.km.context)
                if client.km.relay is not None:
                    client.km.relay.close()
        finally:
            if sandbox is not None:
                sandbox.close()

    # -- running the notebook ----------------------------------------------------------------------------
    def start_in_background(self) -> None:
        """Start the kernel (agent included) on a thread, while this process does other work (`grade check`,
        a worker's next job). Once is enough: a second call only starts the clock.

        `launched` is set once the kernel answers (before the agent's import), or the start failed: CPU-heavy
        work of this process (importing torch) waits for it, or the GIL starves the launch's many small syscalls."""
        self.clock.start()
        if self._prestart is not None:
            return
        self.launched.clear()
        self._prestart = threading.Thread(target=self._prestart_kernel, name="grader-kernel-start", daemon=True)
        self._prestart.start()

    def _prestart_kernel(self) -> None:
        try:
            self._run(self._ready_kernel())
            self._prestarted = True
        except Exception:  # run_notebook starts a kernel again, and reports what goes wrong there
            self._prestarted = False
        finally:
            self.launched.set()
            self._prestart_done.set()
        # bubblewrap's --die-with-parent follows the thread that started it: this one stays until close().
        self._closing.wait()

    def _join_prestart(self) -> None:
        if self._prestart is not None:
            self._prestart_done.wait()

    @classmethod
    def ahead(cls, isolation: IsolationReport, limits: Limits, slot: int = 0, warm: bool = True) -> "KernelSession":
        """A kernel started now, on a thread, for a notebook not known yet (a worker's next job): `adopt`
        gives it one. It holds nobody's files until then, and its clock starts again at `adopt`."""
        session = cls(nbformat.v4.new_notebook(), [], isolation, limits, slot=slot, warm=warm)
        session.start_in_background()
        return session

    def adopt(self, notebook: NotebookNode, files: list[Path]) -> None:
        """Make a kernel started `ahead` this notebook's: its source, the student's files in its sandbox, a
        fresh time limit. A kernel that failed to start, or died waiting, is started again by `run_notebook`."""
        self._join_prestart()
        self.source = prepare_for_execution(notebook)
        self.notebook = nbformat.from_dict(notebook)
        self.files = files
        self.clock = WallBudget(self.limits.notebook_timeout)
        if self._prestarted and not self._run(self._kernel_answers()):
            self._prestarted = False  # a death here is nobody's cell's doing: run_notebook starts another
        elif self._sandbox is not None:
            self._sandbox.add_files(files)

    def run_notebook(self) -> NotebookNode:
        """Execute every code cell once; on a kernel death restart and re-run without the killing cell.

        The notebook's time limit runs from here (or from `start_in_background`) and covers everything after:
        start-up, cells, the checks' calls, and every restart and re-run they cause."""
        self.clock.start()
        self._join_prestart()
        return self._run(self._run_notebook())

    async def _ready_kernel(self) -> None:
        await self._stop_kernel()
        await self._start_kernel()
        self.launched.set()
        # The agent goes in before the student's first cell, so it holds pristine references. Its torch import
        # is start-up (seconds in a cold kernel on a busy machine), not a call: the start-up time limit applies.
        await self._execute_silently(sandboxed.kernel_prelude(), min(max(self.limits.call_timeout,
                                                                         self.limits.startup_timeout),
                                                                     max(1.0, self.clock.remaining())))
        self._agent_ready = True

    async def _run_notebook(self) -> NotebookNode:
        for attempt in range(MAX_RESTARTS + 1):
            if not (attempt == 0 and self._prestarted):
                # Once the time is spent, no restart: the calls still to come get CallTimeout without a kernel.
                try:
                    if self.clock.remaining() <= 0:
                        raise CallTimeout("no time left")
                    await self._ready_kernel()
                except (KernelError, CallTimeout) as exc:
                    if self.clock.remaining() > 0:
                        raise KernelError(str(exc)) from None
                    await self._stop_kernel()
                    self._time_spent()
                    return self.notebook
            self.notebook = nbformat.from_dict(self.source)
            if self._client is not None:
                self._client.nb = self.notebook  # nbclient writes display updates into the notebook it holds
            self._prestarted = False
            died_at = await self._execute_cells()
            if died_at is None:
                # Whatever the notebook left running (a fork bomb, a daemon) would only steal the checks' time.
                if self._sandbox is not None:
                    self._sandbox.kill_leftovers(keep=self._kernel_pids)
                return self.notebook
            # A re-run skips the killer, and the cells that timed out: they would only time out again.
            self.skipped_cells.add(died_at)
            self.skipped_cells.update(self._client.timed_out_cells if self._client else ())
        self.problems.append(CellNote(-1, "kernel_died", msg("cell.gave_up", count=MAX_RESTARTS + 1)))
        return self.notebook

    async def _execute_cells(self) -> int | None:
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
            remaining = self.clock.remaining()
            if remaining <= 0:
                self._problem(index, "notebook_timeout",
                              msg("cell.notebook_timeout", seconds=f"{self.limits.notebook_timeout:.0f}"))
                return None
            client.timeout = max(1, math.ceil(min(self.limits.cell_timeout, remaining)))
            client.current_cell = index
            try:
                await asyncio.wait_for(client.async_execute_cell(cell, index),
                                       timeout=client.timeout + INTERRUPT_GRACE + 10)
            except DeadKernelError:
                self._problem(index, "kernel_died", msg("cell.kernel_died"))
                return index
            except asyncio.TimeoutError:
                self._problem(index, "timeout", msg("cell.stuck"))
                return index
            finally:
                if client.take_drops(cell, index):
                    self._note_cut(index)
            if index in client.timed_out_cells:
                if not await self._kernel_answers():
                    self._problem(index, "timeout", msg("cell.ignored_interrupt"))
                    return index
                self._problem(index, "timeout", msg("cell.interrupted", seconds=f"{client.timeout:.0f}"))
            if index in client.truncated_cells:
                self._note_cut(index)
        return None

    def _note_cut(self, index: int) -> None:
        """Name what the output budget cut from cell `index` (one note per cell, the latest run's)."""
        client = self._client
        assert client is not None
        message = msg("cell.output_cut_detail", limit=human_bytes(client.budget.limit),
                      what=client.budget.describe(index) or "output")
        self.problems = [p for p in self.problems if (p.cell_index, p.kind) != (index, "output_truncated")]
        self._problem(index, "output_truncated", message)

    def _problem(self, index: int, kind: str, message: Message) -> None:
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

    # -- calls into the kernel: the session.Channel ------------------------------------------------------
    def request(self, request: dict[str, Any], timeout: float | None = None) -> Any:
        """Send one agent request; its answer as plain data. `timeout` defaults to the call time limit, and
        is cut to what is left of the notebook's; once that is spent, CallTimeout without running anything."""
        self.clock.start()
        return self._run(self._request(request, timeout or self.limits.call_timeout))

    async def _ensure_ready(self) -> None:
        if self.clock.remaining() <= 0:
            raise self._time_spent()
        if self._client is None or self._needs_restart:
            await self._run_notebook()
            if self._client is None:
                raise self._time_spent()
        if not self._agent_ready:
            # The notebook wiped it (`%reset`, `del`; a request found it gone): it is defined again.
            await self._execute_silently(sandboxed.source("kernel_agent"), min(self.limits.call_timeout,
                                                                                max(1.0, self.clock.remaining())))
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
            elif kind == "error" and content.get("ename") == "NameError" and \
                    codec.AGENT_NAME in str(content.get("evalue", "")):
                self._agent_ready = False  # the notebook removed it; `_request` defines it again and retries
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
        remaining = self.clock.remaining()
        if remaining <= 0:
            raise self._time_spent()
        timeout = min(timeout, remaining)
        limits = codec.WireLimits(max_bytes=self.limits.response_bytes)
        sealed, nonce = codec.sealed(request, limits)
        try:
            payloads = await self._execute_silently(codec.request_code(sealed), timeout)
            if not self._agent_ready:  # nothing ran: the agent was gone
                deadline = time.monotonic() + timeout
                await self._ensure_ready()
                left = min(deadline - time.monotonic(), self.clock.remaining())
                if left <= 0:
                    raise CallTimeout(f"did not finish within {timeout:.0f}s")
                payloads = await self._execute_silently(codec.request_code(sealed), left)
        finally:
            if self._client is not None and self._client.take_drops(None, -1):
                self._note_cut(-1)
        return codec.decode_response(codec.the_answer(payloads, nonce), expected_nonce=nonce, limits=limits)
