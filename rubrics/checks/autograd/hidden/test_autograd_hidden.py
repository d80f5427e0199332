"""Hidden checks for 01_autograd: the laws behind the lesson's numbers, on random inputs.

Every Feedback here states the law or the misconception, never the inputs drawn or the values expected.
"""

from __future__ import annotations

import math

from grader.checks import Feedback, StudentException, check, note, raised, values_of
from grader.codec import TensorValue

ATOL, RTOL = 1e-4, 1e-5


def _value(value, what: str) -> float:
    """The one number a value holds (a number, a 0-d or one-element tensor, a one-item list); Feedback otherwise.

    Where the form is not the lesson's tensor([...]) the check passes with a note (no silent pass)."""
    got = values_of(value)
    if got is None or len(got) != 1:
        raise Feedback(f"{what} should hold one number (the lesson returns a tensor like tensor([5.])).")
    if not math.isfinite(got[0]):
        raise Feedback(f"{what} contains nan or inf.")
    if not _lesson_form(value):
        note(f"{what}: accepted a value that is not a float32 tensor of shape [1] (only the value is checked).")
    return got[0]


def _lesson_form(value) -> bool:
    return isinstance(value, TensorValue) and value.exact_type and value.dtype == "float32" and \
        tuple(value.shape) == (1,)


def _graph_tensor(value, what: str) -> float:
    """dy/dx, where the type is the point: a plain tensor holding one number."""
    if not isinstance(value, TensorValue) or not value.exact_type:
        raise Feedback(f"{what} should be the tensor grad_1[0] itself (it carries the graph the second derivative "
                       "needs), not a number or another object.")
    return _value(value, what)


def _close(value: float, number: float) -> bool:
    return abs(value - number) <= ATOL + RTOL * abs(number)


def _leaves(rng, count=3, *, away_from_zero=True):
    """`count` random (w, x) pairs, with dy/dw = 2w + x + 1 clear of 0 so that mistakes show."""
    pairs = []
    while len(pairs) < count:
        w, x = round(rng.uniform(-3, 3), 3), round(rng.uniform(-3, 3), 3)
        if not away_from_zero or abs(2 * w + x + 1) > 0.5:
            pairs.append((w, x))
    return pairs


def _call(student, name, *args):
    try:
        return student.call(name, *args)
    except StudentException as exc:
        if exc.is_a("builtins.NotImplementedError"):
            raise Feedback(f"{name} is not implemented (the TODO stub is still there).") from None
        raise Feedback(f"{name} raised an exception on other inputs.") from None


@check("retain_graph", "random_inputs")
def test_retain_graph_random_inputs(student, rng):
    for w, x in _leaves(rng):
        dy_dw = 2 * w + x + 1
        grad = _value(_call(student, "backward_twice", w, x, True), "backward_twice(w, x, True)")
        if _close(grad, dy_dw):
            raise Feedback("backward_twice(w, x, True) returned dy/dw of one pass: call backward twice; with "
                           "retain_graph=True the two gradients accumulate in w.grad.",
                           misconception="retain_graph__single_backward")
        if not _close(grad, 2 * dy_dw):
            raise Feedback("backward_twice(w, x, True) should return 2 * dy/dw = 2(2w + x + 1) for any w, x.")
        try:
            student.call("backward_twice", w, x, False)
        except StudentException as exc:
            if not raised(exc, "RuntimeError"):
                raise Feedback("backward_twice(w, x, False) raised another exception than RuntimeError (a "
                               "NotImplementedError stub never counts).") from None
        else:
            raise Feedback("backward_twice(w, x, False) should raise RuntimeError: the first backward frees the "
                           "graph unless retain_graph=True is passed on to it.")


@check("grad_tensors", "random_weights")
def test_grad_tensors_random_weights(student, rng):
    for w, x in _leaves(rng):
        g0 = round(rng.uniform(0.5, 3.0), 3)
        g1 = round(g0 + rng.choice([-1, 1]) * rng.uniform(0.5, 2.0), 3)
        d0, d1 = 2 * w + x + 1, 2.0
        grad = _value(_call(student, "weighted_backward", w, x, (g0, g1)), "weighted_backward(w, x, weights)")
        if _close(grad, g0 * d0 + g1 * d1):
            continue
        if _close(grad, d0 + d1):
            raise Feedback("weighted_backward ignores its weights: gradient= weights each output, "
                           "w.grad = g0*dy0/dw + g1*dy1/dw, not the plain sum dy0/dw + dy1/dw.",
                           misconception="grad_tensors__ignores_weights")
        if _close(grad, g1 * d0 + g0 * d1):
            raise Feedback("weighted_backward pairs the weights with the wrong outputs: weights[0] weights "
                           "y0 = a*b and weights[1] weights y1 = a+b.", misconception="grad_tensors__swapped_weights")
        raise Feedback("weighted_backward should return g0*(2w + x + 1) + 2*g1 for any w, x and weights (g0, g1).")


@check("create_graph", "random_inputs")
def test_create_graph_random_inputs(student, rng):
    for _ in range(3):
        x = round(rng.uniform(-5, 5), 3)
        result = _call(student, "first_and_second_derivative", x)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Feedback("first_and_second_derivative(x) should return a pair of tensors (dy/dx, d2y/dx2).")
        if any(isinstance(part, (tuple, list)) for part in result):
            raise Feedback("return grad_1[0] and grad_2[0], the tensors, not the tuples torch.autograd.grad returns.",
                           misconception="create_graph__returns_tuples")
        first = _graph_tensor(result[0], "dy/dx")
        second = _value(result[1], "d2y/dx2")
        if not _close(first, 2 * x):
            raise Feedback("dy/dx of y = x**2 should be 2x for any x.")
        if not _close(second, 2.0):
            raise Feedback("d2y/dx2 of y = x**2 should be 2 for any x.")
        if result[0].grad_fn is None or not result[0].requires_grad:
            raise Feedback("dy/dx should carry a grad_fn: with create_graph=True the first derivative is part of "
                           "a graph (that is what makes the second derivative possible); do not detach it.")


@check("accumulation", "random_inputs")
def test_accumulation_random_inputs(student, rng):
    for w, x in _leaves(rng, 2):
        dy_dw = 2 * w + x + 1
        steps = rng.randint(2, 6)
        for zero_grad in (False, True):
            result = _call(student, "accumulated_grads", w, x, steps, zero_grad)
            what = f"accumulated_grads(w, x, steps, {zero_grad})"
            grads = values_of(result)
            if grads is None or len(grads) != steps:
                raise Feedback(f"{what} should return a list with one w.grad per backward pass.")
            if not all(math.isfinite(g) for g in grads):
                raise Feedback(f"{what} contains nan or inf.")
            if not (isinstance(result, list) and all(_lesson_form(v) for v in result)):
                note(f"{what}: accepted a form other than a list of tensors like tensor([5.]) (only the values are "
                     "checked).")
            expected = [dy_dw] * steps if zero_grad else [k * dy_dw for k in range(1, steps + 1)]
            if all(_close(g, e) for g, e in zip(grads, expected)):
                continue
            if len(set(grads)) == 1:
                raise Feedback(f"{what}: all entries are the same tensor value. w.grad is updated in place: append "
                               "w.grad.clone() and read it before zeroing it.")
            if zero_grad and all(_close(g, k * dy_dw) for k, g in enumerate(grads, 1)):
                raise Feedback("with zero_grad=True the gradients still accumulate: call w.grad.zero_() after "
                               "reading w.grad in every pass.", misconception="accumulation__never_zeroed")
            if not zero_grad and all(_close(g, dy_dw) for g in grads):
                raise Feedback("with zero_grad=False the gradients should accumulate (梯度不自动清零): "
                               "do not zero w.grad.")
            raise Feedback(f"{what}: after k passes w.grad should be k*(2w + x + 1) without zeroing and "
                           "(2w + x + 1) with zeroing.")


@check("requires_grad", "all_combinations")
def test_requires_grad_all_combinations(student):
    results, expected = {}, {}
    for w_rg in (True, False):
        for x_rg in (True, False):
            result = _call(student, "requires_grad_flags", w_rg, x_rg)
            if not isinstance(result, dict) or set(result) != {"a", "b", "y"}:
                raise Feedback('requires_grad_flags should return a dict with the keys "a", "b" and "y".')
            if not all(isinstance(v, bool) for v in result.values()):
                raise Feedback("requires_grad_flags should return Python bools (each node's .requires_grad).")
            results[w_rg, x_rg] = result
            expected[w_rg, x_rg] = {"a": w_rg or x_rg, "b": w_rg, "y": w_rg or x_rg}
    if results == expected:
        return
    if all(r == {"a": True, "b": True, "y": True} for r in results.values()):
        raise Feedback("requires_grad_flags returns True for every node whatever the leaves say: a node requires "
                       "grad only if one of its inputs does.", misconception="requires_grad__hardcoded_true")
    if any(results[k]["b"] != expected[k]["b"] for k in results):
        raise Feedback("b = w + 1 depends only on w: b.requires_grad follows w.requires_grad, whatever x does.",
                       misconception="requires_grad__b_follows_x")
    raise Feedback("a = w + x and y = a * b require grad when w or x does.")


@check("leaf_inplace", "random_inputs")
def test_leaf_inplace_random_inputs(student, rng):
    for _ in range(3):
        w = round(rng.uniform(-5, 5), 3)
        try:
            student.call("inplace_on_leaf", w)
        except StudentException as exc:
            if not raised(exc, "RuntimeError"):
                raise Feedback("inplace_on_leaf raised another exception than RuntimeError (a NotImplementedError "
                               "stub never counts).") from None
        else:
            raise Feedback("inplace_on_leaf should raise RuntimeError (in-place operation on a leaf that requires "
                           "grad) and let it propagate.")
        try:
            result = student.call("inplace_on_leaf_no_grad", w)
        except StudentException:
            raise Feedback("inplace_on_leaf_no_grad raised an exception: do the in-place update inside "
                           "`with torch.no_grad():`.") from None
        if not isinstance(result, TensorValue) or not result.exact_type:
            raise Feedback("inplace_on_leaf_no_grad should return the leaf tensor w itself (here the type is the "
                           "point: the parameter, updated in place).")
        value = _value(result, "inplace_on_leaf_no_grad(w)")
        if not _close(value, w + 1):
            raise Feedback("inplace_on_leaf_no_grad(w) should hold w + 1 after w.add_(1).")
        if not result.requires_grad or not result.is_leaf or result.grad_fn is not None:
            raise Feedback("inplace_on_leaf_no_grad should return w itself, updated in place: still a leaf that "
                           "requires grad. A new tensor such as w + 1 is not the parameter any more.")
