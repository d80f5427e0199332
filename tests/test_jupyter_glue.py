"""The private jupyter_client / nbclient API that grader/jupyter_glue.py relies on is still there (no kernel starts).

When one of these fails after an upgrade, the pins in pyproject.toml were widened too far: adapt jupyter_glue.py
to the new release (or restore the pin) before anything else.
"""

from __future__ import annotations

import inspect

import pytest
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.client import KernelClient
from jupyter_client.manager import AsyncKernelManager, KernelManager
from nbclient import NotebookClient

from grader import jupyter_glue

# (base class, private method we override or call, its parameters, coroutine?)
PRIVATE_METHODS = [
    (AsyncKernelClient, "_async_wait_for_ready", ["self", "timeout"], True),
    (AsyncKernelClient, "_async_is_alive", ["self"], True),
    (AsyncKernelClient, "_handle_kernel_info_reply", ["self", "msg"], False),
    (AsyncKernelManager, "_async_launch_kernel", ["self", "kernel_cmd", "kw"], True),
    (AsyncKernelManager, "_async_wait", ["self", "pollinterval"], True),
    (NotebookClient, "_async_handle_timeout", ["self", "timeout", "cell"], True),
    (KernelManager, "_make_url", ["self", "channel"], False),  # the manager's control socket goes via the relay
]


@pytest.mark.parametrize(("base", "name", "parameters", "is_async"), PRIVATE_METHODS,
                         ids=[f"{b.__name__}.{n}" for b, n, _, _ in PRIVATE_METHODS])
def test_the_private_methods_we_override_keep_their_signatures(base, name, parameters, is_async):
    method = getattr(base, name, None)
    assert method is not None, f"{base.__module__}.{base.__name__}.{name} is gone"
    assert list(inspect.signature(method).parameters) == parameters
    assert inspect.iscoroutinefunction(method) is is_async


@pytest.mark.parametrize(("caller", "callee"), [
    # nbclient waits for the kernel through the client's public name, which our PromptClient rebinds
    (NotebookClient.async_start_new_kernel_client, "wait_for_ready"),
    (KernelClient._async_wait_for_ready, "_handle_kernel_info_reply"),
    # the manager launches through _async_launch_kernel (where the warm factory forks the kernel)
    (KernelManager._async_start_kernel, "_async_launch_kernel"),
    # a kernel killed at shutdown is waited for through _async_wait (polled every 5 ms here)
    (KernelManager._async_kill_kernel, "_async_wait"),
    # a cell's timeout goes through _async_handle_timeout (where timed-out cells are recorded)
    (NotebookClient._async_poll_for_reply, "_async_handle_timeout"),
])
def test_the_libraries_still_call_what_we_override(caller, callee):
    assert callee in inspect.getsource(caller), f"{caller.__qualname__} no longer calls {callee}"


def test_our_overrides_match_the_bases():
    for cls, base in [(jupyter_glue.PromptClient, AsyncKernelClient),
                      (jupyter_glue.SandboxedKernelManager, AsyncKernelManager),
                      (jupyter_glue.BoundedClient, NotebookClient)]:
        for name, member in vars(cls).items():
            if inspect.isfunction(member) and not name.startswith("__") and hasattr(base, name):
                ours = list(inspect.signature(member).parameters)
                theirs = list(inspect.signature(getattr(base, name)).parameters)
                assert ours == theirs, f"{cls.__name__}.{name}{ours} vs {base.__name__}.{name}{theirs}"
    assert jupyter_glue.PromptClient.wait_for_ready is jupyter_glue.PromptClient._async_wait_for_ready


def test_a_kernel_spec_set_on_the_manager_is_the_one_it_launches():
    context = zmq.Context()
    try:
        km = KernelManager(kernel_name="python3", context=context)
        assert "_kernel_spec" in vars(KernelManager) and isinstance(KernelManager.kernel_spec, property)
        spec = jupyter_glue.grader_kernel_spec()
        km._kernel_spec = spec
        assert km.kernel_spec is spec  # not looked up again by kernel name
        assert km.format_kernel_cmd()[:3] == spec.argv[:3]
    finally:
        context.destroy(linger=0)


def test_what_the_output_budget_relies_on_is_still_there():
    # BoundedClient counts a display once per earlier output with its id, from nbclient's private map
    assert "_display_id_map" in inspect.getsource(NotebookClient._update_display_id)
    assert "self._display_id_map = {}" in inspect.getsource(NotebookClient.reset_execution_trackers)
    # every kernel message of a cell goes through process_message (where the budget is spent)
    assert "process_message" in inspect.getsource(NotebookClient._async_poll_output_msg)
    # the manager's client() passes our context on to the client (so the bounded sockets are the client's)
    assert "kw.update(kwargs)" in inspect.getsource(KernelManager.client)


def test_the_managers_client_uses_the_bounded_context():
    context = jupyter_glue.bounded_context(iopub_max_bytes=1024**2, reply_max_bytes=1024)
    try:
        km = jupyter_glue.SandboxedKernelManager(kernel_name="python3", context=context)
        assert km.client().context is context
    finally:
        context.destroy(linger=0)


def test_every_grader_socket_connects_through_the_relay_and_the_kernel_file_does_not(tmp_path):
    from grader.zmtp_relay import Relay
    context = jupyter_glue.bounded_context(iopub_max_bytes=1024**2, reply_max_bytes=1024)
    relay = Relay({channel: 1024 for channel in jupyter_glue.CHANNELS})
    try:
        km = jupyter_glue.SandboxedKernelManager(kernel_name="python3", context=context, transport="ipc",
                                                 ip=str(tmp_path / "k"))
        km.relay = relay
        km.shell_port, km.iopub_port, km.stdin_port, km.control_port, km.hb_port = 1, 2, 3, 4, 5
        client = km.client()
        for channel in jupyter_glue.CHANNELS:
            assert client._make_url(channel).startswith(f"ipc://{relay.ip}-")
            assert km._make_url(channel).startswith(f"ipc://{relay.ip}-")
        assert km.get_connection_info()["ip"] == str(tmp_path / "k")  # what the kernel binds
    finally:
        context.destroy(linger=0)
        relay.close()
