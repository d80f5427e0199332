"""`student.call_shared`: a seeded call that several checks judge runs once per notebook."""

from __future__ import annotations

import pytest

from grader.codec import MissingDefinition, StudentException, TensorValue
from grader.plugin import StudentSession


class CountingKernel:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def call(self, target, *args, **kwargs):
        self.calls.append((target, args, tuple(sorted(kwargs.items()))))
        if target == "boom":
            raise StudentException("ValueError", "builtins", ["ValueError", "Exception"], "bad input")
        if target == "missing":
            raise MissingDefinition("missing")
        return {"losses": [1.0, 0.5], "seed": kwargs.get("_seed"),
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
