"""Public checks for 01_autograd: the values the lesson printed (w = 1, x = 2; x = 3 for create_graph).

Only the value counts where the lesson's point is the value (a number, a 0-d or one-element tensor or a list
is accepted, with a note saying so); the type counts only where it is the point (dy/dx must be a tensor that
carries a graph; inplace_on_leaf_no_grad must return the leaf itself). Every message says what was expected
and what was received.
"""

from __future__ import annotations

from grader.checks import (Feedback, StudentException, authored, check, describe, expect_raises, expect_tensor,
                           expect_values, received, values_of)
from grader.codec import TensorValue


def _is(value, expected) -> bool:
    """The value holds exactly these numbers, in any accepted form (used only to pick a diagnostic)."""
    got = values_of(value)
    return got is not None and len(got) == len(expected) and all(abs(g - e) <= 1e-5 for g, e in zip(got, expected))


def _shown(value) -> str:
    """How a value that holds one number reads to the student: torch's print for a tensor, else the number."""
    number = values_of(value)[0]
    text = f"{number:g}." if float(number).is_integer() else f"{number:.4f}"
    if isinstance(value, TensorValue):
        if tuple(value.shape) == (1,):
            return f"tensor([{text}])"
        return authored("{form} holding {number}", "{form}，值为 {number}", form=describe(value), number=text)
    return authored("{form} {number}", "{form}，值为 {number}", form=describe(value), number=f"{number:g}")


def _call_text(name, args) -> str:
    return f"{name}({', '.join(map(repr, args))})"


def _expect_runtime_error(student, name, args, why):
    """`why` (a bilingual message) says what the error means in the lesson."""
    call = _call_text(name, args)
    try:
        expect_raises(lambda: student.call(name, *args), "RuntimeError", what=call)
    except Feedback as exc:
        raise Feedback("{problem}: {why}", zh="{problem}：{why}", problem=exc.message, why=why) from None


@check("retain_graph", "lesson_value")
def test_retain_graph_lesson_value(student):
    grad = student.call("backward_twice", 1.0, 2.0, True)
    if _is(grad, [5.0]):
        raise Feedback("backward_twice(1., 2., True) should return tensor([10.]) but returned {got}, "
                       "the gradient of a single pass: call y.backward(retain_graph=True) and then y.backward() "
                       "again; the two gradients add up.",
                       zh="backward_twice(1., 2., True) 应返回 tensor([10.])，但返回了 {got}，这只是一次反向传播的梯度："
                          "先调用 y.backward(retain_graph=True)，再调用一次 y.backward()；两次的梯度会累加。",
                       got=_shown(grad))
    expect_values(grad, 10.0, what=authored("w.grad after two backward passes (w=1, x=2, retain_graph=True)",
                                            "两次反向传播后的 w.grad（w=1，x=2，retain_graph=True）"),
                  lesson_form="tensor([10.])")
    _expect_runtime_error(student, "backward_twice", (1.0, 2.0, False), authored(
        "with retain_graph=False the first backward frees the graph's buffers, so the second y.backward() fails "
        "(the lesson's 'Trying to backward through the graph a second time'). Pass retain_graph on to the first "
        "backward and do not catch the error.",
        "retain_graph=False 时，第一次 backward 会释放计算图的缓冲区，所以第二次 y.backward() 会出错"
        "（即课上的 'Trying to backward through the graph a second time'）。请把 retain_graph 传给第一次 backward，"
        "并且不要捕获这个错误。"))


@check("grad_tensors", "lesson_value")
def test_grad_tensors_lesson_value(student):
    grad = student.call("weighted_backward", 1.0, 2.0, (1.0, 2.0))
    if _is(grad, [7.0]):
        raise Feedback("weighted_backward(1., 2., (1., 2.)) should return tensor([9.]) but returned {got} "
                       "= 5 + 2, the unweighted sum: gradient= weights each output, w.grad = 1*dy0/dw + 2*dy1/dw = 1*5 + 2*2 = 9. Pass "
                       "gradient=torch.tensor(weights) to loss.backward.",
                       zh="weighted_backward(1., 2., (1., 2.)) 应返回 tensor([9.])，但返回了 {got} = 5 + 2，即未加权的和："
                          "gradient= 为每个输出加权，w.grad = 1*dy0/dw + 2*dy1/dw = 1*5 + 2*2 = 9。"
                          "请把 gradient=torch.tensor(weights) 传给 loss.backward。",
                       got=_shown(grad))
    if _is(grad, [12.0]):
        raise Feedback("weighted_backward(1., 2., (1., 2.)) should return tensor([9.]) but returned {got} "
                       "= 2*5 + 1*2: the weights are paired with the wrong outputs. weights[0] weights y0 = a*b, "
                       "weights[1] weights y1 = a+b.",
                       zh="weighted_backward(1., 2., (1., 2.)) 应返回 tensor([9.])，但返回了 {got} = 2*5 + 1*2："
                          "权重与输出配错了。weights[0] 对应 y0 = a*b，weights[1] 对应 y1 = a+b。",
                       got=_shown(grad))
    expect_values(grad, 9.0, what=authored("w.grad for w=1, x=2, weights=(1, 2)", "w=1、x=2、weights=(1, 2) 时的 w.grad"),
                  lesson_form="tensor([9.])")


@check("create_graph", "lesson_value")
def test_create_graph_lesson_value(student):
    try:
        result = student.call("first_and_second_derivative", 3.0)
    except StudentException as exc:
        if exc.is_a("builtins.NotImplementedError"):
            raise
        raise Feedback("first_and_second_derivative(3.) should return (dy/dx, d2y/dx2) but raised {error}: {detail}. "
                       "The second torch.autograd.grad differentiates the first derivative, which must itself be part "
                       "of a graph: compute it with create_graph=True.",
                       zh="first_and_second_derivative(3.) 应返回 (dy/dx, d2y/dx2)，但抛出了 {error}：{detail}。"
                          "第二次 torch.autograd.grad 是对一阶导数求导，所以一阶导数本身必须在计算图中："
                          "请用 create_graph=True 计算它。",
                       error=received(exc.type_name), detail=received(exc.message.rstrip("."), 160)) from None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Feedback("first_and_second_derivative(3.) should return a pair (dy/dx, d2y/dx2), but it returned {got}.",
                       zh="first_and_second_derivative(3.) 应返回一对值 (dy/dx, d2y/dx2)，但返回了 {got}。",
                       got=describe(result))
    first, second = result
    if isinstance(first, (tuple, list)) and len(first) == 1:
        raise Feedback("dy/dx should be the tensor grad_1[0], but it is {got}, the tuple grad_1 that "
                       "torch.autograd.grad returns (grad_1是元组): return grad_1[0] and grad_2[0], not the tuples.",
                       zh="dy/dx 应为张量 grad_1[0]，但实际是 {got}，即 torch.autograd.grad 返回的元组 grad_1"
                          "（grad_1是元组）：请返回 grad_1[0] 和 grad_2[0]，而不是元组。",
                       got=describe(first))
    if not isinstance(first, TensorValue):
        raise Feedback("dy/dx should be a tensor that carries its graph (here the type is the point: the lesson's "
                       "grad_1[0] is tensor([6.], grad_fn=<MulBackward0>), which the second derivative "
                       "differentiates), but it is {got}. Return grad_1[0] itself.",
                       zh="dy/dx 应为带有计算图的张量（这里类型正是重点：课上的 grad_1[0] 是 "
                          "tensor([6.], grad_fn=<MulBackward0>)，二阶导数就是对它求导），但实际是 {got}。"
                          "请直接返回 grad_1[0]。",
                       got=describe(first))
    expect_tensor(first, [6.0], what=authored("dy/dx at x=3 (the lesson printed tensor([6.], grad_fn=<MulBackward0>))",
                                              "x=3 时的 dy/dx（课上输出 tensor([6.], grad_fn=<MulBackward0>)）"))
    expect_values(second, 2.0, what=authored("d2y/dx2 at x=3", "x=3 时的 d2y/dx2"),
                  lesson_form="tensor([2.]) (grad_2[0])")
    if first.grad_fn is None:
        raise Feedback("dy/dx should carry a grad_fn like the lesson's tensor([6.], grad_fn=<MulBackward0>), but it "
                       "has none (grad_fn=None): compute it with create_graph=True and return it as is (no .detach(), "
                       "no .item()); that graph is what makes the second derivative possible.",
                       zh="dy/dx 应像课上的 tensor([6.], grad_fn=<MulBackward0>) 一样带有 grad_fn，但它没有"
                          "（grad_fn=None）：请用 create_graph=True 计算它并原样返回（不要 .detach()，也不要 .item()）；"
                          "正是这个计算图让二阶导数得以计算。")


def _expect_grad_list(result, expected, what):
    got = values_of(result)
    if got is not None and len(got) == len(expected) and len(set(got)) == 1 and got != expected:
        raise Feedback("{what} should be {expected}, but it is {got}. Every entry is the same: w.grad is one "
                       "tensor that backward updates in place, so append a copy (w.grad.clone() or w.grad.item()) "
                       "and read it before zeroing it.",
                       zh="{what} 应为 {expected}，但实际是 {got}。每一项都相同：w.grad 是同一个被 backward 原地更新的张量，"
                          "所以要追加它的副本（w.grad.clone() 或 w.grad.item()），并在清零之前读取。",
                       what=what, expected=str(expected), got=str(got))
    expect_values(result, expected, what=what, lesson_form=authored(
        "a list of tensors like [tensor([5.]), tensor([10.]), ...]", "张量列表，如 [tensor([5.]), tensor([10.]), ...]"))


@check("accumulation", "lesson_value")
def test_accumulation_lesson_value(student):
    kept = student.call("accumulated_grads", 1.0, 2.0, 4, False)
    _expect_grad_list(kept, [5.0, 10.0, 15.0, 20.0], "accumulated_grads(1., 2., 4, False)")
    zeroed = student.call("accumulated_grads", 1.0, 2.0, 4, True)
    if _is(zeroed, [5.0, 10.0, 15.0, 20.0]):
        raise Feedback("accumulated_grads(1., 2., 4, True) should be [5, 5, 5, 5] but returned 5, 10, 15, 20: with "
                       "zero_grad=True call w.grad.zero_() after reading w.grad, so every pass starts from 0.",
                       zh="accumulated_grads(1., 2., 4, True) 应为 [5, 5, 5, 5]，但返回了 5, 10, 15, 20："
                          "zero_grad=True 时，读取 w.grad 之后要调用 w.grad.zero_()，让每次都从 0 开始。")
    _expect_grad_list(zeroed, [5.0, 5.0, 5.0, 5.0], "accumulated_grads(1., 2., 4, True)")


def _expect_flags(result, expected, what):
    if not isinstance(result, dict) or set(result) != {"a", "b", "y"}:
        keys = received(sorted(map(repr, result)), 120) if isinstance(result, dict) else None
        got = authored("the keys {keys}", "键为 {keys} 的字典", keys=keys) if keys is not None else describe(result)
        raise Feedback('{what}: expected a dict with the keys "a", "b" and "y", but got {got}.',
                       zh='{what}：应返回包含键 "a"、"b"、"y" 的字典，但得到的是 {got}。', what=what, got=got)
    for key in ("a", "b", "y"):
        if not isinstance(result[key], bool):
            raise Feedback('{what}: result["{key}"] should be a Python bool (the node\'s .requires_grad), '
                           "but it is {got}.",
                           zh='{what}：result["{key}"] 应为 Python 的 bool（该节点的 .requires_grad），但实际是 {got}。',
                           what=what, key=key, got=describe(result[key]))
    if result != expected:
        raise Feedback("{what}: expected {expected}, got {got}.", zh="{what}：应为 {expected}，实际得到 {got}。",
                       what=what, expected=str(expected), got=str({key: result[key] for key in ("a", "b", "y")}))


@check("requires_grad", "lesson_value")
def test_requires_grad_lesson_value(student):
    _expect_flags(student.call("requires_grad_flags", True, True), {"a": True, "b": True, "y": True},
                  authored("requires_grad_flags(True, True) (the lesson printed True True True)",
                           "requires_grad_flags(True, True)（课上输出 True True True）"))


@check("leaf_inplace", "lesson_value")
def test_leaf_inplace_lesson_value(student):
    _expect_runtime_error(student, "inplace_on_leaf", (1.0,), authored(
        "a leaf Variable that requires grad cannot be used in an in-place operation such as w.add_(1) "
        "(the lesson's RuntimeError). Let the error propagate.",
        "需要梯度的叶子节点不能执行 w.add_(1) 这样的原地（in_place）操作（即课上的 RuntimeError）。"
        "不要捕获这个错误，让它抛出。"))
    try:
        w = student.call("inplace_on_leaf_no_grad", 1.0)
    except StudentException as exc:
        if exc.is_a("builtins.NotImplementedError"):
            raise
        raise Feedback("inplace_on_leaf_no_grad(1.) should return w but raised {error}: {detail}. Do the update "
                       "inside `with torch.no_grad():`, where in-place operations on leaves are allowed.",
                       zh="inplace_on_leaf_no_grad(1.) 应返回 w，但抛出了 {error}：{detail}。请在 "
                          "`with torch.no_grad():` 中更新，在那里可以对叶子节点做原地操作。",
                       error=received(exc.type_name), detail=received(exc.message.rstrip("."), 160)) from None
    if not isinstance(w, TensorValue):
        raise Feedback("inplace_on_leaf_no_grad(1.) should return the leaf tensor w itself (here the type is the "
                       "point: the parameter, updated in place), but it returned {got}.",
                       zh="inplace_on_leaf_no_grad(1.) 应返回叶子张量 w 本身（这里类型正是重点：它是被原地更新的参数），"
                          "但返回了 {got}。",
                       got=describe(w))
    expect_tensor(w, [2.0], what=authored("w after w.add_(1) under torch.no_grad() (w=1)",
                                          "在 torch.no_grad() 下执行 w.add_(1) 之后的 w（w=1）"))
    if not w.requires_grad or not w.is_leaf:
        raise Feedback("inplace_on_leaf_no_grad(1.) should return the original leaf (requires_grad=True, is_leaf=True)"
                       ", but it returned a tensor with requires_grad={requires_grad}, is_leaf={is_leaf}: update "
                       "w in place (w.add_(1)) under torch.no_grad() and return w itself, like a parameter after "
                       "optimizer.step().",
                       zh="inplace_on_leaf_no_grad(1.) 应返回原来的叶子节点（requires_grad=True，is_leaf=True），"
                          "但返回的张量 requires_grad={requires_grad}，is_leaf={is_leaf}：请在 torch.no_grad() 下原地"
                          "更新 w（w.add_(1)）并返回 w 本身，就像 optimizer.step() 之后的参数一样。",
                       requires_grad=bool(w.requires_grad), is_leaf=bool(w.is_leaf))
