"""The checks neither cheat students nor can be cheated, tested without a kernel: a fake student answers the calls.

A TODO stub (NotImplementedError, a RuntimeError subclass) is never the expected error; both raising is never
agreement; values count, not containers, and an unusual form passes with a note; public messages say what was
expected and what was received.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from grader import checks
from grader.checks import Feedback, expect_raises, expect_values, raised, take_notes, values_of
from grader.codec import ModuleValue, ObjectValue, StudentException, TensorValue

CHECKS = Path(__file__).resolve().parents[1] / "rubrics" / "checks"
NOT_IMPLEMENTED = ("builtins.NotImplementedError", "builtins.RuntimeError", "builtins.Exception",
                   "builtins.BaseException", "builtins.object")
RUNTIME = NOT_IMPLEMENTED[1:]

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # @check marks, no plugin here


def _module(relative: str):
    spec = importlib.util.spec_from_file_location(relative.replace("/", "_")[:-3], CHECKS / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tensor(values, *, shape=None, dtype="float32", **fields) -> TensorValue:
    flat = values if isinstance(values, list) else [values]
    return TensorValue(dtype, tuple(shape if shape is not None else [len(flat)]), values, **fields)


def stub(name: str) -> StudentException:
    return StudentException("NotImplementedError", "builtins", NOT_IMPLEMENTED, f"TODO: implement {name}")


def runtime_error(message="a leaf Variable that requires grad is being used in an in-place operation."):
    return StudentException("RuntimeError", "builtins", RUNTIME, message)


class FakeStudent:
    """Answers `call` from a function of (name, args, kwargs): a value, or a StudentException to raise."""

    def __init__(self, answer):
        self.answer = answer

    def call(self, name, *args, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}
        value = self.answer(name, args, kwargs)
        if isinstance(value, Exception):
            raise value
        return value

    call_shared = call

    def call_method(self, handle, method, *args, **kwargs):
        return self.call(f"{handle}.{method}", *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_stale_notes():
    take_notes()
    yield
    take_notes()


@pytest.fixture(scope="module")
def autograd_public():
    return _module("autograd/public/test_autograd_public.py")


@pytest.fixture(scope="module")
def autograd_hidden():
    return _module("autograd/hidden/test_autograd_hidden.py")


@pytest.fixture(scope="module")
def lr_public():
    return _module("logistic_regression/public/test_logistic_regression_public.py")


@pytest.fixture(scope="module")
def lr_hidden():
    return _module("logistic_regression/hidden/test_logistic_regression_hidden.py")


# ----------------------------------------------------------------------------- the helpers
def test_a_not_implemented_error_is_never_the_expected_runtime_error():
    assert raised(runtime_error(), "RuntimeError")
    assert not raised(stub("inplace_on_leaf"), "RuntimeError")
    impostor = StudentException("RuntimeError", "__main__", ("__main__.RuntimeError", "builtins.Exception"), "no")
    assert not raised(impostor, "RuntimeError")
    with pytest.raises(Feedback, match="NotImplementedError: the TODO stub is still there"):
        expect_raises(lambda: (_ for _ in ()).throw(stub("inplace_on_leaf")), "RuntimeError", what="f(1.)")


def test_expect_raises_says_what_it_got():
    with pytest.raises(Feedback, match=r"f\(1.\) should raise RuntimeError, but it returned a float"):
        expect_raises(lambda: 1.0, "RuntimeError", what="f(1.)")


@pytest.mark.parametrize("value, form", [
    (9.0, "a float"), (9, "a int"), (tensor(9.0, shape=[]), "shape []"), ([9.0], "a list of 1 item"),
    ((tensor([9.0]),), "a tuple of 1 item"), (tensor([9.0], dtype="float64"), "dtype float64"),
    (tensor([9.0], class_name="numpy.ndarray", exact_type=False), "a numpy array"),
])
def test_equal_values_in_other_containers_pass_with_a_note(value, form):
    assert expect_values(value, 9.0, what="w.grad", lesson_form="tensor([9.])") == [9.0]
    note = take_notes()
    assert "accepted" in note and form in note and "tensor([9.])" in note


def test_the_lessons_form_passes_without_a_note():
    expect_values(tensor([9.0]), 9.0, what="w.grad", lesson_form="tensor([9.])")
    expect_values([tensor([5.0]), tensor([10.0])], [5.0, 10.0], what="grads", lesson_form="a list of tensors")
    assert take_notes() == ""


@pytest.mark.parametrize("value", [True, "9", None, ObjectValue("Nine", "9"),
                                   tensor([9.0], exact_type=False, class_name="Rigged"), tensor([True], dtype="bool"),
                                   tensor([[9]], shape=[1, 1], dtype="int64")])
def test_forms_that_are_not_values_fail_and_say_what_was_received(value):
    with pytest.raises(Feedback, match=r"should be 9 .*but it is"):
        expect_values(value, 9.0, what="w.grad", lesson_form="tensor([9.])")


def test_a_wrong_value_fails_with_expected_and_received():
    with pytest.raises(Feedback, match=r"should be \[5, 10\], but it is \[5, 5\]"):
        expect_values([5.0, 5.0], [5.0, 10.0], what="grads", lesson_form="a list of tensors")
    with pytest.raises(Feedback, match="should hold 2 value"):
        expect_values([5.0], [5.0, 10.0], what="grads", lesson_form="a list of tensors")
    with pytest.raises(Feedback, match="NaN"):
        expect_values(float("nan"), 1.0, what="x", lesson_form="tensor([1.])")


def test_values_of_reads_numbers_only():
    assert values_of([1, 2.5, tensor([[3.0], [4.0]], shape=[2, 1])]) == [1.0, 2.5, 3.0, 4.0]
    assert values_of([1.0, ObjectValue("X", "x")]) is None
    assert values_of(ModuleValue("LR", {}, {})) is None


# ----------------------------------------------------------------------------- autograd, public
def _autograd_student(**overrides):
    """The reference's answers for the lesson's inputs, with `overrides` by function name."""
    def answer(name, args, kwargs):
        if name in overrides:
            found = overrides[name]
            return found(*args) if callable(found) else found
        if name == "inplace_on_leaf":
            return runtime_error()
        if name == "inplace_on_leaf_no_grad":
            return tensor([2.0], requires_grad=True)
        raise AssertionError(f"unexpected call {name}{args}")
    return FakeStudent(answer)


def test_the_inplace_stub_earns_nothing(autograd_public, autograd_hidden):
    student = _autograd_student(inplace_on_leaf=stub("inplace_on_leaf"))
    with pytest.raises(Feedback, match="NotImplementedError"):
        autograd_public.test_leaf_inplace_lesson_value(student)
    import random
    with pytest.raises(Feedback, match="NotImplementedError"):
        autograd_hidden.test_leaf_inplace_random_inputs(student, random.Random(1))


def test_a_stub_never_counts_as_the_second_backwards_error(autograd_public):
    def backward_twice(w, x, retain):
        return tensor([10.0]) if retain else stub("backward_twice")
    with pytest.raises(Feedback, match="NotImplementedError"):
        autograd_public.test_retain_graph_lesson_value(_autograd_student(backward_twice=backward_twice))


def test_python_floats_earn_the_accumulation_points_with_a_note(autograd_public, autograd_hidden):
    import random

    def grads(w, x, steps, zero):
        d = 2 * w + x + 1
        return [d if zero else d * k for k in range(1, steps + 1)]
    student = _autograd_student(accumulated_grads=grads)
    autograd_public.test_accumulation_lesson_value(student)
    assert "accepted a list of 4 item(s) (floats)" in take_notes()
    autograd_hidden.test_accumulation_random_inputs(student, random.Random(2))
    assert "accepted" in take_notes()


def test_a_0d_tensor_earns_the_grad_tensors_points(autograd_public, autograd_hidden):
    import random

    def weighted(w, x, weights):
        return tensor(weights[0] * (2 * w + x + 1) + 2 * weights[1], shape=[])
    student = _autograd_student(weighted_backward=weighted)
    autograd_public.test_grad_tensors_lesson_value(student)
    assert "shape []" in take_notes()
    autograd_hidden.test_grad_tensors_random_weights(student, random.Random(3))


def test_create_graph_accepts_a_float_second_but_requires_a_graph_tensor_first(autograd_public):
    good = _autograd_student(first_and_second_derivative=(tensor([6.0], requires_grad=True, grad_fn="MulBackward0",
                                                                 is_leaf=False), 2.0))
    autograd_public.test_create_graph_lesson_value(good)
    assert "d2y/dx2" in take_notes()
    numbers = _autograd_student(first_and_second_derivative=(6.0, 2.0))
    with pytest.raises(Feedback, match="the type is the point.*but it is a float"):
        autograd_public.test_create_graph_lesson_value(numbers)


def test_public_messages_say_what_was_expected_and_received(autograd_public):
    cases = [
        ("test_grad_tensors_lesson_value", dict(weighted_backward=tensor([8.0])), r"should be 9, but it is 8"),
        ("test_requires_grad_lesson_value", dict(requires_grad_flags={"a": True, "b": False, "y": True}),
         r"expected \{.*\}, got \{.*'b': False"),
        ("test_create_graph_lesson_value", dict(first_and_second_derivative=tensor([6.0])),
         r"should return a pair .*but it returned tensor"),
        ("test_leaf_inplace_lesson_value", dict(inplace_on_leaf=tensor([2.0])),
         r"should raise RuntimeError, but it returned tensor"),
    ]
    for test, overrides, pattern in cases:
        with pytest.raises(Feedback, match=pattern):
            getattr(autograd_public, test)(_autograd_student(**overrides))


# ----------------------------------------------------------------------------- logistic regression, experiments
def _lr_student(experiment, make_data, train, model_right=True):
    def answer(name, args, kwargs):
        if name == "experiment":
            return experiment(*args)
        if name == "make_data":
            return make_data(**kwargs)
        if name == "train":
            return train(*args)
        if name == "LR":
            return "h1" if model_right else runtime_error("no LR")
        raise AssertionError(name)
    return FakeStudent(answer)


def test_both_raising_is_never_agreement(lr_public, monkeypatch):
    monkeypatch.setattr(lr_public, "_model_is_right", lambda student: True)
    student = _lr_student(lambda m, b: StudentException("ValueError", "builtins", ("builtins.ValueError",), "no"),
                          lambda **kw: StudentException("ValueError", "builtins", ("builtins.ValueError",), "no"),
                          lambda *a: {"iterations": 1})
    with pytest.raises(Feedback) as info:
        lr_public.test_experiments_lesson_configs(student)
    assert "raised ValueError" in info.value.message
    assert "make_data(mean_value=1.7, bias=1) raised ValueError" in info.value.message
    assert "never counts" in info.value.message


def test_a_result_matching_neither_composition_names_both(lr_public, monkeypatch):
    monkeypatch.setattr(lr_public, "_lesson_experiment",
                        lambda m, b: {"iterations": 425, "accuracy": 0.995, "losses": [0.5], "state": {}})
    result = {"model": ModuleValue("LR", {}, {}), "iterations": 3, "accuracy": 0.5, "losses": [0.1] * 4}
    other = dict(result, iterations=4)
    student = _lr_student(lambda m, b: result, lambda **kw: ("x", "y"), lambda *a: other)
    with pytest.raises(Feedback) as info:
        lr_public.test_experiments_lesson_configs(student)
    message = info.value.message
    assert "your own train(*make_data(mean_value=1.7, bias=1))" in message and "iterations=4" in message
    assert "the lesson's script" in message and "iterations=425" in message and "iterations=3" in message


def test_an_experiment_matching_the_lesson_passes_without_training_twice(lr_public, monkeypatch):
    """The lesson's result decides: the student's own make_data + train are not called (issue 15: no training
    that decides nothing), even where they would raise."""
    run = {"iterations": 2, "accuracy": 0.995, "losses": [0.7, 0.6, 0.5], "state": {}}
    monkeypatch.setattr(lr_public, "_lesson_experiment", lambda m, b: run)
    result = {"model": ModuleValue("LR", {}, {}), "iterations": 2, "accuracy": 0.995, "losses": [0.7, 0.6, 0.5]}
    called = []

    def make_data(**kw):
        called.append("make_data")
        return StudentException("ValueError", "builtins", ("builtins.ValueError",), "no")

    student = _lr_student(lambda m, b: result, make_data, lambda *a: called.append("train") or result)
    lr_public.test_experiments_lesson_configs(student)
    assert called == [] and take_notes() == ""


def test_an_experiment_consistent_with_the_students_own_functions_passes(lr_public, monkeypatch):
    """A make_data that draws differently (a right variant) still agrees with its own train."""
    monkeypatch.setattr(lr_public, "_lesson_experiment",
                        lambda m, b: {"iterations": 425, "accuracy": 0.995, "losses": [0.5], "state": {}})
    result = {"model": ModuleValue("LR", {}, {}), "iterations": 3, "accuracy": 0.5, "losses": [0.1] * 4}
    student = _lr_student(lambda m, b: result, lambda **kw: ("x", "y"), lambda *a: dict(result))
    lr_public.test_experiments_lesson_configs(student)


def test_a_wrong_model_that_breaks_train_is_marked_once(lr_public, monkeypatch):
    monkeypatch.setattr(lr_public, "_model_is_right", lambda student: False)
    error = StudentException("RuntimeError", "builtins", RUNTIME, "all elements of input should be between 0 and 1")
    student = _lr_student(lambda m, b: error, lambda **kw: ("x", "y"), lambda *a: error)
    lr_public.test_experiments_lesson_configs(student)
    assert "not judged" in take_notes()


class _Rng:
    """The hidden experiments check's draws: the first of OTHER_PAIRS, then mean 2.0 and bias -1.0."""

    def choice(self, seq):
        return seq[0]

    def uniform(self, low, high):
        return 2.0 if low >= 0 else -1.0


def test_hidden_an_experiment_matching_the_reference_passes_without_training_twice(lr_hidden, monkeypatch):
    """The reference's run decides first: the student's own make_data + train are not called (issue 15)."""
    ran = []

    def reference_run(reference, mean_value, bias):
        ran.append((mean_value, bias))
        return {"iterations": 2, "accuracy": 0.995, "losses": [0.7, 0.6, 0.5], "state": {}}

    monkeypatch.setattr(lr_hidden, "_reference_experiment", reference_run)
    result = {"model": ModuleValue("LR", {}, {}), "iterations": 2, "accuracy": 0.995, "losses": [0.7, 0.6, 0.5]}
    called = []
    student = _lr_student(lambda m, b: result, lambda **kw: called.append("make_data") or ("x", "y"),
                          lambda *a: called.append("train") or result)
    lr_hidden.test_experiments_other_pairs(student, None, _Rng(), 0)
    assert called == [] and ran == [lr_hidden.OTHER_PAIRS[0], (2.0, -1.0)]


def test_hidden_an_experiment_differing_from_the_reference_is_judged_by_the_students_own_functions(
        lr_hidden, monkeypatch):
    monkeypatch.setattr(lr_hidden, "_reference_experiment", lambda reference, m, b: {
        "iterations": 425, "accuracy": 0.995, "losses": [0.5], "state": {}})
    result = {"model": ModuleValue("LR", {}, {}), "iterations": 3, "accuracy": 0.5, "losses": [0.1] * 4}
    consistent = _lr_student(lambda m, b: result, lambda **kw: ("x", "y"), lambda *a: dict(result))
    lr_hidden.test_experiments_other_pairs(consistent, None, _Rng(), 0)
    inconsistent = _lr_student(lambda m, b: result, lambda **kw: ("x", "y"), lambda *a: dict(result, iterations=4))
    with pytest.raises(Feedback, match="returns neither what your own"):
        lr_hidden.test_experiments_other_pairs(inconsistent, None, _Rng(), 0)


def test_hidden_reference_runs_are_computed_once_per_pair(lr_hidden):
    class Reference:
        calls = 0

        @staticmethod
        def make_data(mean_value, bias):
            return mean_value, bias

        @classmethod
        def train(cls, x, y):
            cls.calls += 1
            return {"iterations": 1, "accuracy": 1.0, "losses": [0.5, 0.4],
                    "model": lr_hidden.torch.nn.Linear(2, 1)}

    first = lr_hidden._reference_experiment(Reference, 3, 0)
    assert lr_hidden._reference_experiment(Reference, 3, 0) is first and Reference.calls == 1
    lr_hidden._reference_experiment(Reference, 2.5, 3)
    assert Reference.calls == 2 and set(first["state"]) == {"weight", "bias"}


def test_notes_are_module_state_cleared_by_take_notes():
    checks.note("a")
    checks.note("b")
    assert take_notes() == "a b" and take_notes() == ""


def test_a_diagnostic_shows_the_received_form(autograd_public):
    with pytest.raises(Feedback, match=r"should return tensor\(\[9.\]\) but returned tensor\(\[7.\]\)"):
        autograd_public.test_grad_tensors_lesson_value(_autograd_student(weighted_backward=tensor([7.0])))
    with pytest.raises(Feedback, match=r"but returned a float 12 = 2\*5"):
        autograd_public.test_grad_tensors_lesson_value(_autograd_student(weighted_backward=12.0))


def test_the_lessons_runs_are_made_once_in_the_background_and_equal_a_run_made_here(lr_public):
    """Issue 15: the trusted runs overlap the kernel's calls (a thread started on load), and train's lesson run is
    experiment(1.7, 1)'s, not a second training of the same data. The background changes no verdict: each run
    is the very run this thread would make."""
    assert list(lr_public._LESSON_RUNS) == lr_public.LESSON_CONFIGS
    assert lr_public._lesson_run() is lr_public._LESSON_RUNS[(1.7, 1)].result(timeout=60)
    for (mean_value, bias), run in lr_public._LESSON_RUNS.items():
        here = lr_public._simulate(*lr_public._lesson_data(mean_value, bias))
        background = run.result(timeout=60)
        assert lr_public._lesson_experiment(mean_value, bias) is background
        assert (background["iterations"], background["accuracy"], background["losses"]) == (
            here["iterations"], here["accuracy"], here["losses"])
        assert all(lr_public.torch.equal(background["state"][k], here["state"][k]) for k in here["state"])


@pytest.mark.parametrize("zero_grad", [True, False])
def test_the_lessons_loop_is_torchs_sgd_bit_for_bit(lr_public, zero_grad):
    """`_simulate` writes SGD with momentum out (torch's optimizers import torch._dynamo: 1.3 s of `grade check`);
    every run the checks compare with must be what torch.optim.SGD computes, to the last bit."""
    torch = lr_public.torch

    def with_torch_sgd(x, y, steps, stop):
        weight, bias = (p.clone().requires_grad_(True) for p in lr_public._lesson_parameters())
        optimizer = torch.optim.SGD([weight, bias], lr=0.01, momentum=0.9)
        losses, acc, iteration = [], 0.0, -1
        for iteration in range(steps):
            y_pred = lr_public._lesson_model(x, weight, bias)
            loss = torch.nn.BCELoss()(y_pred.squeeze(), y)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            acc = (y_pred.ge(0.5).float().squeeze() == y).sum().item() / y.size(0)
            if stop and acc > 0.99:
                break
        return iteration, acc, losses, weight.detach(), bias.detach()

    for config in lr_public.LESSON_CONFIGS:
        x, y = lr_public._lesson_data(*config)
        for steps, stop in ((1000, zero_grad), (5, False)):
            ours = lr_public._simulate(x, y, steps=steps, zero_grad=zero_grad, stop=stop)
            iteration, acc, losses, weight, bias = with_torch_sgd(x, y, steps, stop)
            assert (ours["iterations"], ours["accuracy"], ours["losses"]) == (iteration, acc, losses)
            assert torch.equal(ours["state"]["features.weight"], weight)
            assert torch.equal(ours["state"]["features.bias"], bias)


def test_the_public_lr_checks_make_no_torch_optimizer(tmp_path):
    """Loading them and making the lesson's runs leaves torch._dynamo unimported (a fresh interpreter)."""
    import subprocess
    import sys

    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('lr', {str(CHECKS / 'logistic_regression' / 'public' / 'test_logistic_regression_public.py')!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "[m._lesson_experiment(*c) for c in m.LESSON_CONFIGS]; m._lesson_run()\n"
            "print('torch._dynamo' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
