"""Trusted side of the kernel wire: arguments -> JSON, agent responses -> plain, validated values.

Nothing from the kernel is imported, unpickled or evaluated: responses are JSON checked against
schemas/wire.schema.json plus the invariants a schema cannot express, then turned into the value
classes below. See grader/sandboxed/kernel_agent.py for the request format.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from grader.errors import ProtocolError

RESPONSE_MIMETYPE = "application/vnd.grader.response+json"
AGENT_NAME = "__grader_agent__"

FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})
INT_RANGES: dict[str, tuple[int, int]] = {
    "uint8": (0, 2**8 - 1),
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
DTYPES = frozenset({"bool"}) | FLOAT_DTYPES | frozenset(INT_RANGES)
_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_MAX_DEPTH_CAP = 100  # jsonschema recurses per level; deeper documents would hit RecursionError
_SNIPPET = 200

_HERE = Path(__file__).resolve().parent
SCHEMA_PATH = _HERE / "schemas" / "wire.schema.json"


@dataclass(frozen=True)
class WireLimits:
    """Bounds on one agent response; sent to the agent and re-checked here (not sandbox.Limits)."""

    max_bytes: int = 16 * 2**20
    max_elements: int = 1_000_000
    max_depth: int = 32  # JSON nesting levels of the whole response; capped at 100

    def to_json(self) -> dict[str, int]:
        return {"max_bytes": self.max_bytes, "max_elements": self.max_elements,
                "max_depth": min(self.max_depth, _MAX_DEPTH_CAP)}


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

        t = torch.tensor(self.values, dtype=getattr(torch, _checked_dtype(self.dtype)))
        t = t.reshape(self.shape)
        if self.requires_grad and self.dtype in FLOAT_DTYPES:
            t.requires_grad_(True)
        return t

    @classmethod
    def from_torch(cls, t: Any) -> TensorValue:
        """Plain-data copy of a trusted torch tensor (the grad graph is not kept)."""
        import torch

        dtype = _checked_dtype(str(t.dtype).removeprefix("torch."))
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


# ------------------------------------------------------------------------------------- requests


def new_nonce() -> str:
    return secrets.token_hex(16)


def call_fields(target: str | Handle, args: tuple[Any, ...], kwargs: Mapping[str, Any], *,
                method: str | None = None, seed: int | None = None, keep: bool = False) -> dict[str, Any]:
    """The fields of a call or call_method request (nonce and limits are added by whoever sends it)."""
    return {
        "op": "call_method" if method else "call",
        "target": target if isinstance(target, str) else None,
        "handle": target.id if isinstance(target, Handle) else None,
        "method": method,
        "args": [encode_argument(a) for a in args],
        "kwargs": {str(k): encode_argument(v) for k, v in kwargs.items()},
        "seed": seed,
        "keep": keep,
    }


def request_code(request: Mapping[str, Any]) -> str:
    """Python source for an execute_request that runs one agent request."""
    text = json.dumps(request, allow_nan=False, separators=(",", ":"))
    return f"{AGENT_NAME}.handle({text!r})"


def sealed(request: Mapping[str, Any], limits: WireLimits) -> tuple[dict[str, Any], str]:
    """`request` ready to send: with a fresh nonce (returned too) and the response limits."""
    nonce = new_nonce()
    return {**request, "nonce": nonce, "limits": limits.to_json()}, nonce


def the_answer(payloads: Iterable[Any], nonce: str) -> Any:
    """The one published payload that answers the request `nonce`."""
    matching = [p for p in payloads if isinstance(p, dict) and p.get("nonce") == nonce]
    if len(matching) != 1:
        # The agent publishes exactly one answer; none or several means student code interfered.
        raise ProtocolError(f"expected one answer to the call, got {len(matching)}")
    return matching[0]


def encode_argument(value: Any, _depth: int = 0) -> Any:
    """Trusted argument -> JSON for the agent. Raises TypeError for unsupported values."""
    if _depth > _MAX_DEPTH_CAP:
        raise TypeError("argument nested too deeply (cycle?)")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral):  # int, IntEnum, numpy integers
        value = int(value)
        return value if -(2**63) <= value < 2**63 else {"kind": "bigint", "value": str(value)}
    if isinstance(value, numbers.Real) and not _is_torch_tensor(value):  # float, numpy floats
        value = float(value)
        return value if math.isfinite(value) else {"kind": "float", "value": _special_name(value)}
    if isinstance(value, Handle):
        return {"kind": "handle", "id": value.id}
    if isinstance(value, TensorValue):
        return _tensor_argument(value)
    if isinstance(value, (list, tuple)):
        items = [encode_argument(v, _depth + 1) for v in value]
        return items if isinstance(value, list) else {"kind": "tuple", "items": items}
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            items = {k: encode_argument(v, _depth + 1) for k, v in value.items()}
            return {"kind": "dict", "items": items}
        pairs = [[encode_argument(k, _depth + 1), encode_argument(v, _depth + 1)]
                 for k, v in value.items()]
        return {"kind": "dict_pairs", "items": pairs}
    if _is_torch_tensor(value):
        return _tensor_argument(TensorValue.from_torch(value))
    raise TypeError(f"cannot send a {type(value).__qualname__} to the student's kernel")


def _is_torch_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _tensor_argument(t: TensorValue) -> dict[str, Any]:
    dtype = _checked_dtype(t.dtype)
    values = _specials_to_names(t.values) if dtype in FLOAT_DTYPES else t.values
    try:
        _check_nesting(values, tuple(t.shape), dtype, "argument")
    except ProtocolError as e:
        raise ValueError(str(e)) from None
    return {"kind": "tensor", "dtype": dtype, "shape": list(t.shape), "values": values,
            "requires_grad": bool(t.requires_grad)}


def _specials_to_names(v: Any) -> Any:
    if isinstance(v, list):
        return [_specials_to_names(i) for i in v]
    if isinstance(v, float) and not math.isfinite(v):
        return _special_name(v)
    return v


def _special_name(f: float) -> str:
    return "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")


def _checked_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise TypeError(f"unsupported tensor dtype {dtype[:40]!r}")
    return dtype


# ------------------------------------------------------------------------------------ responses


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def decode_response(payload: Any, *, expected_nonce: str, limits: WireLimits | None = None) -> Any:
    """Validate one agent response and return its value as plain data.

    Raises StudentException / MissingDefinition for those responses, ProtocolError for anything
    malformed, too large, or answering another request.
    """
    limits = limits or WireLimits()
    max_depth = min(limits.max_depth, _MAX_DEPTH_CAP)
    if isinstance(payload, (str, bytes, bytearray)):
        payload = _parse_json(payload, limits.max_bytes)
    _measure(payload, max_depth, limits.max_elements)
    size = len(json.dumps(payload, allow_nan=False, separators=(",", ":")))
    if size > limits.max_bytes:
        raise ProtocolError(f"response has {size} bytes, more than the limit {limits.max_bytes}")
    try:
        err = jsonschema.exceptions.best_match(_validator().iter_errors(payload))
    except RecursionError:
        raise ProtocolError("response is nested too deeply to validate") from None
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path)[:_SNIPPET] or "(root)"
        raise ProtocolError(f"response does not match the wire schema at {where}: "
                            f"{_snippet(err.message)}")
    if payload["nonce"] != expected_nonce:
        raise ProtocolError(f"response nonce {_snippet(payload['nonce'], 40)!r} does not match "
                            f"the request's {_snippet(expected_nonce, 40)!r}")
    if payload["ok"]:
        return _value(payload["value"])
    error = payload["error"]
    kind = error["kind"]
    if kind == "exception":
        raise StudentException(error["type"], error["module"], error["mro"], error["message"])
    if kind == "missing":
        raise MissingDefinition(error["name"])
    if kind == "too_large":
        raise ProtocolError(f"the result is too large to send back: {_snippet(error['message'])}")
    raise ProtocolError(f"the agent rejected the request: {_snippet(error['message'])}")


def _snippet(text: str, n: int = _SNIPPET) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _parse_json(raw: str | bytes | bytearray, max_bytes: int) -> Any:
    if len(raw) > max_bytes:
        raise ProtocolError(f"response has {len(raw)} bytes, more than the limit {max_bytes}")

    def reject_constant(name: str) -> Any:
        raise ProtocolError(f"response contains the non-JSON constant {name}")

    try:
        return json.loads(raw, parse_constant=reject_constant)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"response is not valid JSON: {_snippet(str(e))}") from None


def _measure(root: Any, max_depth: int, max_elements: int) -> None:
    """Reject non-JSON types, non-finite floats and documents too deep or too large, iteratively."""
    count, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > max_elements:
            raise ProtocolError(f"response has more than {max_elements} elements")
        t = type(node)
        if t is list:
            children: Any = node
        elif t is dict:
            if not all(type(k) is str for k in node):
                raise ProtocolError("response has an object with a non-string key")
            children = node.values()
        elif t is float:
            if not math.isfinite(node):
                raise ProtocolError("response contains a non-finite JSON number")
            continue
        elif node is None or t in (bool, int, str):
            continue
        else:
            raise ProtocolError(f"response contains a non-JSON {t.__name__}")
        if depth > max_depth:
            raise ProtocolError(f"response is nested deeper than {max_depth} levels")
        stack.extend((c, depth + 1) for c in children)


def _value(v: Any) -> Any:
    """Schema-valid JSON value -> plain Python value (depth already bounded by _measure)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, list):
        return [_value(i) for i in v]
    kind = v["kind"]
    if kind == "float":
        return _SPECIAL[v["value"]]
    if kind == "bigint":
        try:
            return int(v["value"])
        except ValueError:
            raise ProtocolError("bigint has too many digits") from None
    if kind == "tuple":
        return tuple(_value(i) for i in v["items"])
    if kind == "dict":
        return {k: _value(i) for k, i in v["items"].items()}
    if kind == "dict_pairs":
        out: dict[Any, Any] = {}
        for k, i in v["items"]:
            key = _value(k)
            try:
                hash(key)
            except TypeError:
                raise ProtocolError("response has a dict key that is not hashable") from None
            out[key] = _value(i)
        return out
    if kind == "tensor":
        return _tensor(v)
    if kind == "module":
        return ModuleValue(class_name=v["class"], children=dict(v["children"]),
                           state={k: _tensor(t) for k, t in v["state"].items()},
                           exact_type=v["exact_type"], training=v["training"])
    if kind == "object":
        return ObjectValue(class_name=v["class"], repr=v["repr"])
    if kind == "handle":
        return Handle(v["id"])
    raise ProtocolError(f"unknown value kind {_snippet(str(kind), 40)!r}")  # schema forbids this


def _tensor(v: Mapping[str, Any]) -> TensorValue:
    dtype, shape = v["dtype"], tuple(v["shape"])
    values = _check_nesting(v["values"], shape, dtype, "response")
    return TensorValue(dtype=dtype, shape=shape, values=values, requires_grad=v["requires_grad"],
                       grad_fn=v["grad_fn"], is_leaf=v["is_leaf"], exact_type=v["exact_type"],
                       class_name=v["class"])


def _check_nesting(values: Any, shape: tuple[int, ...], dtype: str, what: str) -> Any:
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
                             f"{_snippet(repr(node), 40)}")

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
            if t is str and node in _SPECIAL:
                return _SPECIAL[node]
            raise bad(node)
    return leaf
