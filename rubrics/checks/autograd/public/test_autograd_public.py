"""Public checks for 01_autograd: the values the lesson printed (w = 1, x = 2; x = 3 for create_graph)."""

from __future__ import annotations

import torch

from grader.checks import Feedback, StudentException, check, expect_tensor
from grader.codec import TensorValue


def _raised(exc: StudentException, name: str) -> bool:
    return exc.type_name == name or name in {n.rsplit(".", 1)[-1] for n in exc.mro}


def _as_torch(value):
    """The tensor a plain TensorValue stands for, else None (used only to pick a diagnostic)."""
    if isinstance(value, TensorValue) and value.exact_type:
        return value.to_torch().detach().to(torch.float64)
    return None


def _is(value, expected) -> bool:
    t = _as_torch(value)
    return t is not None and t.shape == (len(expected),) and torch.allclose(
        t, torch.tensor(expected, dtype=torch.float64), atol=1e-5)


def _expect_runtime_error(student, name, args, why):
    call = f"{name}({', '.join(map(repr, args))})"
    try:
        student.call(name, *args)
    except StudentException as exc:
        if _raised(exc, "RuntimeError"):
            return
        raise Feedback(f"{call} raised {exc.type_name}, expected RuntimeError: {why}") from None
    raise Feedback(f"{call} returned normally, expected it to raise RuntimeError: {why}")


@check("retain_graph", "lesson_value")
def test_retain_graph_lesson_value(student):
    grad = student.call("backward_twice", 1.0, 2.0, True)
    if _is(grad, [5.0]):
        raise Feedback("backward_twice(1., 2., True) returned tensor([5.]), the gradient of a single pass: call "
                       "y.backward(retain_graph=True) and then y.backward() again; the two gradients add up to "
                       "tensor([10.]).")
    expect_tensor(grad, [10.0], what="w.grad after two backward passes (w=1, x=2, retain_graph=True)")
    _expect_runtime_error(
        student, "backward_twice", (1.0, 2.0, False),
        "with retain_graph=False the first backward frees the graph's buffers, so the second y.backward() fails "
        "(the lesson's 'Trying to backward through the graph a second time'). Pass retain_graph on to the first "
        "backward and do not catch the error.")


@check("grad_tensors", "lesson_value")
def test_grad_tensors_lesson_value(student):
    grad = student.call("weighted_backward", 1.0, 2.0, (1.0, 2.0))
    if _is(grad, [7.0]):
        raise Feedback("weighted_backward(1., 2., (1., 2.)) returned tensor([7.]) = 5 + 2, the unweighted sum: "
                       "gradient= weights each output, w.grad = 1*dy0/dw + 2*dy1/dw = 1*5 + 2*2 = 9. Pass "
                       "gradient=torch.tensor(weights) to loss.backward.")
    if _is(grad, [12.0]):
        raise Feedback("weighted_backward(1., 2., (1., 2.)) returned tensor([12.]) = 2*5 + 1*2: the weights are "
                       "paired with the wrong outputs. weights[0] weights y0 = a*b, weights[1] weights y1 = a+b.")
    expect_tensor(grad, [9.0], what="w.grad for w=1, x=2, weights=(1, 2)")


@check("create_graph", "lesson_value")
def test_create_graph_lesson_value(student):
    try:
        result = student.call("first_and_second_derivative", 3.0)
    except StudentException as exc:
        raise Feedback(f"first_and_second_derivative(3.) raised {exc.type_name}: {exc.message.rstrip('.')}. The second "
                       "torch.autograd.grad differentiates the first derivative, which must itself be part of a "
                       "graph: compute it with create_graph=True.") from None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Feedback("first_and_second_derivative(3.) should return a pair (dy/dx, d2y/dx2).")
    first, second = result
    if isinstance(first, (tuple, list)) or isinstance(second, (tuple, list)):
        raise Feedback("torch.autograd.grad returns a tuple (grad_1是元组): return the tensors grad_1[0] and "
                       "grad_2[0], not the tuples.")
    expect_tensor(first, [6.0], what="dy/dx at x=3 (the lesson printed tensor([6.], grad_fn=<MulBackward0>))")
    expect_tensor(second, [2.0], what="d2y/dx2 at x=3 (the lesson printed tensor([2.]))")
    if first.grad_fn is None:
        raise Feedback("dy/dx has the right value but no grad_fn: the lesson's grad_1[0] is "
                       "tensor([6.], grad_fn=<MulBackward0>). Compute it with create_graph=True and return it as is "
                       "(no .detach()).")


def _expect_grad_list(result, expected, what):
    if not isinstance(result, (list, tuple)) or len(result) != len(expected):
        raise Feedback(f"{what}: expected a list of {len(expected)} tensors (w.grad after each backward pass).")
    got = [_as_torch(v) for v in result]
    if all(t is not None and t.numel() == 1 for t in got):
        values = [t.item() for t in got]
        if len(set(values)) == 1 and values != expected:
            raise Feedback(f"{what}: got {values}, expected {expected}. Every entry is the same: w.grad is one "
                           "tensor that backward updates in place, so append a copy (w.grad.clone()) and read it "
                           "before zeroing it.")
    for step, (value, number) in enumerate(zip(result, expected), start=1):
        expect_tensor(value, [number], what=f"{what}, w.grad after backward pass {step}")


@check("accumulation", "lesson_value")
def test_accumulation_lesson_value(student):
    kept = student.call("accumulated_grads", 1.0, 2.0, 4, False)
    _expect_grad_list(kept, [5.0, 10.0, 15.0, 20.0], "accumulated_grads(1., 2., 4, False)")
    zeroed = student.call("accumulated_grads", 1.0, 2.0, 4, True)
    if isinstance(zeroed, (list, tuple)) and [_is(v, [5.0 * k]) for k, v in enumerate(zeroed, 1)] == [True] * 4:
        raise Feedback("accumulated_grads(1., 2., 4, True) returned 5, 10, 15, 20: with zero_grad=True call "
                       "w.grad.zero_() after reading w.grad, so every pass starts from 0 (lesson: 5, 5, 5, 5).")
    _expect_grad_list(zeroed, [5.0, 5.0, 5.0, 5.0], "accumulated_grads(1., 2., 4, True)")


def _expect_flags(result, expected, what):
    if not isinstance(result, dict) or set(result) != {"a", "b", "y"}:
        raise Feedback(f'{what}: expected a dict with the keys "a", "b" and "y".')
    for key in ("a", "b", "y"):
        if not isinstance(result[key], bool):
            raise Feedback(f'{what}: result["{key}"] should be a Python bool (the node\'s .requires_grad), '
                           f"not {type(result[key]).__name__}.")
    if result != expected:
        raise Feedback(f"{what}: got {result}, expected {expected}.")


@check("requires_grad", "lesson_value")
def test_requires_grad_lesson_value(student):
    _expect_flags(student.call("requires_grad_flags", True, True), {"a": True, "b": True, "y": True},
                  "requires_grad_flags(True, True) (the lesson printed True True True)")


@check("leaf_inplace", "lesson_value")
def test_leaf_inplace_lesson_value(student):
    _expect_runtime_error(
        student, "inplace_on_leaf", (1.0,),
        "a leaf Variable that requires grad cannot be used in an in-place operation such as w.add_(1) "
        "(the lesson's RuntimeError). Let the error propagate.")
    try:
        w = student.call("inplace_on_leaf_no_grad", 1.0)
    except StudentException as exc:
        raise Feedback(f"inplace_on_leaf_no_grad(1.) raised {exc.type_name}: {exc.message.rstrip('.')}. Do the update inside "
                       "`with torch.no_grad():`, where in-place operations on leaves are allowed.") from None
    expect_tensor(w, [2.0], what="w after w.add_(1) under torch.no_grad() (w=1)")
    if not w.requires_grad or not w.is_leaf:
        raise Feedback("inplace_on_leaf_no_grad(1.) returned tensor([2.]) but not the original leaf: update w in "
                       "place (w.add_(1)) under torch.no_grad() and return w itself; it should still be a leaf "
                       "with requires_grad=True, like a parameter after optimizer.step().")
