"""`grader.check(...)` in Jupyter: the live session speaks the agent's wire format; a real kernel shows the result."""

from __future__ import annotations

import queue

import nbformat
import pytest
import torch

from grader import codec
from grader.codec import Handle, MissingDefinition, ModuleValue, StudentException, TensorValue
from grader.errors import UsageError
from grader.live import live_session, run_live_check
from grader.reference import SKIP_TAGS

from sample_reports import executed_notebook

STUDENT_CODE = """
import torch
class Lin(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Linear(2, 1)
    def forward(self, x):
        return torch.sigmoid(self.features(x))
def pair(x):
    return torch.tensor([x, 2 * x]), {"n": 3, "inf": float("inf")}
def boom():
    raise ValueError("student bug")
constant = (1, 2.5, "three", None)
"""


def code_cells(path) -> str:
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and not SKIP_TAGS & set(c.metadata.get("tags", []))]
    return "\n\n".join(c.source for c in cells)


def test_live_session_returns_the_plain_data_of_the_wire_and_leaves_the_namespace_alone(tmp_path):
    namespace: dict = {}
    exec(STUDENT_CODE, namespace)
    before = set(namespace)
    session = live_session(namespace, nbformat.read(executed_notebook(tmp_path / "nb.ipynb"), as_version=4))
    tensor, extra = session.call("pair", 1.5)
    assert tensor == TensorValue("float32", (2,), [1.5, 3.0])
    assert extra == {"n": 3, "inf": float("inf")}
    module = session.call("Lin", _seed=0)
    assert isinstance(module, ModuleValue) and set(module.state) == {"features.weight", "features.bias"}
    handle = session.call("Lin", _seed=0, _keep=True)
    assert isinstance(handle, Handle)
    out = session.call_method(handle, "forward", torch.tensor([[1.0, 2.0]]))
    assert isinstance(out, TensorValue) and out.shape == (1, 1) and out.grad_fn == "SigmoidBackward0"
    assert session.variable("constant") == (1, 2.5, "three", None)
    assert session.defines("pair") and not session.defines("nothing")
    with pytest.raises(StudentException) as info:
        session.call("boom")
    assert info.value.is_a("ValueError") and info.value.message == "student bug"
    with pytest.raises(MissingDefinition):
        session.call("nothing")
    assert session.image_outputs() == 4 and session.answer("hw1") is None  # as StudentSession counts them
    assert set(namespace) == before  # the agent lives in its own namespace


def test_live_results_decode_like_a_kernels(monkeypatch):
    """Every answer goes through codec.decode_response with the request's nonce."""
    seen = []
    original = codec.decode_response
    def spy(payload, **kwargs):
        seen.append((payload, kwargs))
        return original(payload, **kwargs)

    monkeypatch.setattr(codec, "decode_response", spy)
    namespace: dict = {}
    exec(STUDENT_CODE, namespace)
    live_session(namespace).call("pair", 2.0)
    (payload, kwargs), = seen
    assert isinstance(payload, str) and kwargs["expected_nonce"] in payload


def test_run_live_check_grades_one_question_and_keeps_the_students_random_state(course, project):
    namespace: dict = {}
    exec(code_cells(project / "reference" / "01_autograd.ipynb"), namespace)
    torch.manual_seed(7)
    state = torch.random.get_rng_state()
    result = run_live_check("grad_tensors", course=course, namespace=namespace)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert [q.id for q in result.questions] == ["grad_tensors"] and result.passed
    assert result.questions[0].hidden == 1
    exec("def weighted_backward(w, x, weights):\n    return torch.tensor([7.0])", namespace)
    result = run_live_check("autograd.grad_tensors", course=course, namespace=namespace)
    (line,) = result.questions[0].checks
    assert line.status == "failed" and "unweighted sum" in line.message and not result.passed
    everything = run_live_check(course=course, namespace=namespace, exercise="autograd")
    assert len(everything.questions) == 6 and len(everything.automatic) == 6


def test_run_live_check_says_what_it_cannot_resolve(course):
    with pytest.raises(UsageError, match="no question 'nope'"):
        run_live_check("autograd.nope", course=course, namespace={})
    with pytest.raises(UsageError, match="cannot tell which exercise"):
        run_live_check(course=course, namespace={})


def test_no_course_folder_is_advice_for_a_notebook_not_for_the_cli(tmp_path, monkeypatch):
    from grader.live import COURSE_ENV, live_course

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(COURSE_ENV, raising=False)
    for attempt in (lambda: live_course(), lambda: live_course(tmp_path)):
        with pytest.raises(UsageError) as caught:
            attempt()
        message = str(caught.value)
        assert "--course" not in message
        assert "course='path/to/course'" in message and COURSE_ENV in message
    monkeypatch.setenv(COURSE_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(UsageError, match=f"not a course folder.*{COURSE_ENV}"):
        live_course()


@pytest.mark.slow
def test_check_in_a_real_jupyter_kernel_shows_html_with_a_text_fallback(project):
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(project))

    def run(code: str) -> list[dict]:
        msg_id = kc.execute(code)
        outputs = []
        while True:
            try:
                msg = kc.get_iopub_msg(timeout=120)
            except queue.Empty:
                raise AssertionError(f"no answer to {code!r}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] in ("display_data", "execute_result", "stream", "error"):
                outputs.append({"type": msg["msg_type"], **msg["content"]})
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return outputs

    try:
        assert not [o for o in run(code_cells(project / "reference" / "01_autograd.ipynb")) if o["type"] == "error"]
        (shown,) = run('from grader import check\ncheck("grad_tensors")')
        assert shown["type"] == "display_data"
        html, text = shown["data"]["text/html"], shown["data"]["text/plain"]
        assert "1/1 public checks pass" in html and "Every public check passes." in html
        assert "[passed] lesson_value" in text and "hidden checks also run on" in text
        run("import torch\ndef weighted_backward(w, x, weights):\n    return torch.tensor([7.0])")
        (shown,) = run('check("grad_tensors", lang="zh")')
        text = shown["data"]["text/plain"]
        assert "[未通过] lesson_value" in text and "提示: 权重为 (1, 2) 时" in text
        assert "color:#c62828" in shown["data"]["text/html"]
        (shown,) = run('check("no_such_question")')
        assert shown["type"] == "display_data" and "cannot tell which exercise" in shown["data"]["text/plain"]
        (names,) = run("print(sorted(k for k in globals() if 'grader_' in k))")
        assert names["text"].strip() == "[]"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
