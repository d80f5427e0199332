"""`student.call_shared`: a seeded call that several checks judge runs once per notebook."""

from __future__ import annotations

import pytest

from grader.codec import Handle, MissingDefinition, StudentException, TensorValue
from grader.session import StudentSession


class CountingKernel:
    """A session.Channel that counts the requests it answers."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def request(self, request, timeout=None):
        self.calls.append(request)
        if request["target"] == "boom":
            raise StudentException("ValueError", "builtins", ["ValueError", "Exception"], "bad input")
        if request["target"] == "missing":
            raise MissingDefinition("missing")
        return {"losses": [1.0, 0.5], "seed": request["seed"],
                "weight": TensorValue("float32", (1, 2), [[0.1, 0.2]])}


def test_an_identical_seeded_call_runs_once_and_each_check_gets_its_own_copy():
    kernel = CountingKernel()
    student = StudentSession(kernel, notebook=None)
    first = student.call_shared("train", [1.0, 2.0], _seed=0, lr=0.1)
    first["losses"].append(99.0)  # one check mutating its result must not change what the next one sees
    second = student.call_shared("train", [1.0, 2.0], _seed=0, lr=0.1)
    assert len(kernel.calls) == 1
    assert second["losses"] == [1.0, 0.5] and second["weight"] == first["weight"]


@pytest.mark.parametrize("variant", [
    {"args": ([1.0, 2.5],), "kwargs": {"_seed": 0, "lr": 0.1}},
    {"args": ([1.0, 2.0],), "kwargs": {"_seed": 1, "lr": 0.1}},
    {"args": ([1.0, 2.0],), "kwargs": {"_seed": 0, "lr": 0.2}},
])
def test_another_argument_or_seed_is_another_call(variant):
    kernel = CountingKernel()
    student = StudentSession(kernel, notebook=None)
    student.call_shared("train", [1.0, 2.0], _seed=0, lr=0.1)
    student.call_shared("train", *variant["args"], **variant["kwargs"])
    assert len(kernel.calls) == 2


def test_a_students_exception_is_shared_too_and_plain_calls_are_never_shared():
    kernel = CountingKernel()
    student = StudentSession(kernel, notebook=None)
    for _ in range(2):
        with pytest.raises(StudentException):
            student.call_shared("boom", _seed=0)
        with pytest.raises(MissingDefinition):
            student.call_shared("missing", _seed=0)
    assert len(kernel.calls) == 2
    student.call("train", _seed=0)
    student.call("train", _seed=0)
    assert len(kernel.calls) == 4


def test_the_session_sends_each_request_through_its_channel_with_the_calls_time_limit():
    channel = CountingKernel()
    student = StudentSession(channel, notebook=None)
    seen = []
    channel.request = lambda request, timeout=None: seen.append((request, timeout)) or True
    student.call("train", 1.5, _timeout=3, lr=0.1)
    student.call_method(Handle("h1"), "step", 2)
    assert student.defines("model.fc") is True and student.variable("losses") is True
    (call, t1), (method, t2), (defines, t3), (get, t4) = seen
    assert (call["op"], call["target"], call["args"], call["kwargs"], t1) == ("call", "train", [1.5], {"lr": 0.1}, 3)
    assert (method["op"], method["handle"], method["method"], method["args"]) == ("call_method", "h1", "step", [2])
    assert t2 is None
    assert defines == {"op": "defines", "target": "model.fc"} and get == {"op": "get", "target": "losses"}
    assert t3 is None and t4 is None  # the channel's own default time limit
