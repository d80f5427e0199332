"""Values that cross the kernel wire, as the trusted side sees them: plain frozen dataclasses, no torch objects.

grader/codec.py builds them from validated agent responses (and re-exports them: check authors import
`from grader.codec import TensorValue, StudentException, MissingDefinition`). Also the dtype tables and
the shape/dtype check that both directions of the wire share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from grader.errors import ProtocolError

SNIPPET = 200  # characters of student text quoted in a protocol error
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})
INT_RANGES: dict[str, tuple[int, int]] = {
    "uint8": (0, 2**8 - 1),
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
DTYPES = frozenset({"bool"}) | FLOAT_DTYPES | frozenset(INT_RANGES)
SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


@dataclass(frozen=True)
class Handle:
    """An object kept in the kernel's agent registry."""

    id: str


@dataclass(frozen=True)
class TensorValue:
    """A tensor as plain data. `values` are nested lists (floats may be nan/inf)."""

    dtype: str
    shape: tuple[int, ...]
    values: Any
    requires_grad: bool = False
    grad_fn: str | None = None
    is_leaf: bool = True
    exact_type: bool = True
    class_name: str = "torch.Tensor"

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def to_torch(self) -> Any:
        """A real torch tensor with these dtype, shape, values and requires_grad."""
        import torch

        t = torch.tensor(self.values, dtype=getattr(torch, checked_dtype(self.dtype)))
        t = t.reshape(self.shape)
        if self.requires_grad and self.dtype in FLOAT_DTYPES:
            t.requires_grad_(True)
        return t

    @classmethod
    def from_torch(cls, t: Any) -> TensorValue:
        """Plain-data copy of a trusted torch tensor (the grad graph is not kept)."""
        import torch

        dtype = checked_dtype(str(t.dtype).removeprefix("torch."))
        return cls(dtype=dtype, shape=tuple(int(s) for s in t.shape),
                   values=t.detach().cpu().tolist(), requires_grad=bool(t.requires_grad),
                   grad_fn=None if t.grad_fn is None else type(t.grad_fn).__name__,
                   is_leaf=bool(t.is_leaf),
                   exact_type=type(t) in (torch.Tensor, torch.nn.Parameter),
                   class_name=f"{type(t).__module__}.{type(t).__qualname__}")


@dataclass(frozen=True)
class ModuleValue:
    """An nn.Module as plain data: child class names and parameter/buffer tensors by dotted name."""

    class_name: str
    children: dict[str, str] = field(default_factory=dict)
    state: dict[str, TensorValue] = field(default_factory=dict)
    exact_type: bool = False
    training: bool = True


@dataclass(frozen=True)
class ObjectValue:
    """Any other object: its class name and a truncated repr. Never equal to an expected value."""

    class_name: str
    repr: str


class StudentException(Exception):
    """The student's code raised; carries names only, never the exception object."""

    def __init__(self, type_name: str, module: str, mro: tuple[str, ...] | list[str],
                 message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.module = module
        self.mro = tuple(mro)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.type_name, self.module, self.mro, self.message))

    def is_a(self, name: str) -> bool:
        """True if `name` ("builtins.RuntimeError" or "RuntimeError") is in the class's MRO.

        A bare name matches any module's class of that name; qualify it to be strict.
        """
        return any(entry == name or entry.endswith("." + name) for entry in self.mro)


class MissingDefinition(Exception):
    """The requested name (or attribute path) is not defined in the student's namespace."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is not defined")
        self.name = name

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name,))


def checked_dtype(dtype: str) -> str:
    """`dtype` if the wire carries it; TypeError otherwise."""
    if dtype not in DTYPES:
        raise TypeError(f"unsupported tensor dtype {dtype[:40]!r}")
    return dtype


def snippet(text: str, n: int = SNIPPET) -> str:
    """At most `n` characters of `text`, for quoting it in an error."""
    return text if len(text) <= n else text[: n - 3] + "..."


def check_nesting(values: Any, shape: tuple[int, ...], dtype: str, what: str) -> Any:
    """Check that nested lists match `shape` and leaves match `dtype`; return the plain values."""
    leaf = _leaf_converter(dtype, what)

    def walk(node: Any, dims: tuple[int, ...]) -> Any:
        if not dims:
            return leaf(node)
        if type(node) is not list or len(node) != dims[0]:
            raise ProtocolError(f"{what} tensor values do not match its shape {list(shape)}")
        return [walk(n, dims[1:]) for n in node]

    return walk(values, shape)


def _leaf_converter(dtype: str, what: str) -> Any:
    def bad(node: Any) -> ProtocolError:
        return ProtocolError(f"{what} tensor of dtype {dtype} has an invalid element "
                             f"{snippet(repr(node), 40)}")

    if dtype == "bool":
        def leaf(node: Any) -> Any:
            if type(node) is not bool:
                raise bad(node)
            return node
    elif dtype in INT_RANGES:
        lo, hi = INT_RANGES[dtype]

        def leaf(node: Any) -> Any:
            if type(node) is not int or not lo <= node <= hi:
                raise bad(node)
            return node
    else:
        def leaf(node: Any) -> Any:
            t = type(node)
            if t is float:
                return node
            if t is int:
                return float(node)
            if t is str and node in SPECIAL_FLOATS:
                return SPECIAL_FLOATS[node]
            raise bad(node)
    return leaf
