"""One warm kernel factory per batch, lent by the `grade` process to its workers (grader/factory_share.py)."""

from __future__ import annotations

import os
import threading
import time

import psutil
import pytest

from grader.errors import KernelError
from grader.factory_share import FactoryBroker, RemoteFactory
from tests.conftest import invoke
from tests.minicourse import make_batch


class FakeFactory:
    def __init__(self, fail: str | None = None) -> None:
        self.asked: list[tuple[int, dict]] = []
        self.fail = fail

    def spawn(self, holder_pid: int, request: dict) -> int:
        if self.fail:
            raise KernelError(self.fail)
        self.asked.append((holder_pid, request))
        return 40000 + holder_pid


def test_a_worker_gets_its_kernel_forked_by_the_lent_factory():
    factory = FakeFactory()
    broker = FactoryBroker(lambda: factory)
    try:
        remote = RemoteFactory(broker.address, 1)
        assert remote.alive()
        request = {"argv": ["-f", "kernel.json"], "env": {"HOME": "/home/student"}, "uid": 1234}
        assert remote.spawn(17, request) == 40017
        assert factory.asked == [(17, request)]
        assert oct(os.stat(os.path.dirname(broker.address)).st_mode & 0o777) == "0o700"
    finally:
        broker.close()
    assert not remote.alive()
    with pytest.raises(KernelError, match="did not answer"):
        remote.spawn(17, request)


def test_a_factory_that_cannot_start_is_named_to_the_worker():
    broker = FactoryBroker(lambda: FakeFactory(fail="the kernel factory could not import torch"))
    try:
        with pytest.raises(KernelError, match="could not import torch"):
            RemoteFactory(broker.address, 1).spawn(5, {})
    finally:
        broker.close()


def test_the_factory_starts_while_the_workers_ask():
    """The broker listens at once; a request waits for a factory still starting, as the first worker's does."""
    ready = threading.Event()
    factory = FakeFactory()

    def starting() -> FakeFactory:
        ready.wait(5)
        return factory

    broker = FactoryBroker(starting)
    try:
        threading.Timer(0.3, ready.set).start()
        started = time.monotonic()
        assert RemoteFactory(broker.address, 1).spawn(2, {}) == 40002
        assert time.monotonic() - started >= 0.25
    finally:
        broker.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_user_gets_no_kernel():
    factory = FakeFactory()
    broker = FactoryBroker(lambda: factory)
    os.chmod(os.path.dirname(broker.address), 0o755)  # only the peer check stands in the way
    try:
        child = os.fork()
        if child == 0:
            try:
                os.setgid(65534)
                os.setuid(65534)
                RemoteFactory(broker.address, 1).spawn(3, {})
            except KernelError:
                os._exit(0)
            except BaseException:
                os._exit(2)
            os._exit(1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert factory.asked == []
    finally:
        broker.close()


def _factories_seen(stop: threading.Event, seen: dict[int, int]) -> None:
    """pid -> parent pid of every process running the factory's code (factories and the kernels they fork)."""
    me = psutil.Process()
    while not stop.is_set():
        for process in me.children(recursive=True):
            try:
                if any("def _become_kernel(" in part for part in process.cmdline()):
                    seen[process.pid] = process.ppid()
            except psutil.Error:
                pass
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.bwrap
def test_a_batch_on_two_workers_starts_one_factory(tmp_path, mini_course, isolation):
    from grader.warm import close_factories, warm_start_problem

    if warm_start_problem(isolation) is not None:
        pytest.skip(f"warm start cannot work here: {warm_start_problem(isolation)}")
    close_factories()
    batch = make_batch(mini_course, tmp_path / "subs", 3)
    seen: dict[int, int] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_factories_seen, args=(stop, seen))
    sampler.start()
    try:
        result = invoke(str(batch), "--course", str(mini_course), "--out", str(tmp_path / "out"),
                        "--isolation", isolation.requested, "--workers", "2")
    finally:
        stop.set()
        sampler.join()
        close_factories()
    assert result.exit_code == 0, result.output
    assert "kernels: warm start on" in result.output
    factories = [pid for pid, parent in seen.items() if parent not in seen]  # a kernel's parent is a factory
    assert len(seen) > 1 and len(factories) == 1, f"factories {factories} among {seen}"
    for student in ("s0", "s1", "s2"):
        report = (tmp_path / "out" / "students" / student / "report.json").read_text()
        assert '"status": "graded"' in report
