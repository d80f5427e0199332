"""Public checks speak both languages and say what was expected and what was received (issue 13).

Static: every `Feedback(...)` and `note(...)` in a public check file is a catalogue `msg(...)` or a pair of
literal templates (`zh=` in Chinese, the same placeholders); no `assert` with a message; no English prose passed
as `what=` / `lesson_form=`. Behavioural (no kernel): known-wrong answers from a fake student, rendered in both
languages, quote the expected and the received value. tests/test_check_messages_run.py runs the real notebooks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from grader.checks import Feedback, received, take_notes
from grader.codec import ModuleValue, StudentException, TensorValue
from grader.messages import CATALOGUE, Message, placeholders, render

from test_checks_fairness import _autograd_student, _lr_student, _module, runtime_error, stub, tensor

CHECKS = Path(__file__).resolve().parents[1] / "rubrics" / "checks"
PUBLIC = sorted(CHECKS.glob("*/public/*.py"))
CJK = re.compile(r"[\u4e00-\u9fff]")  # Chinese text in a rendered message
ZH_TEMPLATE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # a template may be only "{a}：{b}"
PROSE = re.compile(r"\b[a-z]{2,} [a-z]{2,}\b")  # two English words in a row: a sentence, not a call or a value

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")


@pytest.fixture(autouse=True)
def _no_stale_notes():
    take_notes()
    yield
    take_notes()


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _text(node: ast.AST | None) -> str | None:
    """The literal string `node` is (implicit concatenation included), or None for anything computed."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _problems(path: Path, root: Path = CHECKS) -> list[str]:
    """Why the check file at `path` may show a student English only (or an f-string), one line per call."""
    problems = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Assert) and node.msg is not None:
            problems.append(f"{where}: assert with a message (English only); raise Feedback(..., zh=...)")
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if name in ("Feedback", "note"):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Call) and _name(first) == "msg":
                code = _text(first.args[0]) if first.args else None
                if code not in CATALOGUE or "zh" not in CATALOGUE[code]:
                    problems.append(f"{where}: msg({code!r}) is not a catalogue message with Chinese")
                continue
            zh = next((kw.value for kw in node.keywords if kw.arg == "zh"), None)
            en_text, zh_text = _text(first), _text(zh)
            if en_text is None or zh_text is None:
                problems.append(f"{where}: {name}(...) needs a literal English template and a literal zh= template "
                                "(values as placeholders, never an f-string), or msg(...)")
            elif not ZH_TEMPLATE.search(zh_text):
                problems.append(f"{where}: the zh= text of {name}(...) is not Chinese")
            elif placeholders(en_text) != placeholders(zh_text):
                problems.append(f"{where}: {name}(...) names different placeholders in English and Chinese")
        if name == "authored":
            en_text, zh_text = (_text(a) for a in (node.args + [None, None])[:2])
            if en_text is None or zh_text is None or not ZH_TEMPLATE.search(zh_text):
                problems.append(f"{where}: authored(en, zh) needs two literal templates, the second in Chinese")
        for kw in node.keywords:
            if kw.arg in ("what", "lesson_form") and _text(kw.value) is not None and PROSE.search(_text(kw.value)):
                problems.append(f"{where}: {kw.arg}= is English prose; pass authored(en, zh)")
    return problems


def test_the_public_check_files_are_found():
    assert {p.parts[-3] for p in PUBLIC} == {"autograd", "logistic_regression", "tensors"}


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.parts[-3])
def test_every_public_message_and_note_is_bilingual(path):
    assert _problems(path) == []


def test_the_static_rule_catches_english_only_messages(tmp_path):
    bad = tmp_path / "x" / "public" / "test_x.py"
    bad.parent.mkdir(parents=True)
    bad.write_text('''
def test_a(student):
    note("accepted a float")
    raise Feedback(f"expected 1, got {got}")
def test_b(student):
    raise Feedback("expected {w}, got {g}", zh="expected {w}, got {g}", w=1, g=2)
def test_c(student):
    raise Feedback("expected {w}", zh="应为 {w}，实际是 {g}", w=1, g=2)
def test_d(student):
    expect_values(v, 1.0, what="the gradient of w", lesson_form="tensor([1.])")
    assert v == 1, "should be one"
    raise Feedback(problem)
def test_e(student):
    raise Feedback(msg("expect.value", what="x", want="1", got="2"))
''', encoding="utf-8")
    found = _problems(bad, tmp_path)
    assert len(found) == 7, found
    assert not any(":15:" in p for p in found)  # a catalogue message is fine


# ----------------------------------------------------------------------------- what a student reads
def _both(message: str) -> tuple[str, str]:
    assert isinstance(message, Message), f"not a bilingual message: {message!r}"
    return render(message, "en"), render(message, "zh")


def _failure(check, student) -> tuple[str, str]:
    with pytest.raises(Feedback) as info:
        check(student)
    return _both(info.value.message)


def _says(text: str, *parts: str) -> None:
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


@pytest.fixture(scope="module")
def autograd():
    return _module("autograd/public/test_autograd_public.py")


@pytest.fixture(scope="module")
def tensors():
    return _module("tensors/public/test_tensors_public.py")


@pytest.fixture(scope="module")
def lr():
    return _module("logistic_regression/public/test_logistic_regression_public.py")


AUTOGRAD_CASES = [
    # (check, overrides, expected, received): both in the English and in the Chinese text
    ("test_leaf_inplace_lesson_value", dict(inplace_on_leaf_no_grad=tensor([2.0], requires_grad=False, is_leaf=True)),
     "requires_grad=True", "requires_grad=False"),
    ("test_leaf_inplace_lesson_value", dict(inplace_on_leaf=tensor([2.0])), "RuntimeError", "float32"),
    ("test_leaf_inplace_lesson_value", dict(inplace_on_leaf_no_grad=runtime_error("boom\x1b[2J" + "x" * 500)),
     "RuntimeError", "boomxxx"),
    ("test_create_graph_lesson_value", dict(first_and_second_derivative=((tensor([6.0]),), (tensor([2.0]),))),
     "grad_1[0]", "1"),
    ("test_create_graph_lesson_value", dict(first_and_second_derivative=(6.0, 2.0)), "tensor([6.]", "float"),
    ("test_create_graph_lesson_value", dict(first_and_second_derivative=(tensor([6.0]), tensor([2.0]))),
     "grad_fn=<MulBackward0>", "grad_fn=None"),
    ("test_create_graph_lesson_value", dict(first_and_second_derivative=tensor([6.0])), "(dy/dx, d2y/dx2)", "float32"),
    ("test_requires_grad_lesson_value", dict(requires_grad_flags={"a": True, "b": False, "y": True}),
     "'b': True", "'b': False"),
    ("test_requires_grad_lesson_value", dict(requires_grad_flags={"a": True, "grad": True}), '"y"', "'grad'"),
    ("test_requires_grad_lesson_value", dict(requires_grad_flags={"a": 1.0, "b": True, "y": True}), "bool", "float"),
    ("test_retain_graph_lesson_value", dict(backward_twice=lambda w, x, r: tensor([10.0] if r else [5.0])),
     "RuntimeError", "float32"),
    ("test_accumulation_lesson_value", dict(accumulated_grads=lambda w, x, n, z: [20.0] * 4), "[5.0, 10.0, 15.0, 20.0]",
     "[20.0, 20.0, 20.0, 20.0]"),
    ("test_grad_tensors_lesson_value", dict(weighted_backward=tensor([8.0])), "9", "8"),
]


@pytest.mark.parametrize("test, overrides, want, got", AUTOGRAD_CASES)
def test_autograd_failures_quote_expected_and_received_in_both_languages(autograd, test, overrides, want, got):
    en, zh = _failure(getattr(autograd, test), _autograd_student(**overrides))
    assert CJK.search(zh) and not CJK.search(en.replace("grad_1是元组", "")), (en, zh)
    _says(en, want, got)
    _says(zh, want, got)
    assert "\x1b" not in en + zh and len(en) < 600


def test_a_stub_leaves_the_catalogues_bilingual_message(autograd):
    en, zh = _failure(autograd.test_leaf_inplace_lesson_value, _autograd_student(inplace_on_leaf=stub("inplace_on_leaf")))
    _says(en, "should raise RuntimeError", "NotImplementedError")
    _says(zh, "应抛出 RuntimeError", "NotImplementedError", "叶子节点")


class _Tensors:
    def __init__(self, answer):
        self.answer = answer

    def call(self, name, *args, **kwargs):
        value = self.answer(name, args)
        if isinstance(value, Exception):
            raise value
        return value


def _cloud(values) -> TensorValue:
    return TensorValue("float32", (100, 2), values.tolist())


def test_tensors_failures_quote_expected_and_received_in_both_languages(tensors):
    import torch

    cases = [
        (lambda n, a: TensorValue("float32", (2, 3), [[1.0, 11.0, 21.0], [2.0, 12.0, 22.0]]), "[3, 2]", "[2, 3]"),
        (lambda n, a: StudentException("RuntimeError", "builtins", ("builtins.RuntimeError",), "size mismatch"),
         "[3, 2]", "RuntimeError"),
        (lambda n, a: [[1.0, 2.0]], "[3, 2]", "list"),
        (lambda n, a: TensorValue("float32", (3, 2), [[1.0, 2.0], [11.0, 12.0], [21.0, 99.0]]), "22", "99"),
    ]
    for answer, want, got in cases:
        en, zh = _failure(tensors.test_broadcast_add_lesson_value, _Tensors(answer))
        _says(en, want, got)
        _says(zh, want, got)
        assert CJK.search(zh)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        other = 1.7 + torch.randn(100, 2)
    lesson = tensors._lesson_cloud()
    en, zh = _failure(tensors.test_normal_cloud_lesson_data, _Tensors(lambda n, a: _cloud(other)))
    for text in (en, zh):
        _says(text, tensors._point(lesson[0]), tensors._point(other[0]))


def test_lr_model_failures_quote_expected_and_received(lr):
    weight, _ = lr._lesson_parameters()
    state = {"features.weight": TensorValue("float32", (1, 2), [[0.5, 0.5]]),
             "features.bias": TensorValue("float32", (1,), [0.0])}

    def student(module):
        return _Tensors(lambda name, args: module)
    en, zh = _failure(lr.test_model_lesson_model, student(ModuleValue("LR", {}, state)))
    for text in (en, zh):
        _says(text, lr._point(weight[0]), "[0.5000, 0.5000]")
    en, zh = _failure(lr.test_model_lesson_model, student(ModuleValue("LR", {}, {**state, "extra.weight": state["features.bias"]})))
    for text in (en, zh):
        _says(text, "nn.Linear(2, 1)", "extra.weight [1]")
    en, zh = _failure(lr.test_model_lesson_model, student(ModuleValue("LR", {}, {"linear.weight": state["features.weight"]})))
    for text in (en, zh):
        _says(text, "features.weight [1, 2]", "linear.weight [1, 2]")
    assert CJK.search(zh)


def test_lr_train_failures_quote_expected_and_received(lr, monkeypatch):
    run = {"iterations": 2, "accuracy": 0.995, "losses": [0.7, 0.6, 0.5], "state": {}}
    monkeypatch.setattr(lr, "_lesson_run", lambda: run)
    monkeypatch.setattr(lr, "_lesson_data", lambda *a: ("x", "y"))
    monkeypatch.setattr(lr, "_simulate", lambda *a, **k: {"losses": [9.0] * 5})

    def student(result):
        return _lr_student(None, None, lambda *a: result)
    cases = [
        (dict(run, losses=[0.8, 0.6, 0.5]), "0.700000", "0.800000"),
        (dict(run, losses=[0.7, 0.65, 0.5]), "0.600000", "0.650000"),
        (dict(run, iterations=3, losses=[0.7, 0.6, 0.5, 0.4]), "3", "2"),
        (dict(run, accuracy=0.5), "0.995", "0.5"),
        (dict(run, losses=[0.7, 0.6, 0.5, 0.4]), "3", "4"),
        ({"model": 1, "iterations": 2, "accuracy": 0.9, "loss": []}, '"losses"', "'loss'"),
        (dict(run, accuracy=1), "float", "int"),
    ]
    for result, want, got in cases:
        en, zh = _failure(lr.test_train_lesson_run, student(dict(result, model=ModuleValue("LR", {}, {}))
                                                            if "model" not in result else result))
        _says(en, want, got)
        _says(zh, want, got)
        assert CJK.search(zh), zh
    en, zh = _failure(lr.test_convergence_lesson_data, student(dict(run, accuracy=0.5, iterations=999)))
    for text in (en, zh):
        _says(text, "0.99", "0.500", "999")


def test_lr_experiment_messages_and_notes_are_bilingual(lr, monkeypatch):
    monkeypatch.setattr(lr, "_model_is_right", lambda student: True)
    error = StudentException("ValueError", "builtins", ("builtins.ValueError",), "no")
    en, zh = _failure(lr.test_experiments_lesson_configs, _lr_student(lambda m, b: error, lambda **kw: error,
                                                                      lambda *a: {}))
    _says(zh, "experiment(1.7, 1)", "ValueError", "make_data(mean_value=1.7, bias=1) 抛出了 ValueError")
    monkeypatch.setattr(lr, "_model_is_right", lambda student: False)
    broken = runtime_error("all elements of input should be between 0 and 1")
    lr.test_experiments_lesson_configs(_lr_student(lambda m, b: broken, lambda **kw: ("x", "y"), lambda *a: broken))
    en, zh = _both(take_notes())
    _says(en, "experiment(1.7, 1) not judged", "experiment(1.7, -1) not judged")
    _says(zh, "experiment(1.7, 1) 未评判", "experiment(1.7, -1) 未评判")


def test_plots_message_counts_what_it_saw(lr):
    class Notebook:
        cells = [{"cell_type": "code", "outputs": [{"data": {"image/png": "x"}}]}]

    class Student:
        notebook = Notebook()
    en, zh = _failure(lr.test_plots_five_plots, Student())
    for text in (en, zh):
        _says(text, "1", "5")
    assert "张图" in zh


def test_received_text_is_one_line_and_bounded():
    assert received("a\nb\x1b[31mc") == "a bc"
    assert len(received("x" * 500)) == 80 and received("x" * 500).endswith("...")
