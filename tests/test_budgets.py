"""The two budgets of a notebook: one output budget for every kernel message, one wall budget for everything."""

from __future__ import annotations

import re
import time

import nbformat
import pytest
import zmq

from grader.budget import OutputBudget, human_bytes, message_size
from grader.errors import CallTimeout
from grader.jupyter_glue import RECEIVE_QUEUE, bounded_context
from grader.kernel import INTERRUPT_GRACE, KernelSession
from grader.sandbox import Limits
from grader.session import StudentSession

from conftest import notebook


# -- no kernel ---------------------------------------------------------------------------------------------------
def test_message_size_counts_content_metadata_and_buffers_without_recursion():
    small = message_size({"content": {"text": "x" * 1000}, "metadata": {}})
    assert 1000 < small < 1100
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert message_size({"content": {"data": deep}}) > 100_000
    with_buffers = message_size({"content": {}, "metadata": {"m": "y" * 500}, "buffers": [b"z" * 4096,
                                                                                     memoryview(b"w" * 100)]})
    assert with_buffers >= 500 + 4096 + 100


def test_budget_admits_until_spent_and_names_what_it_cut():
    budget = OutputBudget(1000)
    assert budget.admit(0, "stream", 600)
    assert not budget.admit(0, "comm_msg", 500)
    assert budget.admit(0, "stream", 400)
    assert not budget.admit(1, "update_display_data", 3 * 1024**2)
    assert not budget.admit(1, "update_display_data", 1024**2)
    assert not budget.admit(1, "status", 100)  # stores nothing: never named
    assert not budget.admit(1, "\x1b[2Jforged", 10)
    assert budget.spent == 1000
    assert budget.describe(0) == "1 comm_msg (500 B)"
    assert budget.describe(1) == "2 update_display_data (4.0 MiB), 1 other (10 B)"
    assert human_bytes(1.5 * 1024**3) == "1.5 GiB"


def test_every_socket_of_a_bounded_context_holds_a_few_bounded_messages():
    context = bounded_context(iopub_max_bytes=20 * 1024**2, reply_max_bytes=1024**2)
    try:
        sub, dealer = context.socket(zmq.SUB), context.socket(zmq.DEALER)
        assert sub.getsockopt(zmq.RCVHWM) == dealer.getsockopt(zmq.RCVHWM) == RECEIVE_QUEUE
        assert sub.getsockopt(zmq.MAXMSGSIZE) == 20 * 1024**2
        assert dealer.getsockopt(zmq.MAXMSGSIZE) == 1024**2
    finally:
        context.destroy(linger=0)


# -- the output budget with a real kernel ----------------------------------------------------------------------
SMALL_OUTPUT = Limits(cell_timeout=30, notebook_timeout=120, call_timeout=10, memory_bytes=2 * 1024**3,
                      output_bytes=256 * 1024)


def notes(session: KernelSession, kind: str = "output_truncated") -> dict[int, str]:
    return {p.cell_index: p.message for p in session.problems if p.kind == kind}


@pytest.mark.slow
def test_display_updates_count_once_per_output_they_overwrite(isolation):
    nb = notebook(
        "from IPython.display import display, update_display\n"
        "for _ in range(20):\n    display({'text/plain': 'small'}, display_id='d', raw=True)",
        "update_display({'text/plain': 'u' * 100_000}, display_id='d', raw=True)",
        "print('after')",
    )
    with KernelSession(nb, [], isolation, SMALL_OUTPUT) as session:
        executed = session.run_notebook()
        assert len(nbformat.writes(executed)) < 2 * SMALL_OUTPUT.output_bytes
        assert [out["data"]["text/plain"] for out in executed.cells[0].outputs[:20]] == ["small"] * 20
        cut = notes(session)
        assert set(cut) == {1}, session.problems
        assert re.search(r"not kept: 1 update_display_data \(1\.\d MiB\)$", cut[1]), cut[1]
        assert "after" in executed.cells[2].outputs[0]["text"]  # small output after the cut still fits


@pytest.mark.slow
def test_widget_messages_are_counted_and_cut_like_any_output(isolation):
    nb = notebook(
        "from comm import create_comm\nw = create_comm(target_name='flood', data={'state': {}})\n"
        "for i in range(20):\n    w.send({'method': 'update', 'state': {f'k{i}': 'z' * 100_000}, 'buffer_paths': []})",
        "def alive():\n    return 'yes'",
    )
    with KernelSession(nb, [], isolation, SMALL_OUTPUT) as session:
        executed = session.run_notebook()
        kept = session._client.widget_state if session._client is not None else {}
        assert sum(len(v) for state in kept.values() for v in state.values()) <= SMALL_OUTPUT.output_bytes
        cut = notes(session)
        assert set(cut) == {0} and "comm_msg" in cut[0], session.problems
        assert "output truncated" in executed.cells[0].outputs[-1]["text"]
        assert StudentSession(session, executed).call("alive") == "yes"


@pytest.mark.slow
def test_a_message_nbclient_cannot_read_is_dropped_not_fatal(isolation):
    nb = notebook(
        "from comm import create_comm\n"
        "create_comm(target_name='jupyter.widget', data={'state': {'_model_name': 'OutputModel'}})",
        "value = 7",
        "def get():\n    return value",
    )
    with KernelSession(nb, [], isolation, SMALL_OUTPUT) as session:
        executed = session.run_notebook()
        assert "unreadable" in notes(session).get(0, ""), session.problems
        assert StudentSession(session, executed).call("get") == 7


# -- the wall budget -----------------------------------------------------------------------------------------------
HANGS = ("import time\ndef hang():\n    while True:\n        try:\n            time.sleep(0.05)\n"
         "        except KeyboardInterrupt:\n            pass\ndef quick():\n    return 'fast'")


@pytest.mark.slow
def test_calls_that_swallow_the_interrupt_stop_when_the_notebook_budget_is_spent(isolation, monkeypatch):
    budget = 20.0
    limits = Limits(cell_timeout=10, notebook_timeout=budget, call_timeout=4, memory_bytes=2 * 1024**3)
    starts = []
    original = KernelSession._start_kernel

    async def counting_start(self):
        starts.append(time.monotonic())
        await original(self)

    monkeypatch.setattr(KernelSession, "_start_kernel", counting_start)
    nb = notebook("import time\ntime.sleep(2)", HANGS)  # one slow cell, re-run on every restart
    started = time.monotonic()
    with KernelSession(nb, [], isolation, limits) as session:
        student = StudentSession(session, session.run_notebook())
        outcomes = []
        for _ in range(8):
            try:
                student.call("hang")
                outcomes.append("returned")
            except CallTimeout as exc:
                outcomes.append(str(exc))
        elapsed = time.monotonic() - started
        last = time.monotonic()
        with pytest.raises(CallTimeout, match="notebook time limit"):
            student.call("quick")
        assert time.monotonic() - last < 1  # no re-run once the budget is spent
    assert all(o != "returned" for o in outcomes), outcomes
    assert "the notebook time limit (20s) was spent" in outcomes[-1]
    # start-up, the slow cell, the calls and every restart fit in the budget (plus one interrupt's grace)
    assert elapsed < budget + INTERRUPT_GRACE + 5, elapsed
    assert len(starts) <= 4, len(starts)
    assert (-1, "notebook_timeout") in {(p.cell_index, p.kind) for p in session.problems}


@pytest.mark.slow
def test_start_up_counts_against_the_notebook_budget(isolation, monkeypatch):
    limits = Limits(cell_timeout=10, notebook_timeout=9, call_timeout=5, memory_bytes=2 * 1024**3)
    original = KernelSession._start_kernel

    async def slow_start(self):
        await original(self)
        time.sleep(6)  # a slow machine: most of the budget goes to start-up

    monkeypatch.setattr(KernelSession, "_start_kernel", slow_start)
    nb = notebook("import time\ntime.sleep(3)", "never = True")
    with KernelSession(nb, [], isolation, limits) as session:
        executed = session.run_notebook()
        kinds = [(p.cell_index, p.kind) for p in session.problems]
        assert {(0, "notebook_timeout"), (1, "notebook_timeout")} & set(kinds), kinds
        assert executed.cells[1].get("execution_count") is None
