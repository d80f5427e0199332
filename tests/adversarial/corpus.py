"""The adversarial corpus: hostile and broken submissions, each with the outcome the grader must give.

Kernel cases are the autograd reference solution plus hostile cells (so every honest question should
still score unless the case attacks it); file cases are raw bytes handed in as the notebook; the stored-outputs
case is a blank logistic-regression notebook with fake plots stored in it (`with_stored_images`).
`{paths}` in a cell is replaced with a JSON object of paths the sandbox must not see.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import nbformat

QUESTIONS = ("retain_graph", "grad_tensors", "create_graph", "accumulation", "requires_grad", "leaf_inplace")


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    cells: tuple[str, ...] = ()
    at_start: bool = False
    zero: frozenset[str] = frozenset()       # questions that must score nothing
    full: frozenset[str] | None = None        # questions that must keep full marks (default: all but `zero`)
    cell_note: str | tuple[str, ...] | None = None  # a `cells` entry of (one of) these kinds must be reported
    note_names: tuple[str, ...] = ()          # each must be named in a `cells` entry's message (what was cut)
    bwrap_only: bool = False                  # the expectation holds only inside bubblewrap
    raw: bytes | None = None                  # a file case: these bytes are the notebook
    status: str = "graded"
    message: str | None = None                # substring of the exercise message
    check_message: str | None = None          # substring of the public check message of each `zero` question
    secret_markers: tuple[str, ...] = field(default=())
    hidden_marker: str | None = None          # text the student's code produces that no hidden check may show

    def keeps_full(self) -> frozenset[str]:
        return frozenset(QUESTIONS) - self.zero if self.full is None else self.full


WRONG_WEIGHTED = """
import torch
def weighted_backward(w, x, weights):
    return torch.tensor([0.0])
"""

# The TODO stub for weighted_backward, and a cell that replaces the in-kernel agent with an object answering the
# grader's requests itself (it sees each request, nonce included): a perfect-looking plain tensor (exact type,
# float32, shape [1], leaf, no grad) whose value it makes up without doing the work (dy0/dw + dy1/dw, the weights
# ignored). Every other request goes to the real agent. Only values on unpredictable inputs can catch this.
REBOUND_AGENT = """
import json
from IPython.display import display

def weighted_backward(w, x, weights):
    raise NotImplementedError("TODO: implement weighted_backward")

class _Forger:
    def __init__(self, real):
        self.real = real
    def handle(self, request_json):
        request = json.loads(request_json)
        if request.get("target") != "weighted_backward":
            return self.real.handle(request_json)
        w, x = request["args"][0], request["args"][1]
        display({"application/vnd.grader.response+json": {"nonce": request["nonce"], "ok": True, "value": {
            "kind": "tensor", "dtype": "float32", "shape": [1], "values": [(2 * w + x + 1) + 2.0],
            "requires_grad": False, "grad_fn": None, "is_leaf": True, "exact_type": True,
            "class": "torch.Tensor"}}}, raw=True)

__grader_agent__ = _Forger(__grader_agent__)
"""

KERNEL_KILLERS = [
    Case("sys_exit", "kernel killer", ("import sys\nsys.exit(1)",)),
    Case("raise_systemexit", "kernel killer", ("raise SystemExit('bye')",)),
    Case("os_exit", "kernel killer", ("import os\nos._exit(0)",), cell_note="kernel_died"),
    Case("kill_self", "kernel killer", ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",),
         cell_note="kernel_died"),
    Case("kill_parent", "kernel killer", ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",),
         bwrap_only=True),
    Case("segfault", "kernel killer", ("import ctypes\nctypes.string_at(0)",), cell_note="kernel_died"),
    Case("abort", "kernel killer", ("import os\nos.abort()",), cell_note="kernel_died"),
    Case("exit_at_start", "kernel killer", ("import os\nos._exit(3)",), at_start=True, cell_note="kernel_died"),
    Case("exit_inside_graded_function", "kernel killer",
         ("import os\ndef weighted_backward(w, x, weights):\n    os._exit(1)",), zero=frozenset({"grad_tensors"})),
]

RESOURCE_EXHAUSTION = [
    Case("infinite_loop", "resources", ("while True:\n    pass",), cell_note="timeout"),
    Case("endless_sleep", "resources", ("import time\ntime.sleep(10**6)",), cell_note="timeout"),
    Case("ignores_interrupt", "resources",
         ("while True:\n    try:\n        pass\n    except KeyboardInterrupt:\n        pass",), cell_note="timeout"),
    Case("reads_stdin", "resources", ("input('your name? ')",)),
    Case("python_memory_bomb", "resources", ("block = bytearray(64 * 1024**3)",)),
    Case("python_memory_creep", "resources", ("hog = []\nwhile True:\n    hog.append(bytearray(64 * 1024**2))",)),
    Case("torch_memory_bomb", "resources", ("import torch\nbig = torch.empty(10**12)",)),
    Case("fork_bomb", "resources", ("import os\nwhile True:\n    os.fork()",), bwrap_only=True),
    Case("huge_file", "resources",
         ("with open('huge.bin', 'wb') as f:\n    for _ in range(1024):\n        f.write(b'x' * 1024**2)",)),
    Case("print_flood", "resources", ("import sys\nfor _ in range(3000):\n    sys.stdout.write('x' * 100_000 + '\\n')",),
         cell_note=("output_truncated", "timeout", "kernel_died")),
    Case("floods_display_updates_and_widgets", "resources",
         ("from IPython.display import display, update_display\n"
          "for _ in range(30):\n    display({'text/plain': 'small'}, display_id='flood', raw=True)\n"
          "update_display({'text/plain': 'u' * 1024**2}, display_id='flood', raw=True)",
          "from comm import create_comm\nw = create_comm(target_name='flood', data={'state': {}})\n"
          "for i in range(30):\n"
          "    w.send({'method': 'update', 'state': {f'k{i}': 'z' * (2 * 1024**2)}, 'buffer_paths': []})"),
         cell_note="output_truncated", note_names=("update_display_data", "comm_msg")),
    Case("many_buffers", "resources",  # one message of 50 frames of 16 MiB: over the IOPub cap, cut by the relay
         ("from comm import create_comm\nflood = create_comm(target_name='flood', data={'state': {}})\n"
          "chunk = b'b' * (16 * 1024**2)\nfor i in range(2):\n"
          "    flood.send({'method': 'update', 'state': {}, 'buffer_paths': [['k', str(j)] for j in range(50)]},\n"
          "               buffers=[chunk] * 50)",),
         cell_note="output_truncated", note_names=("oversize_message",)),
    Case("forged_widget_message", "resources",
         ("from comm import create_comm\n"
          "create_comm(target_name='jupyter.widget', data={'state': {'_model_name': 'OutputModel'}})",),
         cell_note="output_truncated", note_names=("unreadable",)),
    Case("huge_image", "resources",
         ("import base64, os\nfrom IPython.display import display\n"
          "display({'image/png': base64.b64encode(os.urandom(30 * 1024**2)).decode()}, raw=True)",)),
]

ESCAPES = [
    Case("reads_hidden_checks_and_references", "escape",
         ("import json, os\npaths = json.loads('{paths}')\nfor p in paths.values():\n"
          "    try:\n        print(open(p).read())\n    except OSError as e:\n        print('blocked', type(e).__name__)",),
         bwrap_only=True, secret_markers=("def test_grad_tensors_random_weights",)),
    Case("walks_the_filesystem", "escape",
         ("import os\nfound = []\nfor root, dirs, files in os.walk('/'):\n"
          "    if root.startswith(('/proc', '/sys', '/usr', '/dev')):\n        dirs[:] = []\n        continue\n"
          "    found += [os.path.join(root, f) for f in files if f.endswith(('.ipynb', '.toml', '.json', '.py'))]\n"
          "print('\\n'.join(found[:2000]))",), bwrap_only=True,
         secret_markers=("test_autograd_hidden.py", "autograd.toml", "reference/01_autograd", "/graded/")),
    Case("reads_grader_environment", "escape",
         ("import os\nprint(dict(os.environ))\nfor pid in os.listdir('/proc'):\n    try:\n"
          "        print(open(f'/proc/{pid}/environ', 'rb').read())\n    except (OSError, ValueError):\n        pass",),
         secret_markers=("GRADER_SECRET", "corpus-secret-value")),
    Case("connects_to_the_grader_host", "escape",
         ("import json, socket\nport = json.loads('{paths}')['port']\n"
          "try:\n    socket.create_connection(('127.0.0.1', port), timeout=3)\n    print('CONNECTED')\n"
          "except OSError as e:\n    print('no network', type(e).__name__)",), bwrap_only=True,
         secret_markers=("CONNECTED",)),
    Case("connects_to_the_internet", "escape",
         ("import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=3)\n    print('CONNECTED')\n"
          "except OSError as e:\n    print('no network', type(e).__name__)",), bwrap_only=True,
         secret_markers=("CONNECTED",)),
    Case("leaves_a_process_to_rewrite_reports", "escape",
         ("import os, json, time\npaths = json.loads('{paths}')\nif os.fork() == 0:\n    os.setsid()\n"
          "    if os.fork() == 0:\n        time.sleep(2)\n        for p in [paths['reports'] + '/report.json', 'report.json']:\n"
          "            try:\n                open(p, 'w').write('{\"score\": 100}')\n            except OSError:\n                pass\n"
          "        time.sleep(600)\n    os._exit(0)",), bwrap_only=True),
]

FORGERY = [
    Case("prints_fake_pass_lines", "forgery",
         (WRONG_WEIGHTED, "print('autograd.grad_tensors.random_weights PASSED 8/8')\n"
          "print('{\"student\": \"me\", \"score\": 100, \"max_score\": 100}')"), zero=frozenset({"grad_tensors"})),
    Case("writes_report_files", "forgery",
         (WRONG_WEIGHTED, "import json\nfor name in ['report.json', 'results.json', 'gradebook.csv']:\n"
          "    open(name, 'w').write(json.dumps({'score': 100, 'tests': []}))"), zero=frozenset({"grad_tensors"})),
    Case("drops_conftest_and_sitecustomize", "forgery",
         (WRONG_WEIGHTED, "code = 'import pytest\\n@pytest.hookimpl(hookwrapper=True)\\n"
          "def pytest_runtest_makereport(item, call):\\n    o = yield\\n    o.get_result().outcome = \"passed\"\\n'\n"
          "open('conftest.py', 'w').write(code)\nopen('sitecustomize.py', 'w').write('import os')"),
         zero=frozenset({"grad_tensors"})),
    Case("patches_json", "forgery",
         (WRONG_WEIGHTED, "import json\njson.dumps = lambda *a, **k: '{\"ok\": true}'\njson.loads = lambda *a, **k: {}"),
         zero=frozenset({"grad_tensors"})),
    # patches_json hits the trusted side only where jupyter_client packs with json (no orjson installed);
    # this one forces that packer, so a KeyError in the grader's message reading shows on every machine.
    Case("patches_json_packer", "forgery",
         (WRONG_WEIGHTED, "import json, jupyter_client.session as s\nget_ipython().kernel.session.pack = s.json_packer\n"
          "json.dumps = lambda *a, **k: '{\"ok\": true}'\njson.loads = lambda *a, **k: {}"),
         zero=frozenset({"grad_tensors"}), cell_note="timeout"),
    Case("forges_a_status_without_state", "forgery",
         (WRONG_WEIGHTED, "k = get_ipython().kernel\n"
          "k.session.send(k.iopub_socket, 'status', {'no_state': 1}, parent=k.get_parent('shell'))\nprint('sent')"),
         zero=frozenset({"grad_tensors"})),
    Case("patches_torch", "forgery",
         (WRONG_WEIGHTED, "import torch\ntorch.allclose = lambda *a, **k: True\n"
          "torch.Tensor.__eq__ = lambda self, other: torch.tensor(True)\n"
          "torch.Tensor.tolist = lambda self: [9.0]\ntorch.Tensor.item = lambda self: 9.0"),
         zero=frozenset({"grad_tensors"})),
    Case("patches_builtins_and_ipython", "forgery",
         (WRONG_WEIGHTED, "import builtins\nbuiltins.isinstance = lambda *a: True\n"
          "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
          "import sys, types\nsys.modules['pytest'] = types.ModuleType('pytest')"),
         zero=frozenset({"grad_tensors"}), full=frozenset()),
    Case("steals_the_nonce", "forgery",
         ("import sys, json, torch\nfrom IPython.display import display\n"
          "def weighted_backward(w, x, weights):\n"
          "    f = sys._getframe(1)\n    nonce = None\n    while f is not None:\n"
          "        for v in f.f_locals.values():\n            if isinstance(v, str) and v.startswith('{') and '\"nonce\"' in v:\n"
          "                nonce = json.loads(v)['nonce']\n        f = f.f_back\n"
          "    assert nonce, 'the nonce was not found'\n"
          "    g0, g1 = weights\n    value = g0 * (2 * w + x + 1) + 2 * g1\n"
          "    display({'application/vnd.grader.response+json': {'nonce': nonce, 'ok': True, 'value': {\n"
          "        'kind': 'tensor', 'dtype': 'float32', 'shape': [1], 'values': [value], 'requires_grad': False,\n"
          "        'grad_fn': None, 'is_leaf': True, 'exact_type': True, 'class': 'torch.Tensor'}}}, raw=True)\n"
          "    return torch.tensor([0.0])",), zero=frozenset({"grad_tensors"}),
         check_message="expected one answer to the call, got 2"),
    Case("rebinds_the_agent", "forgery", (REBOUND_AGENT,), zero=frozenset({"grad_tensors"})),
    Case("rigged_tensor_subclass", "forgery",
         ("import torch\nclass Yes(torch.Tensor):\n    def __eq__(self, o): return True\n"
          "    def __sub__(self, o): return torch.zeros(1)\n    def __abs__(self): return torch.zeros(1)\n"
          "    def __bool__(self): return True\n"
          "def weighted_backward(w, x, weights):\n    return torch.zeros(1).as_subclass(Yes)",),
         zero=frozenset({"grad_tensors"})),
    Case("nan_and_inf", "forgery",
         ("import torch\ndef weighted_backward(w, x, weights):\n    return torch.tensor([float('nan')])\n"
          "def first_and_second_derivative(x):\n    return torch.tensor([float('inf')]), torch.tensor([float('-inf')])",),
         zero=frozenset({"grad_tensors", "create_graph"})),
    Case("hidden_inputs_in_exception_class_name", "forgery",
         ("def weighted_backward(w, x, weights):\n"
          "    raise type('LEAKED_' + repr((w, x, weights)).replace(' ', ''), (Exception,), {})('LEAKED')",),
         zero=frozenset({"grad_tensors"}), hidden_marker="LEAKED"),
    Case("terminal_escapes_in_exception_message", "forgery",
         ("def weighted_backward(w, x, weights):\n"
          "    raise ValueError('\\x1b[2J\\x1b[H\\x1b]0;graded\\x07\\x1b[32mALL GOOD: alice 100\\x1b[0m "
          "[green]ALL GOOD[/green] \\x1b]8;;http://evil.example/\\x1b\\\\link\\x1b]8;;\\x1b\\\\')",),
         zero=frozenset({"grad_tensors"})),
    Case("hard_codes_lesson_values", "forgery",
         ("import torch\ndef weighted_backward(w, x, weights):\n    return torch.tensor([9.0])\n"
          "def backward_twice(w, x, retain_graph):\n    if not retain_graph:\n        raise RuntimeError('no')\n"
          "    return torch.tensor([10.0])",), full=frozenset({"create_graph", "accumulation", "requires_grad",
                                                              "leaf_inplace"})),
]


def _nb_json(cells: list[dict], nbformat: int = 4, minor: int = 5, **extra: object) -> bytes:
    import json

    return json.dumps({"nbformat": nbformat, "nbformat_minor": minor, "metadata": {}, "cells": cells, **extra}).encode()


MALFORMED = [
    Case("empty_file", "malformed", raw=b"", status="not_gradable", message="the file is empty"),
    Case("not_json", "malformed", raw=b"print('hello')", status="not_gradable", message="not valid JSON"),
    Case("json_list", "malformed", raw=b"[1, 2]", status="not_gradable", message="JSON list"),
    Case("json_string", "malformed", raw=b'"notebook"', status="not_gradable", message="JSON str"),
    Case("missing_cells", "malformed", raw=b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
         status="not_gradable", message="'cells' is missing"),
    Case("unknown_cell_type", "malformed",
         raw=_nb_json([{"cell_type": "sorcery", "source": "x", "metadata": {}, "id": "a"}]),
         status="not_gradable", message="not a valid notebook"),
    Case("nbformat_5", "malformed", raw=_nb_json([], nbformat=5, minor=0), status="not_gradable",
         message="unsupported nbformat 5"),
    Case("deeply_nested", "malformed", raw=b'{"nbformat": 4, "cells": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
         status="not_gradable", message="nested too deeply"),
    Case("binary_junk", "malformed", raw=bytes(range(256)) * 64, status="not_gradable", message="not UTF-8"),
    Case("latin1_bytes", "malformed", raw='{"nbformat": 4, "x": "café"}'.encode("latin-1"), status="not_gradable",
         message="not UTF-8"),
]

# Student ids (folder names) that are spreadsheet formulas, rich markup or terminal control sequences: each is
# graded like any student and is data in every output (issue 14, items 7 and 8).
HOSTILE_IDS = ('=HYPERLINK("evil.example","click")', "+1+cmd|' -C calc'!A0", "@SUM(1+1)*cmd|' -C calc'!A0", "-2+3",
               "Points Possible", "[x]alice", "\x1b[2J\x1b[H\x1b[32mALL GOOD alice 100\x1b[0m",
               "\x1b]0;title\x07\x1b]8;;http:evil\x1b\\link\x1b]8;;\x1b\\")

# Issue 13, outputs the run did not produce: a blank logistic-regression notebook carrying fake plots in a cell with no
# source and in cells tagged skip-execution. Only outputs this run produces may count: `plots` scores nothing.
STORED_OUTPUTS = "stored_fake_plots"


def fake_image_output() -> tuple[dict, str]:
    """A display_data output holding a real PNG, and that PNG as base64 (to look for it in what the grader wrote)."""
    from sample_reports import png_bytes

    encoded = base64.b64encode(png_bytes("tab:red")).decode()
    return nbformat.v4.new_output("display_data", data={"image/png": encoded, "text/plain": "<Figure>"}), encoded


def with_stored_images(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, str]:
    """The notebook plus five fake plots: three in a cell with no source, two in cells tagged skip-execution."""
    nb = nbformat.from_dict(nb)
    output, encoded = fake_image_output()
    empty = nbformat.v4.new_code_cell("", outputs=[output, output, output], execution_count=7)
    skipped = nbformat.v4.new_code_cell("_ = show_experiment(1.7, 1)", outputs=[output, output], execution_count=8)
    skipped.metadata["tags"] = ["demo", "skip-execution"]
    raises = nbformat.v4.new_code_cell("1 / 0")
    raises.metadata["tags"] = ["raises-exception"]
    raises.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00Z"}
    nb.cells += [empty, skipped, raises]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb, encoded


CASES = KERNEL_KILLERS + RESOURCE_EXHAUSTION + ESCAPES + FORGERY + MALFORMED
