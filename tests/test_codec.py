"""Round trips through the kernel agent (fake shell in-process, real ipykernel) and the decoder."""

from __future__ import annotations

import ast
import json
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from grader import codec, sandboxed, wire_values
from grader.codec import (
    Handle,
    MissingDefinition,
    ModuleValue,
    ObjectValue,
    StudentException,
    TensorValue,
    WireLimits,
    decode_response,
    encode_argument,
)
from grader.errors import GraderError, ProtocolError

STUDENT_SRC = '''
import collections, math
import numpy as np
import torch

def identity(x):
    return x

def grad_demo(w, x):
    return w * x

class SubT(torch.Tensor):
    pass

class Hijack(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise RuntimeError("hijacked")

def sub_tensor():
    return torch.arange(3.0).as_subclass(SubT)

def hijack_tensor():
    return torch.arange(3.0).as_subclass(Hijack)

def param():
    return torch.nn.Parameter(torch.ones(2))

class Rigged:
    def __eq__(self, other):
        return True
    __hash__ = None
    def __repr__(self):
        return "Rigged()"

class BadRepr:
    def __repr__(self):
        raise SystemExit("no repr for you")

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
        self.head = torch.nn.Linear(3, 1)
        self.register_buffer("scale", torch.tensor([2.0]))
    def forward(self, x):
        return self.head(self.body(x)) * self.scale

def linear_eval():
    return torch.nn.Linear(2, 1).eval()

class MyError(ValueError):
    pass

def raise_custom():
    raise MyError("custom message")

def raise_long():
    raise RuntimeError("x" * 5000)

def exit_now():
    raise SystemExit(2)

class Acc:
    def __init__(self, start=0):
        self.total = start
    def add(self, x):
        self.total += x
        return self.total

def total_of(acc):
    return acc.total

class Props:
    @property
    def boom(self):
        raise SystemExit("property")

props = Props()

def rand3():
    return torch.rand(3)

def zeros(n):
    return torch.zeros(n)

def deep(n):
    v = 1
    for _ in range(n):
        v = [v]
    return v

Point = collections.namedtuple("Point", "x y")
class LyingTuple(tuple):
    def __iter__(self):
        return iter(["lie"])

def tuples():
    return Point(1, 2), LyingTuple((3, 4)), torch.Size([2, 3])

def numpy_things():
    arr = np.arange(4, dtype=np.float32).reshape(2, 2)
    return arr, np.float64(1.5), np.int64(7), np.bool_(True)

class SneakyFloat(float):
    def __eq__(self, other):
        return True
    __hash__ = float.__hash__

def sneaky():
    return SneakyFloat(0.25), [SneakyFloat(1.0)]

def inject():
    return "__import__('os').system('echo pwned')"

def spin():
    import time
    while True:
        time.sleep(0.01)

def echo(*args, **kwargs):
    return args, kwargs
'''


class _FakePub:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def publish(self, data: dict[str, Any], metadata: dict[str, Any] | None = None) -> None:
        self.sent.append(data)


class _FakeShell:
    """Just what the agent uses: user_ns and display_pub."""

    def __init__(self) -> None:
        self.user_ns: dict[str, Any] = {"get_ipython": lambda: self, "__name__": "__main__"}
        self.display_pub = _FakePub()


class FakeKernel:
    def __init__(self) -> None:
        self.shell = _FakeShell()
        exec(compile(sandboxed.source("kernel_agent"), "<agent>", "exec"), self.shell.user_ns)  # noqa: S102
        exec(compile(STUDENT_SRC, "<student>", "exec"), self.shell.user_ns)  # noqa: S102

    def run(self, code: str) -> list[dict[str, Any]]:
        exec(compile(code, "<request>", "exec"), self.shell.user_ns)  # noqa: S102
        sent, self.shell.display_pub.sent = self.shell.display_pub.sent, []
        return sent


class RealKernel:
    def __init__(self) -> None:
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        for code in (sandboxed.source("kernel_agent"), STUDENT_SRC):
            reply, _ = self.execute(code)
            assert reply["content"]["status"] == "ok", reply["content"]

    def execute(self, code: str, interrupt_after: float | None = None
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        msg_id = self.kc.execute(code, store_history=False)
        if interrupt_after is not None:
            time.sleep(interrupt_after)
            self.km.interrupt_kernel()
        outputs = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "display_data":
                outputs.append(msg["content"]["data"])
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        while True:
            reply = self.kc.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply, outputs

    def run(self, code: str) -> list[dict[str, Any]]:
        reply, outputs = self.execute(code)
        assert reply["content"]["status"] == "ok", reply["content"]
        return outputs

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def fields(op: str, target: str | None = None, args: tuple[Any, ...] = (), *, handle: Handle | None = None,
           method: str | None = None, kwargs: dict[str, Any] | None = None, seed: int | None = None,
           keep: bool = False) -> dict[str, Any]:
    """The fields of any agent request: a call's as the engine builds them, the others by hand."""
    if op in ("call", "call_method"):
        return codec.call_fields(handle or target, args, kwargs or {}, method=method, seed=seed, keep=keep)
    return {"op": op, "target": target, "handle": handle.id if handle else None}


class Student:
    """Sends requests the way the engine will and decodes the single response."""

    def __init__(self, kernel: FakeKernel | RealKernel) -> None:
        self.kernel = kernel

    def raw(self, op: str, target: str | None = None, *args: Any, limits: WireLimits = WireLimits(),
            handle: Handle | None = None, method: str | None = None, kwargs: dict[str, Any] | None = None,
            seed: int | None = None, keep: bool = False) -> tuple[str, Any]:
        request, nonce = codec.sealed(fields(op, target, args, handle=handle, method=method, kwargs=kwargs,
                                             seed=seed, keep=keep), limits)
        outputs = self.kernel.run(codec.request_code(request))
        assert len(outputs) == 1 and list(outputs[0]) == [codec.RESPONSE_MIMETYPE], outputs
        return nonce, outputs[0][codec.RESPONSE_MIMETYPE]

    def __call__(self, op: str, target: str | None = None, *args: Any,
                 limits: WireLimits = WireLimits(), **opts: Any) -> Any:
        nonce, payload = self.raw(op, target, *args, limits=limits, **opts)
        return decode_response(payload, expected_nonce=nonce, limits=limits)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self("call", name, *args, kwargs=kwargs)


@pytest.fixture(scope="module", params=["fake", pytest.param("kernel", marks=pytest.mark.slow)])
def kernel(request: pytest.FixtureRequest) -> Iterator[FakeKernel | RealKernel]:
    if request.param == "fake":
        yield FakeKernel()
        return
    real = RealKernel()
    try:
        yield real
    finally:
        real.close()


@pytest.fixture
def student(kernel: FakeKernel | RealKernel) -> Student:
    return Student(kernel)


def _same(a: Any, b: Any) -> bool:
    """Equality where nan equals nan and types must match exactly."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


# ------------------------------------------------------------------------------ agent round trips


@pytest.mark.parametrize("value", [
    None, True, False, 0, -3, 2**63 - 1, 2**70, -(2**100), 1.5, -0.0, math.nan, math.inf, -math.inf,
    "", "héllo ✓", [1, [2, [3.5]]], (1, "a", None), (), {"a": 1, "b": [1, 2]},
    {1: "one", (1, 2): None, None: 2.5}, {"nested": ({"k": (1,)},)},
])
def test_plain_values_round_trip(student: Student, value: Any) -> None:
    assert _same(student.call("identity", value), value)


@pytest.mark.parametrize(("dtype", "shape"), [
    (torch.float32, (2, 3)), (torch.float64, ()), (torch.float16, (1, 1, 2)),
    (torch.bfloat16, (3,)),
    (torch.int64, (4,)), (torch.int32, (2, 2)), (torch.int16, (1,)), (torch.int8, (2,)),
    (torch.uint8, (0, 3)), (torch.bool, (2, 2)), (torch.float32, (2, 0, 4)),
])
def test_tensor_round_trip(student: Student, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    source = (torch.arange(math.prod(shape)) % 7 - 2).to(dtype).reshape(shape)
    out = student.call("identity", source)
    assert isinstance(out, TensorValue)
    assert out.dtype == str(dtype).removeprefix("torch.") and out.shape == shape
    assert out.numel == source.numel() and out.exact_type and out.class_name == "torch.Tensor"
    back = out.to_torch()
    assert back.dtype == dtype and torch.equal(back, source)


def test_tensor_special_floats(student: Student) -> None:
    out = student.call("identity", torch.tensor([[math.nan, math.inf], [-math.inf, 1.0]]))
    assert _same(out.values, [[math.nan, math.inf], [-math.inf, 1.0]])
    back = out.to_torch()
    assert torch.isnan(back[0, 0]) and back[0, 1] == math.inf and back[1, 0] == -math.inf


def test_requires_grad_and_grad_fn(student: Student) -> None:
    w = torch.tensor([2.0], requires_grad=True)
    leaf = student.call("identity", w)
    assert leaf.requires_grad and leaf.is_leaf and leaf.grad_fn is None
    y = student.call("grad_demo", w, torch.tensor([3.0]))
    assert y.requires_grad and not y.is_leaf and y.grad_fn == "MulBackward0" and y.values == [6.0]
    assert y.to_torch().requires_grad


def test_tensor_subclasses(student: Student) -> None:
    sub = student.call("sub_tensor")
    assert not sub.exact_type and sub.class_name.endswith(".SubT") and sub.values == [0.0, 1.0, 2.0]
    hijack = student.call("hijack_tensor")  # its __torch_function__ raises; the agent avoids it
    assert not hijack.exact_type and hijack.values == [0.0, 1.0, 2.0]
    p = student.call("param")
    assert p.exact_type and p.class_name == "torch.nn.parameter.Parameter" and p.requires_grad


def test_rigged_eq_becomes_object_value(student: Student) -> None:
    out = student.call("Rigged")
    assert out == ObjectValue(class_name="__main__.Rigged", repr="Rigged()")
    assert out != 1 and out != TensorValue("float32", (1,), [1.0])
    number, [inner] = student.call("sneaky")  # subclass of float arrives as a plain float
    assert type(number) is float and number == 0.25 and type(inner) is float
    bad = student.call("BadRepr")  # repr raises SystemExit: the agent survives
    assert isinstance(bad, ObjectValue) and bad.repr == "<repr failed>"


def test_module_value(student: Student) -> None:
    net = student.call("Net")
    assert isinstance(net, ModuleValue)
    assert net.class_name == "__main__.Net" and not net.exact_type and net.training
    assert net.children == {"body": "torch.nn.modules.container.Sequential",
                            "head": "torch.nn.modules.linear.Linear"}
    assert list(net.state) == ["scale", "body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    assert net.state["body.0.weight"].shape == (3, 2) and net.state["scale"].values == [2.0]
    lin = student.call("linear_eval")
    assert lin.exact_type and not lin.training and lin.children == {}


def test_student_exception_with_mro(student: Student) -> None:
    with pytest.raises(StudentException) as info:
        student.call("raise_custom")
    e = info.value
    assert e.type_name == "MyError" and e.module == "__main__" and e.message == "custom message"
    assert e.mro == ("__main__.MyError", "builtins.ValueError", "builtins.Exception",
                     "builtins.BaseException", "builtins.object")
    assert e.is_a("ValueError") and e.is_a("builtins.Exception") and not e.is_a("KeyError")
    with pytest.raises(StudentException) as info:
        student.call("raise_long")
    assert info.value.is_a("RuntimeError") and len(info.value.message) <= 1000


def test_system_exit_is_reported_and_agent_survives(student: Student) -> None:
    with pytest.raises(StudentException) as info:
        student.call("exit_now")
    assert info.value.is_a("builtins.SystemExit") and info.value.message == "2"
    assert student.call("identity", 5) == 5


def test_missing_definition_and_defines(student: Student) -> None:
    with pytest.raises(MissingDefinition) as info:
        student.call("not_defined_anywhere")
    assert info.value.name == "not_defined_anywhere"
    with pytest.raises(MissingDefinition):
        student.call("Acc.no_such_attr")
    assert student("defines", "Acc") is True and student("defines", "Acc.add") is True
    assert student("defines", "nope") is False
    assert student("get", "math.pi") == math.pi
    with pytest.raises(StudentException, match="property"):
        student("defines", "props.boom")
    with pytest.raises(StudentException, match="property"):
        student("get", "props.boom")
    with pytest.raises(ProtocolError, match="bad target"):
        student("call", "os.system('x')")


def test_keep_call_method_and_release(student: Student) -> None:
    h = student("call", "Acc", 10, keep=True)
    assert isinstance(h, Handle)
    assert student("call_method", None, 2, handle=h, method="add") == 12
    assert student("call_method", None, 3, handle=h, method="add") == 15
    assert student.call("total_of", h) == 15
    with pytest.raises(MissingDefinition):
        student("call_method", None, handle=h, method="nope")
    assert student("release", handle=h) is True
    assert student("release", handle=h) is False
    with pytest.raises(ProtocolError, match="unknown handle"):
        student("call_method", None, 1, handle=h, method="add")


def test_seed_makes_calls_reproducible(student: Student) -> None:
    a = student("call", "rand3", seed=1234)
    b = student("call", "rand3", seed=1234)
    torch.manual_seed(1234)
    assert a.values == b.values == torch.rand(3).tolist()


def test_kwargs_and_container_subclasses(student: Student) -> None:
    args, kwargs = student.call("echo", 1, b=(2.0, math.nan), c={"d": None})
    assert args == (1,) and kwargs["c"] == {"d": None} and math.isnan(kwargs["b"][1])
    point, lying, size = student.call("tuples")
    assert point == (1, 2) and lying == (3, 4) and size == (2, 3)


def test_numpy_values(student: Student) -> None:
    arr, f, i, b = student.call("numpy_things")
    assert isinstance(arr, TensorValue) and not arr.exact_type and arr.class_name == "numpy.ndarray"
    assert arr.values == [[0.0, 1.0], [2.0, 3.0]] and arr.dtype == "float32"
    assert (f, i, b) == (1.5, 7, True) and type(i) is int and type(b) is bool


def test_limits_are_enforced_by_the_agent(student: Student) -> None:
    assert student("call", "zeros", 100, limits=WireLimits(max_elements=200)).numel == 100
    with pytest.raises(ProtocolError, match="too large"):
        student("call", "zeros", 1000, limits=WireLimits(max_elements=200))
    with pytest.raises(ProtocolError, match="too large"):
        student("call", "zeros", 1000, limits=WireLimits(max_bytes=500))
    with pytest.raises(ProtocolError, match="too large"):
        student("call", "deep", 50, limits=WireLimits(max_depth=10))
    with pytest.raises(ProtocolError, match="too large"):
        student("call", "deep", 10_000)  # also a cycle-safe recursion bound


def test_wrong_nonce_is_rejected(student: Student) -> None:
    nonce, payload = student.raw("call", "identity", 1)
    assert decode_response(payload, expected_nonce=nonce) == 1
    with pytest.raises(ProtocolError, match="nonce"):
        decode_response(payload, expected_nonce=codec.new_nonce())


def test_code_looking_strings_stay_strings(student: Student) -> None:
    assert student.call("inject") == "__import__('os').system('echo pwned')"


def test_malformed_request_gets_bad_request(kernel: FakeKernel | RealKernel) -> None:
    outputs = kernel.run("__grader_agent__.handle('{not json')")
    with pytest.raises(ProtocolError, match="rejected the request"):
        decode_response(outputs[0][codec.RESPONSE_MIMETYPE], expected_nonce="")
    outputs = kernel.run(codec.request_code({"nonce": "n", "op": "explode", "target": "x"}))
    with pytest.raises(ProtocolError, match="unknown op"):
        decode_response(outputs[0][codec.RESPONSE_MIMETYPE], expected_nonce="n")


def test_interrupt_propagates_and_agent_survives(kernel: FakeKernel | RealKernel) -> None:
    """An engine interrupt (timeout) is not reported as a student exception; no response."""
    if not isinstance(kernel, RealKernel):
        pytest.skip("needs a real kernel")
    request = {**fields("call", "spin"), "nonce": "n1", "limits": WireLimits().to_json()}
    reply, outputs = kernel.execute(codec.request_code(request), interrupt_after=0.5)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt" and outputs == []
    assert kernel.km.is_alive() and Student(kernel).call("identity", "still here") == "still here"


# ------------------------------------------------------------------------ decoder on its own


def _ok(value: Any, nonce: str = "n") -> dict[str, Any]:
    return {"nonce": nonce, "ok": True, "value": value}


def _tensor(**over: Any) -> dict[str, Any]:
    t = {"kind": "tensor", "dtype": "float32", "shape": [2], "values": [1.0, "nan"],
         "requires_grad": False, "grad_fn": None, "is_leaf": True, "exact_type": True,
         "class": "torch.Tensor"}
    t.update(over)
    return t


def _decode(payload: Any, **kw: Any) -> Any:
    return decode_response(payload, expected_nonce="n", **kw)


def test_decode_valid_tensor_and_json_text() -> None:
    out = _decode(_ok(_tensor()))
    assert out.shape == (2,) and out.values[0] == 1.0 and math.isnan(out.values[1])
    assert _decode(json.dumps(_ok({"kind": "float", "value": "-inf"}))) == -math.inf


@pytest.mark.parametrize("bad", [
    _tensor(shape=[3]),                                  # too few values
    _tensor(shape=[1, 2]),                               # nesting does not match shape
    _tensor(shape=[], values=[1.0]),                     # scalar expected
    _tensor(values=[1.0, "boom"]),                       # unknown special
    _tensor(values=[1.0, True]),                         # bool in a float tensor
    _tensor(dtype="int64", values=[1, 1.5]),             # float in an int tensor
    _tensor(dtype="uint8", values=[1, 300]),             # out of the dtype's range
    _tensor(dtype="bool", values=[1, 0]),                # ints in a bool tensor
    _tensor(dtype="complex64"),                          # dtype not allowed
    _tensor(shape=[-2]),                                 # negative dim
    _tensor(extra=1),                                    # unknown field
    {"kind": "__import__('os')"},                        # unknown kind
    {"kind": "object", "class": "x", "repr": "y" * 201},  # repr too long
    {"kind": "handle", "id": "../../etc"},               # bad handle id
    {"kind": "bigint", "value": "12ab"},
    {"kind": "float", "value": "1e5"},
    {"kind": "dict_pairs", "items": [[1]]},
    {"kind": "dict_pairs", "items": [[[1, 2], 3]]},      # unhashable key
    {"kind": "module", "class": "M", "children": {}, "state": {"w": 1}, "exact_type": True,
     "training": True},
    {"no_kind": 1},
])
def test_decode_rejects_malformed_values(bad: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        _decode(_ok(bad))
    assert isinstance(info.value, GraderError) and len(str(info.value)) < 600


@pytest.mark.parametrize("payload", [
    None, [], "", "null", "{", '{"nonce": "n", "ok": true, "value": NaN}',
    {"nonce": "n", "ok": True},                                       # no value
    {"nonce": "n", "ok": True, "value": 1, "error": {"kind": "missing", "name": "f"}},
    {"nonce": "n", "ok": False, "error": {"kind": "exception", "type": "E"}},
    {"nonce": "n", "ok": False, "error": {"kind": "surprise", "message": "m"}},
    {"nonce": 1, "ok": True, "value": 1},
    {"nonce": "n", "ok": True, "value": math.nan},                    # raw NaN number
    {"nonce": "n", "ok": True, "value": (1, 2)},                      # not a JSON type
    {"nonce": "n", "ok": True, "value": {1: 2}},                      # non-string key
])
def test_decode_rejects_malformed_envelopes(payload: Any) -> None:
    with pytest.raises(ProtocolError):
        _decode(payload)


def test_decode_bombs_fail_cleanly() -> None:
    deep: Any = 1
    for _ in range(50_000):
        deep = [deep]
    with pytest.raises(ProtocolError, match="deeper"):
        _decode(_ok(deep))
    with pytest.raises(ProtocolError, match="deeper"):
        _decode(_ok(deep), limits=WireLimits(max_depth=10_000))  # capped below jsonschema's recursion
    with pytest.raises(ProtocolError, match="elements"):
        _decode(_ok(list(range(1000))), limits=WireLimits(max_elements=100))
    with pytest.raises(ProtocolError, match="bytes"):
        _decode(_ok("x" * 1000), limits=WireLimits(max_bytes=100))
    with pytest.raises(ProtocolError):
        _decode(_ok({"kind": "bigint", "value": "9" * 5000}))


def test_decode_errors_become_exceptions() -> None:
    exc = {"kind": "exception", "type": "E", "module": "m", "mro": ["m.E", "builtins.Exception"],
           "message": "boom"}
    with pytest.raises(StudentException, match="E: boom") as info:
        _decode({"nonce": "n", "ok": False, "error": exc})
    assert info.value.is_a("Exception") and not info.value.is_a("builtins.E")
    with pytest.raises(MissingDefinition, match="f is not defined"):
        _decode({"nonce": "n", "ok": False, "error": {"kind": "missing", "name": "f"}})
    with pytest.raises(ProtocolError, match="too large"):
        _decode({"nonce": "n", "ok": False, "error": {"kind": "too_large", "message": "big"}})


def test_decode_never_executes_anything() -> None:
    code = "__import__('os').system('touch /tmp/pwned')"
    obj = {"kind": "object", "class": code, "repr": code}
    value = {"kind": "dict", "items": {code: [code, obj]}}
    out = _decode(_ok(value))
    assert out == {code: [code, ObjectValue(class_name=code, repr=code)]}
    # The trusted modules never name an evaluating or unpickling facility.
    for path in (codec.__file__, wire_values.__file__):
        tree = ast.parse(open(path, encoding="utf-8").read())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                  for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        forbidden = {"eval", "exec", "pickle", "importlib", "__import__", "marshal", "compile"}
        assert not names & forbidden


def test_agent_defines_only_its_one_name() -> None:
    ns: dict[str, Any] = {}
    shell = _FakeShell()
    shell.user_ns = ns
    ns.update(get_ipython=lambda: shell, __builtins__=__builtins__)
    before = set(ns)
    exec(compile(sandboxed.source("kernel_agent"), "<agent>", "exec"), ns)  # noqa: S102
    assert set(ns) - before == {"__grader_agent__"}
    assert repr(ns["__grader_agent__"]) == "<grader agent>"


def test_agent_source_is_self_contained() -> None:
    tree = ast.parse(sandboxed.source("kernel_agent"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom)}
    assert imported <= {"json", "math", "sys", "torch"}


# ---------------------------------------------------------------------------- encode_argument


def test_encode_argument_kinds() -> None:
    assert encode_argument([1, (2.5, None), {"a": True}]) == [
        1, {"kind": "tuple", "items": [2.5, None]}, {"kind": "dict", "items": {"a": True}}]
    assert encode_argument({(1, 2): "x"}) == {
        "kind": "dict_pairs", "items": [[{"kind": "tuple", "items": [1, 2]}, "x"]]}
    assert encode_argument(math.nan) == {"kind": "float", "value": "nan"}
    assert encode_argument(2**64) == {"kind": "bigint", "value": str(2**64)}
    assert encode_argument(Handle("h3")) == {"kind": "handle", "id": "h3"}
    tv = TensorValue("float32", (2,), [math.inf, 1.0], requires_grad=True)
    assert encode_argument(tv) == {"kind": "tensor", "dtype": "float32", "shape": [2],
                                   "values": ["inf", 1.0], "requires_grad": True}
    assert encode_argument(torch.tensor([[1, 2]])) == {
        "kind": "tensor", "dtype": "int64", "shape": [1, 2], "values": [[1, 2]],
        "requires_grad": False}
    json.dumps(encode_argument([math.nan, torch.tensor([math.nan])]), allow_nan=False)


@pytest.mark.parametrize("bad", [object(), {1, 2}, b"bytes", ModuleValue("M"),
                                 torch.zeros(2, dtype=torch.complex64)])
def test_encode_argument_rejects_unsupported(bad: Any) -> None:
    with pytest.raises(TypeError):
        encode_argument(bad)


def test_encode_argument_rejects_inconsistent_tensor_value() -> None:
    with pytest.raises(ValueError, match="shape"):
        encode_argument(TensorValue("float32", (3,), [1.0, 2.0]))
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(TypeError, match="deeply"):
        encode_argument(cyclic)
