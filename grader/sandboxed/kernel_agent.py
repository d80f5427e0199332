# Grader agent: SOURCE TEXT executed once inside the student's kernel (the grader never imports it).
#
# It defines `__grader_agent__` in the IPython user namespace. The engine then runs
# `__grader_agent__.handle('<request json>')`; the agent performs the call and publishes exactly one
# display_data message with mimetype application/vnd.grader.response+json.
#
# Request: {"nonce": str, "op": "call"|"call_method"|"get"|"defines"|"release",
# "target": str|null, "handle": str|null, "method": str|null, "args": [value...],
# "kwargs": {name: value}, "seed": int|null, "keep": bool,
# "limits": {"max_bytes": int, "max_elements": int, "max_depth": int}}.
# Response: {"nonce", "ok": true, "value"} or {"nonce", "ok": false, "error": {"kind": "missing" |
# "exception" | "too_large" | "bad_request", ...}}; see grader/schemas/wire.schema.json.
#
# Self-contained on purpose: stdlib only, torch/numpy looked up lazily. Nothing here is trusted
# by the grader; grader/codec.py re-validates every response.
#
# One file over the package's ~350-line guideline, on purpose: it runs as one source text in the
# kernel (sandboxed.source), everything inside one closure so that it adds a single name to the
# student's namespace; splitting it would mean loading and gluing several texts in the kernel.
#
# No module docstring: this text runs in the user namespace, where it would overwrite __doc__.


def __grader_make_agent__():  # noqa: C901 - one closure keeps the user namespace clean
    import json
    import math
    import sys

    mime = "application/vnd.grader.response+json"
    dumps, loads = json.dumps, json.loads
    isfinite = math.isfinite
    shell = get_ipython()  # noqa: F821 - provided by IPython in the user namespace
    user_ns = shell.user_ns
    publish_display = shell.display_pub.publish
    registry = {}
    counter = [0]
    defaults = {"max_bytes": 16 * 2**20, "max_elements": 1_000_000, "max_depth": 32}
    int64 = 2**63
    dtype_names = ("bool", "uint8", "int8", "int16", "int32", "int64",
                   "float16", "bfloat16", "float32", "float64")
    float_dtypes = ("float16", "bfloat16", "float32", "float64")

    class Missing(Exception):
        pass

    class BadRequest(Exception):
        pass

    class TooLarge(Exception):
        pass

    def cut(text, n):
        return text if len(text) <= n else text[: n - 3] + "..."

    def class_name(cls):
        try:
            mod, qual = cls.__module__, cls.__qualname__
            mod = str.__str__(mod) if isinstance(mod, str) else "?"
            qual = str.__str__(qual) if isinstance(qual, str) else "?"
            return cut(mod + "." + qual, 500)
        except Exception:
            return "?"

    def safe_repr(x):
        try:
            r = repr(x)
            r = str.__str__(r) if isinstance(r, str) else "<repr is not a str>"
        except KeyboardInterrupt:
            raise
        except BaseException:
            r = "<repr failed>"
        return cut(r, 200)

    def measure(root, max_depth, max_elements):
        """Depth and node count of a JSON document, with the same rules as grader/codec.py."""
        count, stack = 0, [(root, 1)]
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > max_elements:
                raise TooLarge("more than %d elements" % max_elements)
            if type(node) is list:
                children = node
            elif type(node) is dict:
                children = node.values()
            else:
                continue
            if depth > max_depth:
                raise TooLarge("nested deeper than %d levels" % max_depth)
            stack.extend((c, depth + 1) for c in children)

    # The engine runs this source before the student's first cell: the torch functions used to read
    # tensors are captured now, so a student who later patches torch.Tensor.tolist, clone, ... cannot
    # change what the grader is told.
    try:
        import torch as pristine_torch

        pristine = {
            "clone": pristine_torch.Tensor.clone, "detach": pristine_torch.Tensor.detach,
            "cpu": pristine_torch.Tensor.cpu, "tolist": pristine_torch.Tensor.tolist,
            "all": pristine_torch.all, "isfinite": pristine_torch.isfinite, "tensor": pristine_torch.tensor,
            "reshape": pristine_torch.Tensor.reshape, "requires_grad_": pristine_torch.Tensor.requires_grad_,
            "manual_seed": pristine_torch.manual_seed,
        }
    except ImportError:
        pristine_torch, pristine = None, {}

    def torch_mod():
        return pristine_torch if pristine_torch is not None else sys.modules.get("torch")

    def pristine_fn(name, torch):
        """The function captured at start-up, or (torch imported later) the current one."""
        if name in pristine:
            return pristine[name]
        if name in ("all", "isfinite", "tensor", "manual_seed"):
            return getattr(torch, name)
        return getattr(torch.Tensor, name)

    # ---------------------------------------------------------------- encoding (kernel -> grader)
    class Encoder:
        def __init__(self, limits):
            self.max_depth = limits["max_depth"]
            self.max_elements = limits["max_elements"]
            self.max_bytes = limits["max_bytes"]
            self.count = 0

        def add(self, n):
            self.count += n
            if self.count > self.max_elements:
                raise TooLarge("more than %d elements" % self.max_elements)

        def special(self, f):
            if f != f:
                return "nan"
            return "inf" if f > 0 else "-inf"

        def encode(self, x, depth=0):
            if depth > self.max_depth:
                raise TooLarge("nested deeper than %d levels" % self.max_depth)
            self.add(1)
            t = type(x)
            if x is None or t is bool:
                return x
            if t is int:
                return self.integer(x)
            if t is float:
                return x if isfinite(x) else {"kind": "float", "value": self.special(x)}
            if t is str:
                if len(x) > self.max_bytes:
                    raise TooLarge("string longer than %d" % self.max_bytes)
                return x
            torch = torch_mod()
            if torch is not None:
                if issubclass(t, torch.Tensor):
                    return self.tensor(x, torch)
                if issubclass(t, torch.nn.Module):
                    return self.module(x, torch, depth)
            np = sys.modules.get("numpy")
            if np is not None:
                if issubclass(t, np.ndarray):
                    return self.ndarray(x, np)
                if issubclass(t, np.generic):
                    return self.np_scalar(x, np, depth)
            # Container subclasses (namedtuple, torch.Size, OrderedDict) are read through the base
            # type's own methods so overridden __iter__/items cannot change what is sent.
            if issubclass(t, tuple):
                items = list(tuple.__iter__(x))
                self.add(len(items))
                return {"kind": "tuple", "items": [self.encode(i, depth + 1) for i in items]}
            if issubclass(t, list):
                items = list(list.__iter__(x))
                self.add(len(items))
                return [self.encode(i, depth + 1) for i in items]
            if issubclass(t, dict):
                pairs = list(dict.items(x))
                self.add(len(pairs))
                if all(type(k) is str for k, _ in pairs):
                    return {"kind": "dict",
                            "items": {k: self.encode(v, depth + 1) for k, v in pairs}}
                return {"kind": "dict_pairs",
                        "items": [[self.encode(k, depth + 2), self.encode(v, depth + 2)]
                                  for k, v in pairs]}
            if issubclass(t, int):
                return self.integer(int.__index__(x))
            if issubclass(t, float):
                return self.encode(float.__float__(x), depth)
            if issubclass(t, str):
                return self.encode(str.__str__(x), depth)
            return self.obj(x)

        def integer(self, x):
            if -int64 <= x < int64:
                return x
            if x.bit_length() > 14000:  # about 4300 decimal digits, Python's str(int) limit
                raise TooLarge("integer with more than 4300 digits")
            return {"kind": "bigint", "value": int.__repr__(x)}

        def obj(self, x):
            return {"kind": "object", "class": class_name(type(x)), "repr": safe_repr(x)}

        def tensor(self, t, torch):
            try:
                return self.tensor_fields(t, torch)
            except TooLarge:
                raise
            except Exception:
                return self.obj(t)

        def tensor_fields(self, t, torch):
            base = getattr(torch._C, "TensorBase", None) or torch._C._TensorBase
            with torch._C.DisableTorchFunctionSubclass():
                def attr(name):
                    return base.__dict__[name].__get__(t)

                name = str(attr("dtype")).replace("torch.", "")
                if (name not in dtype_names or attr("layout") is not torch.strided
                        or attr("is_quantized") or attr("is_meta")):
                    return self.obj(t)
                shape = [int(s) for s in attr("shape")]
                numel = 1
                for s in shape:
                    numel *= s
                self.add(numel)
                plain = pristine_fn("clone", torch)(pristine_fn("detach", torch)(t))
                if type(plain) is not torch.Tensor:  # e.g. a __torch_dispatch__ wrapper subclass
                    return self.obj(t)
                plain = pristine_fn("cpu", torch)(plain)
                values = pristine_fn("tolist", torch)(plain)
                if name in float_dtypes and not bool(pristine_fn("all", torch)(pristine_fn("isfinite", torch)(plain))):
                    values = self.fix_floats(values)
                grad_fn = attr("grad_fn")
                cls = type(t)
                return {
                    "kind": "tensor", "dtype": name, "shape": shape, "values": values,
                    "requires_grad": bool(attr("requires_grad")),
                    "grad_fn": None if grad_fn is None else cut(type(grad_fn).__name__, 500),
                    "is_leaf": bool(attr("is_leaf")),
                    "exact_type": cls is torch.Tensor or cls is torch.nn.Parameter,
                    "class": class_name(cls),
                }

        def fix_floats(self, v):
            if type(v) is list:
                return [self.fix_floats(i) for i in v]
            return v if isfinite(v) else self.special(v)

        def ndarray(self, a, np):
            try:
                base = np.asarray(a)  # a plain ndarray view: subclass properties are not consulted
                name = base.dtype.name
                if name not in dtype_names:
                    return self.obj(a)
                self.add(int(base.size))
                values = np.ndarray.tolist(base)
                if name in float_dtypes:
                    values = self.fix_floats(values)
                return {"kind": "tensor", "dtype": name, "shape": [int(s) for s in base.shape],
                        "values": values, "requires_grad": False, "grad_fn": None, "is_leaf": True,
                        "exact_type": False, "class": class_name(type(a))}
            except TooLarge:
                raise
            except Exception:
                return self.obj(a)

        def np_scalar(self, x, np, depth):
            if isinstance(x, np.bool_):
                return bool(x)
            if isinstance(x, np.integer):
                return self.integer(int(x))
            if isinstance(x, np.floating) and x.dtype.name in float_dtypes:
                return self.encode(float(x), depth)
            return self.obj(x)

        def module(self, m, torch, depth):
            try:
                cls = type(m)
                own = object.__getattribute__(m, "__dict__")
                children = {}
                for k, c in dict.items(own.get("_modules") or {}):
                    if c is not None:
                        children[str(k)] = class_name(type(c))
                state = {}
                seen, stack = set(), [("", m)]
                while stack:
                    prefix, mod = stack.pop()
                    if id(mod) in seen:
                        continue
                    seen.add(id(mod))
                    d = object.__getattribute__(mod, "__dict__")
                    for group in ("_parameters", "_buffers"):
                        for k, p in dict.items(d.get(group) or {}):
                            if issubclass(type(p), torch.Tensor):
                                enc = self.tensor(p, torch)
                                if enc.get("kind") == "tensor":
                                    state[prefix + str(k)] = enc
                    subs = [(prefix + str(k) + ".", c)
                            for k, c in dict.items(d.get("_modules") or {})
                            if issubclass(type(c), torch.nn.Module)]
                    stack.extend(reversed(subs))  # pre-order, like state_dict()
                self.add(len(children) + len(state))
                return {"kind": "module", "class": class_name(cls), "children": children,
                        "state": state, "exact_type": getattr(torch.nn, cls.__name__, None) is cls,
                        "training": own.get("training") is True}
            except TooLarge:
                raise
            except Exception:
                return self.obj(m)

    # ---------------------------------------------------------------- decoding (grader -> kernel)
    def unfloat(v):
        if type(v) is list:
            return [unfloat(i) for i in v]
        if type(v) is str:
            if v not in ("nan", "inf", "-inf"):
                raise BadRequest("bad tensor value")
            return float(v)
        return v

    def decode(v, depth=0):
        if depth > 100:
            raise BadRequest("argument nested too deeply")
        t = type(v)
        if v is None or t in (bool, int, float, str):
            return v
        if t is list:
            return [decode(i, depth + 1) for i in v]
        if t is not dict:
            raise BadRequest("bad argument")
        kind = v.get("kind")
        if kind == "float" and v.get("value") in ("nan", "inf", "-inf"):
            return float(v["value"])
        if kind == "bigint":
            return int(str(v["value"]))
        if kind == "tuple":
            return tuple(decode(i, depth + 1) for i in v["items"])
        if kind == "dict":
            return {str(k): decode(i, depth + 1) for k, i in v["items"].items()}
        if kind == "dict_pairs":
            return {decode(k, depth + 1): decode(i, depth + 1) for k, i in v["items"]}
        if kind == "handle":
            if v.get("id") not in registry:
                raise BadRequest("unknown handle %s" % cut(str(v.get("id")), 40))
            return registry[v["id"]]
        if kind == "tensor":
            torch = torch_mod()
            if torch is None:
                import torch
            dtype = v.get("dtype")
            if dtype not in dtype_names:
                raise BadRequest("bad tensor dtype")
            values = unfloat(v["values"]) if dtype in float_dtypes else v["values"]
            try:
                out = pristine_fn("reshape", torch)(pristine_fn("tensor", torch)(values, dtype=getattr(torch, dtype)),
                                           [int(s) for s in v["shape"]])
            except Exception as e:
                raise BadRequest("bad tensor argument: %s" % cut(str(e), 200))
            if v.get("requires_grad"):
                pristine_fn("requires_grad_", torch)(out, True)
            return out
        raise BadRequest("unknown argument kind %s" % cut(str(kind), 40))

    # ---------------------------------------------------------------- requests
    def resolve(target):
        if type(target) is not str or not target:
            raise BadRequest("target must be a non-empty string")
        parts = target.split(".")
        if not all(p.isidentifier() for p in parts):
            raise BadRequest("bad target name")
        if parts[0] not in user_ns:
            raise Missing(target)
        obj = user_ns[parts[0]]
        for p in parts[1:]:
            try:
                obj = getattr(obj, p)
            except AttributeError:
                raise Missing(target) from None
        return obj

    def exception_error(e):
        cls = type(e)
        try:
            mro = [class_name(c) for c in cls.__mro__][:100]
        except Exception:
            mro = [class_name(cls)]
        try:
            msg = str(e)
            msg = str.__str__(msg) if isinstance(msg, str) else "<str() is not a str>"
        except KeyboardInterrupt:
            raise
        except BaseException:
            msg = "<str() failed>"
        qual = getattr(cls, "__qualname__", "?")
        mod = getattr(cls, "__module__", "?")
        return {"kind": "exception",
                "type": cut(qual if type(qual) is str else "?", 500),
                "module": cut(mod if type(mod) is str else "?", 500),
                "mro": mro, "message": cut(msg, 1000)}

    def read_limits(req):
        limits = dict(defaults)
        given = req.get("limits") or {}
        if type(given) is not dict:
            raise BadRequest("limits must be an object")
        for k in defaults:
            if k in given:
                if type(given[k]) is not int or given[k] < 1:
                    raise BadRequest("bad limit %s" % k)
                limits[k] = given[k]
        # Encoding recurses once per level; the grader never accepts more than 100 anyway.
        limits["max_depth"] = min(limits["max_depth"], 100)
        return limits

    def perform(req):
        """Returns ("value", object to encode), ("raw", JSON value) or ("error", error dict)."""
        op = req.get("op")
        if op == "release":
            return "raw", registry.pop(req.get("handle"), None) is not None
        if op == "defines":
            try:
                resolve(req.get("target"))
                return "raw", True
            except Missing:
                return "raw", False
            except (BadRequest, KeyboardInterrupt):
                raise
            except BaseException as e:  # a student property raised while resolving
                return "error", exception_error(e)
        if op not in ("call", "call_method", "get"):
            raise BadRequest("unknown op %s" % cut(str(op), 40))
        args = req.get("args") or []
        kwargs = req.get("kwargs") or {}
        seed = req.get("seed")
        if type(args) is not list or type(kwargs) is not dict:
            raise BadRequest("args must be a list and kwargs an object")
        if seed is not None and type(seed) is not int:
            raise BadRequest("seed must be an integer")
        args = [decode(a) for a in args]
        kwargs = {str(k): decode(v) for k, v in kwargs.items()}
        if op == "call_method":
            method = req.get("method")
            if type(method) is not str or not method.isidentifier():
                raise BadRequest("bad method name")
            h = req.get("handle")
            if h is not None and h not in registry:
                raise BadRequest("unknown handle %s" % cut(str(h), 40))
        try:
            if op == "call_method":
                obj = registry[h] if h is not None else resolve(req.get("target"))
                try:
                    fn = getattr(obj, method)
                except AttributeError:
                    raise Missing("%s.%s" % (h if h is not None else req.get("target"), method))
            else:
                fn = resolve(req.get("target"))
            if seed is not None:
                torch = torch_mod()
                if torch is None:
                    import torch
                pristine_fn("manual_seed", torch)(seed)
            result = fn if op == "get" else fn(*args, **kwargs)
        except (Missing, BadRequest, KeyboardInterrupt):
            raise
        except BaseException as e:  # SystemExit from student code included: the agent must survive
            return "error", exception_error(e)
        if req.get("keep"):
            counter[0] += 1
            hid = "h%d" % counter[0]
            registry[hid] = result
            return "raw", {"kind": "handle", "id": hid}
        return "value", result

    def respond(request_json):
        nonce, limits = "", dict(defaults)
        try:
            req = loads(request_json)
            if type(req) is not dict:
                raise BadRequest("request must be a JSON object")
            nonce = req.get("nonce")
            if type(nonce) is not str:
                nonce = ""
                raise BadRequest("nonce must be a string")
            limits = read_limits(req)
            where, out = perform(req)
            if where == "error":
                return {"nonce": nonce, "ok": False, "error": out}
            value = Encoder(limits).encode(out) if where == "value" else out
            resp = {"nonce": nonce, "ok": True, "value": value}
            measure(resp, limits["max_depth"], limits["max_elements"])
            if len(dumps(resp, allow_nan=False, separators=(",", ":"))) > limits["max_bytes"]:
                raise TooLarge("more than %d bytes" % limits["max_bytes"])
            return resp
        except Missing as e:
            return {"nonce": nonce, "ok": False,
                    "error": {"kind": "missing", "name": cut(str(e.args[0]), 500)}}
        except TooLarge as e:
            return {"nonce": nonce, "ok": False,
                    "error": {"kind": "too_large", "message": cut(str(e), 1000)}}
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # BadRequest, bad JSON, or a bug here: report, never crash
            try:
                text = str(e) if isinstance(e, BadRequest) else "%s: %s" % (type(e).__name__, e)
            except Exception:
                text = "unprintable %s" % class_name(type(e))
            return {"nonce": nonce, "ok": False,
                    "error": {"kind": "bad_request", "message": cut(text, 1000)}}

    class GraderAgent:
        __slots__ = ()

        def handle(self, request_json):
            """Perform one request and publish its response as display data."""
            publish_display(data={mime: respond(request_json)}, metadata={})

        def __repr__(self):
            return "<grader agent>"

    return GraderAgent()


if "__grader_agent__" not in globals():  # idempotent: re-sent after the notebook in case it was wiped
    __grader_agent__ = __grader_make_agent__()
del __grader_make_agent__
