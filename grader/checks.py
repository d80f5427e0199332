"""What check authors import: the `check` marker, `Feedback`, and comparisons with student-readable failures."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import pytest

from .codec import Handle, MissingDefinition, ModuleValue, ObjectValue, StudentException, TensorValue

__all__ = [
    "check", "Feedback", "expect_tensor", "expect_close", "expect_raises", "describe",
    "StudentException", "MissingDefinition", "TensorValue", "ModuleValue", "ObjectValue", "Handle",
]

MARKER = "grader_check"


def check(question: str, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a pytest test as the check `<exercise>.<question>.<name>` of the rubric."""
    return getattr(pytest.mark, MARKER)(question=question, name=name)


class Feedback(AssertionError):
    """A check failed; `message` is written for the student.

    `reveals_values` marks messages that quote inputs or expected values: for a hidden check the grader
    then shows the rubric hint instead, so hidden inputs never reach a student.
    """

    def __init__(self, message: str, *, reveals_values: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.reveals_values = reveals_values


def describe(value: Any) -> str:
    """A short, student-readable name for what a function returned."""
    if isinstance(value, TensorValue):
        kind = "tensor" if value.exact_type else f"tensor subclass {value.class_name}"
        return f"{kind} of dtype {value.dtype} and shape {list(value.shape)}"
    if isinstance(value, ModuleValue):
        return f"nn.Module {value.class_name}"
    if isinstance(value, ObjectValue):
        return f"an object of class {value.class_name}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def _as_expected_tensor(expected: Any) -> Any:
    import torch

    if isinstance(expected, TensorValue):
        return expected.to_torch()
    if isinstance(expected, torch.Tensor):
        return expected.detach().clone()
    return torch.tensor(expected, dtype=torch.float32)


def expect_tensor(actual: Any, expected: Any, *, atol: float = 1e-5, rtol: float = 1e-5,
                  dtype: str | None = "float32", what: str = "the result") -> Any:
    """Require a plain torch.Tensor of the expected dtype and shape whose values are close; return it as torch."""
    import torch

    if not isinstance(actual, TensorValue):
        raise Feedback(f"{what} should be a torch.Tensor, but it is {describe(actual)}")
    if not actual.exact_type:
        raise Feedback(f"{what} should be a plain torch.Tensor, but it is {describe(actual)}")
    want = _as_expected_tensor(expected)
    if dtype is not None and actual.dtype != dtype:
        raise Feedback(f"{what} should have dtype {dtype}, but it has dtype {actual.dtype}")
    if tuple(actual.shape) != tuple(want.shape):
        raise Feedback(f"{what} should have shape {list(want.shape)}, but it has shape {list(actual.shape)}")
    got = actual.to_torch().to(torch.float64)
    if not bool(torch.isfinite(got).all()):
        raise Feedback(f"{what} contains NaN or infinity")
    if not torch.allclose(got, want.to(torch.float64), atol=atol, rtol=rtol):
        raise Feedback(f"{what} should be {_fmt(want)}, but it is {_fmt(got)}", reveals_values=True)
    return got


def expect_close(actual: Any, expected: float, *, atol: float = 1e-6, rtol: float = 1e-6,
                 what: str = "the result") -> float:
    """Require a real number (bool excluded) close to `expected`."""
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        raise Feedback(f"{what} should be a number, but it is {describe(actual)}")
    if not math.isfinite(actual):
        raise Feedback(f"{what} should be a finite number, but it is {actual}")
    if not math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
        raise Feedback(f"{what} should be {expected:.6g}, but it is {actual:.6g}", reveals_values=True)
    return float(actual)


def expect_raises(call: Callable[[], Any], error: str, *, what: str) -> StudentException:
    """Require that calling into the student's code raises `error` (e.g. "RuntimeError")."""
    try:
        value = call()
    except StudentException as exc:
        if not exc.is_a(error):
            raise Feedback(f"{what} should raise {error}, but it raised {exc.type_name}") from None
        return exc
    raise Feedback(f"{what} should raise {error}, but it returned {describe(value)}")


def _fmt(tensor: Any) -> str:
    values = tensor.flatten().tolist()
    shown = ", ".join(f"{v:.4g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
    return f"tensor([{shown}])"


def sequence_of(value: Any, length: int, *, what: str) -> Sequence[Any]:
    """Require a list or tuple of the given length."""
    if not isinstance(value, (list, tuple)):
        raise Feedback(f"{what} should be a list or tuple, but it is {describe(value)}")
    if len(value) != length:
        raise Feedback(f"{what} should have {length} items, but it has {len(value)}")
    return value
