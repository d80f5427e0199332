"""What check authors import: the `check` marker, `Feedback`, and comparisons with student-readable failures."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import pytest

from .codec import Handle, MissingDefinition, ModuleValue, ObjectValue, StudentException, TensorValue
from .messages import Message, authored, joined, msg, verbatim
from .textsafe import one_line

__all__ = [
    "check", "Feedback", "msg", "authored", "received", "expect_tensor", "expect_close", "expect_raises", "expect_values", "raised",
    "values_of", "note", "take_notes", "describe",
    "StudentException", "MissingDefinition", "TensorValue", "ModuleValue", "ObjectValue", "Handle",
]

MARKER = "grader_check"
RECEIVED_LIMIT = 80
NOT_IMPLEMENTED = "builtins.NotImplementedError"
_notes: list[Message] = []
THE_RESULT = msg("expect.the_result")
_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def check(question: str, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a pytest test as the check `<exercise>.<question>.<name>` of the rubric."""
    return getattr(pytest.mark, MARKER)(question=question, name=name)


class Feedback(AssertionError):
    """A check failed; `message` is written for the student.

    `Feedback("text")` is shown as is in every language. With `zh=`, the message is a pair of templates
    formatted with `values` that `--lang zh` shows in Chinese: `Feedback("got {n} rows", zh="得到 {n} 行", n=3)`
    (both name the same placeholders). `Feedback(msg("code", ...))` uses a message of the grader's catalogue.

    `reveals_values` marks messages that quote inputs or expected values: for a hidden check the grader
    then shows the rubric hint instead, so hidden inputs never reach a student.

    `misconception` tags the failure with the stem of the `reference/wrong/<exercise>/` solution it recognises
    (`misconception="<question>__<name>"`): instructor-only, counted in summary.html, and `grade
    verify` proves that wrong solution triggers it. Write it as a literal: verify finds the declared tags in the
    check files' source.
    """

    def __init__(self, message: str, *, zh: str | None = None, reveals_values: bool = False,
                 misconception: str = "", **values: Any) -> None:
        if zh is not None:
            said = authored(message, zh, **values)
        else:
            said = verbatim(message.format(**values) if values else message)
        super().__init__(str(said))
        self.message: Message = said
        self.reveals_values = reveals_values
        self.misconception = misconception


def note(message: str, *, zh: str | None = None, **values: Any) -> None:
    """Say why a passing check passed although the answer's form was unusual (shown with the pass, never silent).

    `zh` and `values` as for `Feedback`."""
    _notes.append(authored(message, zh, **values) if zh is not None else
                  verbatim(message.format(**values) if values else message))


def take_notes() -> Message:
    """The notes the current check left (joined), clearing them for the next check."""
    said = joined(list(_notes), "check.notes")
    _notes.clear()
    return said


def received(value: Any, limit: int = RECEIVED_LIMIT) -> str:
    """Text the student's code chose (an exception's type or message, a dict key), safe to quote in a message:
    one line, no control characters, at most `limit` characters."""
    text = one_line(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value: Any) -> Message:
    """A short, student-readable name for what a function returned."""
    if isinstance(value, TensorValue):
        shape = str(list(value.shape))
        if _is_numpy(value):
            return msg("describe.numpy", dtype=value.dtype, shape=shape)
        if value.exact_type:
            return msg("describe.tensor", dtype=value.dtype, shape=shape)
        return msg("describe.tensor_subclass", cls=received(value.class_name), dtype=value.dtype, shape=shape)
    if isinstance(value, (list, tuple)):
        kinds = joined(sorted({_kind(v) for v in value}, key=str), "list.comma")
        if kinds:
            return msg("describe.sequence_kinds", type=type(value).__name__, count=len(value), kinds=kinds)
        return msg("describe.sequence", type=type(value).__name__, count=len(value))
    if isinstance(value, ModuleValue):
        return msg("describe.module", cls=received(value.class_name))
    if isinstance(value, ObjectValue):
        return msg("describe.object", cls=received(value.class_name))
    if value is None:
        return verbatim("None")
    return msg("describe.other", type=type(value).__name__)


def _as_expected_tensor(expected: Any) -> Any:
    import torch

    if isinstance(expected, TensorValue):
        return expected.to_torch()
    if isinstance(expected, torch.Tensor):
        return expected.detach().clone()
    return torch.tensor(expected, dtype=torch.float32)


def expect_tensor(actual: Any, expected: Any, *, atol: float = 1e-5, rtol: float = 1e-5,
                  dtype: str | None = "float32", what: str = THE_RESULT) -> Any:
    """Require a plain torch.Tensor of the expected dtype and shape whose values are close; return it as torch."""
    import torch

    if not isinstance(actual, TensorValue):
        raise Feedback(msg("expect.not_tensor", what=what, got=describe(actual)))
    if not actual.exact_type:
        raise Feedback(msg("expect.not_plain_tensor", what=what, got=describe(actual)))
    want = _as_expected_tensor(expected)
    if dtype is not None and actual.dtype != dtype:
        raise Feedback(msg("expect.dtype", what=what, want=dtype, got=actual.dtype))
    if tuple(actual.shape) != tuple(want.shape):
        raise Feedback(msg("expect.shape", what=what, want=str(list(want.shape)), got=str(list(actual.shape))))
    got = actual.to_torch().to(torch.float64)
    if not bool(torch.isfinite(got).all()):
        raise Feedback(msg("expect.not_finite", what=what))
    if not torch.allclose(got, want.to(torch.float64), atol=atol, rtol=rtol):
        raise Feedback(msg("expect.value", what=what, want=_fmt(want), got=_fmt(got)), reveals_values=True)
    return got


def expect_close(actual: Any, expected: float, *, atol: float = 1e-6, rtol: float = 1e-6,
                 what: str = THE_RESULT) -> float:
    """Require a real number (bool excluded) close to `expected`."""
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        raise Feedback(msg("expect.not_number", what=what, got=describe(actual)))
    if not math.isfinite(actual):
        raise Feedback(msg("expect.not_finite_number", what=what, got=str(actual)))
    if not math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
        raise Feedback(msg("expect.value", what=what, want=f"{expected:.6g}", got=f"{actual:.6g}"),
                       reveals_values=True)
    return float(actual)


def raised(exc: StudentException, error: str) -> bool:
    """True if the student's exception is the built-in `error` or a subclass of it, and not a NotImplementedError.

    NotImplementedError subclasses RuntimeError: an untouched TODO stub must never count as "raises RuntimeError".
    """
    wanted = error if "." in error else f"builtins.{error}"
    return exc.is_a(wanted) and not exc.is_a(NOT_IMPLEMENTED)


def expect_raises(call: Callable[[], Any], error: str, *, what: str) -> StudentException:
    """Require that calling into the student's code raises `error` (e.g. "RuntimeError"), never NotImplementedError."""
    try:
        value = call()
    except StudentException as exc:
        if exc.is_a(NOT_IMPLEMENTED):
            raise Feedback(msg("expect.raises_stub", what=what, error=error)) from None
        if not raised(exc, error):
            raise Feedback(msg("expect.raises_other", what=what, error=error, got=received(exc.type_name))) from None
        return exc
    raise Feedback(msg("expect.raises_returned", what=what, error=error, got=describe(value)))


def values_of(value: Any) -> list[float] | None:
    """The numbers a value holds, flattened, when it is a plain number (not bool), a plain floating-point tensor or
    numpy array, or a list/tuple of those; None for anything else (objects, tensor subclasses, strings, bools)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, TensorValue):
        if not (value.exact_type or _is_numpy(value)) or value.dtype not in _FLOAT_DTYPES:
            return None  # a gradient or a loss is never an integer tensor
        return [float(v) for v in _flatten(value.values)]
    if isinstance(value, (list, tuple)):
        out: list[float] = []
        for item in value:
            part = values_of(item)
            if part is None:
                return None
            out += part
        return out
    return None


def expect_values(actual: Any, expected: float | Sequence[float], *, what: str, lesson_form: str,
                  atol: float = 1e-5, rtol: float = 1e-5) -> list[float]:
    """Require the expected value(s), whatever the container: a number, a 0-d or one-element tensor, a list or
    tuple. For a scalar `expected` the lesson's form is a float32 tensor of shape [1]; for a list, a list of
    those. Any other accepted form leaves a note saying what was accepted. Returns the values."""
    scalar = isinstance(expected, (int, float))
    want = [float(expected)] if scalar else [float(v) for v in expected]
    shown_want = _fmt_numbers(want)
    got = values_of(actual)
    if got is None:
        raise Feedback(msg("expect.values_form", what=what, want=shown_want, lesson_form=lesson_form,
                           got=describe(actual)), reveals_values=True)
    if len(got) != len(want):
        raise Feedback(msg("expect.values_count", what=what, count=len(want), want=shown_want, got=describe(actual),
                           got_count=len(got), values=_fmt_numbers(got)), reveals_values=True)
    if not all(math.isfinite(v) for v in got):
        raise Feedback(msg("expect.values_not_finite", what=what, values=_fmt_numbers(got)))
    if not all(math.isclose(g, w, rel_tol=rtol, abs_tol=atol) for g, w in zip(got, want)):
        raise Feedback(msg("expect.value", what=what, want=shown_want, got=_fmt_numbers(got)), reveals_values=True)
    lesson = _is_lesson_tensor(actual) if scalar else (
        isinstance(actual, list) and all(_is_lesson_tensor(v) for v in actual))
    if not lesson:
        _notes.append(msg("expect.accepted_form", what=what, got=describe(actual), want=shown_want,
                          lesson_form=lesson_form))
    return got


def _is_lesson_tensor(value: Any) -> bool:
    return isinstance(value, TensorValue) and value.exact_type and value.dtype == "float32" and \
        tuple(value.shape) == (1,)


def _is_numpy(value: TensorValue) -> bool:
    return value.class_name.startswith("numpy.")


def _kind(value: Any) -> Message:
    if isinstance(value, TensorValue):
        return msg("describe.kind_numpy" if _is_numpy(value) else "describe.kind_tensor" if value.exact_type
                   else "describe.kind_tensor_subclass")
    return verbatim("None") if value is None else msg("describe.kind_other", type=type(value).__name__)


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, list):
        return [v for item in values for v in _flatten(item)]
    return [values]


def _fmt_numbers(values: Sequence[float]) -> str:
    shown = ", ".join(f"{v:.4g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
    return shown if len(values) == 1 else f"[{shown}]"


def _fmt(tensor: Any) -> str:
    values = tensor.flatten().tolist()
    shown = ", ".join(f"{v:.4g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
    return f"tensor([{shown}])"


def sequence_of(value: Any, length: int, *, what: str) -> Sequence[Any]:
    """Require a list or tuple of the given length."""
    if not isinstance(value, (list, tuple)):
        raise Feedback(msg("expect.not_sequence", what=what, got=describe(value)))
    if len(value) != length:
        raise Feedback(msg("expect.length", what=what, count=length, got=len(value)))
    return value
