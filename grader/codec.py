"""Trusted side of the kernel wire: arguments -> JSON, agent responses -> plain, validated values.

Nothing from the kernel is imported, unpickled or evaluated: responses are JSON checked against
schemas/wire.schema.json plus the invariants a schema cannot express, then turned into the value
classes of grader/wire_values.py (re-exported here, the import path check authors use). See
grader/sandboxed/kernel_agent.py for the request format.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from grader.errors import ProtocolError
from grader.wire_values import (
    DTYPES,
    FLOAT_DTYPES,
    INT_RANGES,
    SNIPPET,
    SPECIAL_FLOATS,
    Handle,
    MissingDefinition,
    ModuleValue,
    ObjectValue,
    StudentException,
    TensorValue,
    check_nesting,
    checked_dtype,
    snippet,
)

__all__ = [
    "AGENT_NAME", "DTYPES", "FLOAT_DTYPES", "INT_RANGES", "RESPONSE_MIMETYPE", "SCHEMA_PATH", "Handle",
    "MissingDefinition", "ModuleValue", "ObjectValue", "StudentException", "TensorValue", "WireLimits",
    "call_fields", "decode_response", "encode_argument", "new_nonce", "request_code", "sealed", "the_answer",
]

RESPONSE_MIMETYPE = "application/vnd.grader.response+json"
AGENT_NAME = "__grader_agent__"

_MAX_DEPTH_CAP = 100  # jsonschema recurses per level; deeper documents would hit RecursionError

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
    dtype = checked_dtype(t.dtype)
    values = _specials_to_names(t.values) if dtype in FLOAT_DTYPES else t.values
    try:
        check_nesting(values, tuple(t.shape), dtype, "argument")
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
        where = "/".join(str(p) for p in err.absolute_path)[:SNIPPET] or "(root)"
        raise ProtocolError(f"response does not match the wire schema at {where}: "
                            f"{snippet(err.message)}")
    if payload["nonce"] != expected_nonce:
        raise ProtocolError(f"response nonce {snippet(payload['nonce'], 40)!r} does not match "
                            f"the request's {snippet(expected_nonce, 40)!r}")
    if payload["ok"]:
        return _value(payload["value"])
    error = payload["error"]
    kind = error["kind"]
    if kind == "exception":
        raise StudentException(error["type"], error["module"], error["mro"], error["message"])
    if kind == "missing":
        raise MissingDefinition(error["name"])
    if kind == "too_large":
        raise ProtocolError(f"the result is too large to send back: {snippet(error['message'])}")
    raise ProtocolError(f"the agent rejected the request: {snippet(error['message'])}")


def _parse_json(raw: str | bytes | bytearray, max_bytes: int) -> Any:
    if len(raw) > max_bytes:
        raise ProtocolError(f"response has {len(raw)} bytes, more than the limit {max_bytes}")

    def reject_constant(name: str) -> Any:
        raise ProtocolError(f"response contains the non-JSON constant {name}")

    try:
        return json.loads(raw, parse_constant=reject_constant)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"response is not valid JSON: {snippet(str(e))}") from None


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
        return SPECIAL_FLOATS[v["value"]]
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
    raise ProtocolError(f"unknown value kind {snippet(str(kind), 40)!r}")  # schema forbids this


def _tensor(v: Mapping[str, Any]) -> TensorValue:
    dtype, shape = v["dtype"], tuple(v["shape"])
    values = check_nesting(v["values"], shape, dtype, "response")
    return TensorValue(dtype=dtype, shape=shape, values=values, requires_grad=v["requires_grad"],
                       grad_fn=v["grad_fn"], is_leaf=v["is_leaf"], exact_type=v["exact_type"],
                       class_name=v["class"])
