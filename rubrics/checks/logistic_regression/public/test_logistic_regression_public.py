"""Public checks for 02_logistic_regression: the lesson's data, model and training run.

`train`, `convergence` and `experiments` use the student's LR inside the student's train. A mistake in LR
is marked once, in `model`: when LR is wrong and train then fails, the train-based checks only require
that train is implemented (see `_train_result`).

These checks ship to students (`grade export student`), so they use no reference solution: their data is
the lesson's own script as printed on the lesson page and quoted in the exercise (step 1's data after
torch.manual_seed(10); step 2's model, sigmoid(WX+b) with nn.Linear(2, 1)'s initial weights after
torch.manual_seed(10)), and the lesson's training loop with optimizer.zero_grad() run in this process.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import Future

import torch

from grader.checks import (Feedback, MissingDefinition, StudentException, authored, check, describe,
                           expect_tensor, note, received, values_of)
from grader.codec import ModuleValue, TensorValue

LESSON_CONFIGS = [(1.7, 1), (1, 1), (5, 1), (1.7, 5), (1.7, -1)]
PROBE = [[0.5, -1.0], [2.0, 3.0], [-2.5, 0.0], [1.7, 1.7], [-4.0, 6.0]]
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-6


# ----------------------------------------------------------------------------- helpers
LESSON_SEED = 10


@functools.lru_cache(maxsize=None)
def _lesson_data(mean_value=1.7, bias=1):
    """Step 1 of the lesson, as printed (other mean_value/bias: the same script): (train_x [200, 2], train_y [200])."""
    with torch.random.fork_rng():
        torch.manual_seed(LESSON_SEED)
        sample_nums = 100
        n_data = torch.ones(sample_nums, 2)
        x0 = torch.normal(mean_value * n_data, 1) + bias
        y0 = torch.zeros(sample_nums)
        x1 = torch.normal(-mean_value * n_data, 1) + bias
        y1 = torch.ones(sample_nums)
        return torch.cat((x0, x1), 0), torch.cat((y0, y1), 0)


@functools.lru_cache(maxsize=None)
def _lesson_parameters():
    """Where the lesson's LR() starts: nn.Linear(2, 1)'s weight [1, 2] and bias [1] after torch.manual_seed(10)."""
    with torch.random.fork_rng():
        torch.manual_seed(LESSON_SEED)
        linear = torch.nn.Linear(2, 1)
    return linear.weight.detach().clone(), linear.bias.detach().clone()


def _lesson_model(x, weight=None, bias=None):
    """The lesson's model: sigmoid(WX+b), [N, 2] -> [N, 1] (逻辑回归 = 线性组合 WX+b 再输入到 sigmoid 函数)."""
    if weight is None:
        weight, bias = _lesson_parameters()
    return torch.sigmoid(torch.nn.functional.linear(x, weight, bias))


def _sgd_step(parameters, buffers, lr, momentum):
    """One step of torch's SGD(parameters, lr=lr, momentum=momentum), the same arithmetic written out: creating an
    optimizer of torch's optim package imports torch._dynamo (1.3 s of `grade check`, issue 15). The results are
    bit for bit the package's (tests/test_checks_fairness.py)."""
    with torch.no_grad():
        for i, parameter in enumerate(parameters):
            if buffers[i] is None:
                buffers[i] = torch.clone(parameter.grad).detach()
            else:
                buffers[i].mul_(momentum).add_(parameter.grad, alpha=1)
            parameter.add_(buffers[i], alpha=-lr)


def _simulate(x, y, *, steps=1000, lr=0.01, momentum=0.9, target_acc=0.99, zero_grad=True, stop=True):
    """The lesson's loop in the trusted process, with optimizer.zero_grad() (zero_grad=False: as printed); its
    optimizer, SGD with momentum, is `_sgd_step`."""
    weight, bias = (p.clone().requires_grad_(True) for p in _lesson_parameters())
    loss_fn = torch.nn.BCELoss()
    buffers = [None, None]
    losses, acc, iteration = [], 0.0, -1
    for iteration in range(steps):
        y_pred = _lesson_model(x, weight, bias)
        loss = loss_fn(y_pred.squeeze(), y)
        if zero_grad:  # optimizer.zero_grad(): set_to_none
            weight.grad, bias.grad = None, None
        loss.backward()
        _sgd_step((weight, bias), buffers, lr, momentum)
        losses.append(loss.item())
        acc = (y_pred.ge(0.5).float().squeeze() == y).sum().item() / y.size(0)
        if stop and acc > target_acc:
            break
    return {"iterations": iteration, "accuracy": acc, "losses": losses,
            "state": {"features.weight": weight.detach().clone(), "features.bias": bias.detach().clone()}}


def _lesson_run():
    """The lesson's run on its own data: train(train_x, train_y) with the default settings (= experiment(1.7, 1))."""
    return _lesson_experiment(1.7, 1)


def _tensor_of(value):
    if isinstance(value, TensorValue) and value.exact_type:
        return value.to_torch().detach()
    return None


def _model_is_right(student) -> bool:
    """The `model` question's test, quietly: LR() after torch.manual_seed(10) computes the lesson's model."""
    try:
        handle = student.call("LR", _seed=LESSON_SEED, _keep=True)
        out = student.call_method(handle, "forward", torch.tensor(PROBE))
    except (StudentException, MissingDefinition):
        return False
    got = _tensor_of(out)
    expected = _lesson_model(torch.tensor(PROBE))
    return got is not None and got.dtype == torch.float32 and got.shape == expected.shape and torch.allclose(
        got, expected, atol=1e-6, rtol=1e-5)


def _train_result(student, *args, _seed=0, **kwargs):
    """student train(...) result, or None when a wrong LR makes train fail (then `model` already lost the points)."""
    try:  # several checks judge the lesson's run: it runs once per notebook
        return student.call_shared("train", *args, _seed=_seed, **kwargs)
    except StudentException as exc:
        if "implement train" in exc.message or _model_is_right(student):
            raise
        return None


def _keys(result):
    """What a dict returned instead of train's result names: its keys, quoted safely."""
    return authored("the keys {keys}", "键为 {keys} 的字典", keys=received(sorted(map(str, result)), 120))


def _numbers(values) -> str:
    return ", ".join(f"{v:.6f}" for v in values)


def _expect_train_result(result):
    if not isinstance(result, dict) or not {"model", "iterations", "accuracy", "losses"} <= set(result):
        raise Feedback('train should return a dict with the keys "model", "iterations", "accuracy" and "losses", '
                       "but it returned {got}.",
                       zh='train 应返回包含键 "model"、"iterations"、"accuracy"、"losses" 的字典，但返回了 {got}。',
                       got=_keys(result) if isinstance(result, dict) else describe(result))
    if not isinstance(result["iterations"], int) or isinstance(result["iterations"], bool):
        raise Feedback('result["iterations"] should be an int (the index of the last iteration run), but it is '
                       "{got}.", zh='result["iterations"] 应为 int（最后一次运行的迭代的序号），但实际是 {got}。',
                       got=describe(result["iterations"]))
    if not isinstance(result["accuracy"], float):
        raise Feedback('result["accuracy"] should be a Python float (correct.item() / train_y.size(0)), but it is '
                       "{got}.", zh='result["accuracy"] 应为 Python 的 float（correct.item() / train_y.size(0)），'
                                    "但实际是 {got}。",
                       got=describe(result["accuracy"]))
    losses = result["losses"]
    if not isinstance(losses, list) or not all(isinstance(v, float) for v in losses):
        raise Feedback('result["losses"] should be a list of Python floats (loss.item() of each iteration), but it '
                       "is {got}.", zh='result["losses"] 应为由 Python float 组成的列表（每次迭代的 loss.item()），'
                                       "但实际是 {got}。",
                       got=describe(losses))
    if len(losses) != result["iterations"] + 1:
        raise Feedback('result["losses"] should hold one loss per iteration run (iterations + 1 = {want} values), '
                       "but it holds {got}.",
                       zh='result["losses"] 应为每次运行的迭代各保存一个损失值（iterations + 1 = {want} 个），'
                          "但实际有 {got} 个。",
                       want=received(result["iterations"] + 1), got=len(losses))


def _close_lists(a, b, n=None) -> bool:
    a, b = a[:n], b[:n]
    return len(a) == len(b) and torch.allclose(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64),
                                               rtol=LOSS_RTOL, atol=LOSS_ATOL)


# ----------------------------------------------------------------------------- make_data
@check("make_data", "lesson_data")
def test_make_data_lesson_data(student):
    result = student.call("make_data", _seed=0)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Feedback("make_data() should return the pair (train_x, train_y), but it returned {got}.",
                       zh="make_data() 应返回二元组 (train_x, train_y)，但返回了 {got}。", got=describe(result))
    x, y = result
    rx, ry = _lesson_data()
    tx, ty = _tensor_of(x), _tensor_of(y)
    if tx is not None and ty is not None and tx.shape == rx.shape and ty.shape == ry.shape:
        if torch.equal(tx, rx) and torch.equal(ty, 1 - ry):
            raise Feedback("The points are right but the labels are swapped (train_y should be 100 zeros, then 100 "
                           "ones, but it is 100 ones, then 100 zeros): the cloud around +mean_value (x0, drawn first) "
                           "is class 0 (y0 = zeros), the one around -mean_value is class 1.",
                           zh="点是对的，但标签反了（train_y 应先是 100 个 0、再是 100 个 1，实际却是先 100 个 1、"
                              "再 100 个 0）：围绕 +mean_value 的点云（x0，先采样）是类别 0（y0 = zeros），"
                              "围绕 -mean_value 的是类别 1。")
        if not torch.equal(tx, rx):
            again = _tensor_of(student.call("make_data", _seed=1)[0])
            if again is not None and not torch.equal(again, tx):
                raise Feedback("make_data() returned different points on two calls (first point {first}, then "
                               "{second}; the lesson's is {want}): start with torch.manual_seed(seed) so that the "
                               "data is the lesson's (torch.manual_seed(10)).",
                               zh="两次调用 make_data() 返回了不同的点（第一个点先是 {first}，后是 {second}；课上的是 "
                                  "{want}）：请先调用 torch.manual_seed(seed)，这样数据才与课上（torch.manual_seed(10)）"
                                  "一致。",
                               first=_point(tx[0]), second=_point(again.flatten()[:2]), want=_point(rx[0]))
    expect_tensor(x, rx.tolist(), atol=0, rtol=0, what=authored(
        "train_x of make_data() (must equal the lesson's data)", "make_data() 的 train_x（必须与课上的数据完全相同）"))
    expect_tensor(y, ry.tolist(), atol=0, rtol=0, what=authored(
        "train_y of make_data() (100 zeros, then 100 ones)", "make_data() 的 train_y（先 100 个 0，再 100 个 1）"))


def _point(row) -> str:
    return "[" + ", ".join(f"{float(v):.4f}" for v in row) + "]"


def _parameters(module) -> str:
    """The parameter names and shapes of the student's module, quoted safely."""
    shown = [f"{name} {list(getattr(value, 'shape', ()))}" for name, value in sorted(module.state.items())]
    return received("[" + ", ".join(shown) + "]", 160)


# ----------------------------------------------------------------------------- model
@check("model", "lesson_model")
def test_model_lesson_model(student):
    module = student.call("LR", _seed=LESSON_SEED)
    if not isinstance(module, ModuleValue):
        raise Feedback("LR() should create an nn.Module (class LR(nn.Module)), but it created {got}.",
                       zh="LR() 应创建一个 nn.Module（class LR(nn.Module)），但创建的是 {got}。", got=describe(module))
    weight, bias = module.state.get("features.weight"), module.state.get("features.bias")
    if weight is None or bias is None or tuple(weight.shape) != (1, 2) or tuple(bias.shape) != (1,):
        raise Feedback("LR should hold self.features = nn.Linear(2, 1) (parameters features.weight [1, 2] and "
                       "features.bias [1]), but its parameters are {got}.",
                       zh="LR 应包含 self.features = nn.Linear(2, 1)（参数 features.weight [1, 2] 和 "
                          "features.bias [1]），但它的参数是 {got}。", got=_parameters(module))
    lesson_weight, lesson_bias = _lesson_parameters()
    if set(module.state) != {"features.weight", "features.bias"}:
        raise Feedback("LR should hold only nn.Linear(2, 1) as parameters (the sigmoid has none), but it holds {got}.",
                       zh="LR 只应包含 nn.Linear(2, 1) 的参数（sigmoid 没有参数），但它包含 {got}。",
                       got=_parameters(module))
    got_weight, got_bias = weight.to_torch().detach(), bias.to_torch().detach()
    if not torch.allclose(got_weight, lesson_weight, atol=1e-6) or not torch.allclose(got_bias, lesson_bias, atol=1e-6):
        raise Feedback("After torch.manual_seed(10), LR() should start from the lesson's initial weights "
                       "(features.weight {want_weight}, features.bias {want_bias}), but it starts from "
                       "{got_weight} and {got_bias}: create nn.Linear(2, 1) in __init__ before anything else random, "
                       "and nothing else with parameters.",
                       zh="调用 torch.manual_seed(10) 之后，LR() 应从课上的初始权重开始（features.weight {want_weight}，"
                          "features.bias {want_bias}），但实际从 {got_weight} 和 {got_bias} 开始：请在 __init__ 中"
                          "先创建 nn.Linear(2, 1)，在它之前不要有其他随机操作，也不要创建其他带参数的层。",
                       want_weight=_point(lesson_weight[0]), want_bias=_point(lesson_bias),
                       got_weight=_point(got_weight.flatten()), got_bias=_point(got_bias.flatten()))
    handle = student.call("LR", _seed=LESSON_SEED, _keep=True)
    probe = torch.tensor(PROBE)
    out = student.call_method(handle, "forward", probe)
    linear = torch.nn.functional.linear(probe, lesson_weight, lesson_bias)
    got = _tensor_of(out)
    if got is not None and got.shape == (len(PROBE),):
        raise Feedback("forward returns shape [N] (here {got}); it should return [N, 1] (here {want}) like "
                       "nn.Linear(2, 1) followed by a sigmoid (train squeezes it).",
                       zh="forward 返回的形状是 [N]（这里是 {got}）；它应像 nn.Linear(2, 1) 后接 sigmoid 那样返回 "
                          "[N, 1]（这里是 {want}）（train 中会再 squeeze）。",
                       got=str([len(PROBE)]), want=str([len(PROBE), 1]))
    if got is not None and got.shape == linear.shape and torch.allclose(got, linear, atol=1e-6):
        raise Feedback("forward returns the raw scores WX+b ({got} for the point {point}, where sigmoid(WX+b) = "
                       "{want}): apply the sigmoid so that it returns probabilities in (0, 1) "
                       "(逻辑回归 = 线性组合 WX+b 再输入到 sigmoid 函数).",
                       zh="forward 返回的是原始得分 WX+b（点 {point} 得到 {got}，而 sigmoid(WX+b) = {want}）："
                          "请再经过 sigmoid，使它返回 (0, 1) 之间的概率（逻辑回归 = 线性组合 WX+b 再输入到 sigmoid 函数）。",
                       point=str(PROBE[0]), got=f"{float(got[0, 0]):.4f}", want=f"{float(torch.sigmoid(linear[0, 0])):.4f}")
    expect_tensor(out, torch.sigmoid(linear).tolist(), atol=1e-6, what=authored(
        "LR()(x) for the {count} points {points} (after torch.manual_seed(10))",
        "LR()(x) 在 {count} 个点 {points} 上的输出（torch.manual_seed(10) 之后）", count=len(PROBE), points=str(PROBE)))


# ----------------------------------------------------------------------------- train
@check("train", "lesson_run")
def test_train_lesson_run(student):
    x, y = _lesson_data()
    result = _train_result(student, x, y, _seed=0)
    if result is None:
        return
    _expect_train_result(result)
    ref = _lesson_run()
    losses, ref_losses = result["losses"], ref["losses"]
    if not _close_lists(losses, ref_losses, 1):
        raise Feedback("The first loss is {got}, the lesson's {want}: the initial model differs. Call "
                       "torch.manual_seed(seed) right before model = LR(), and use nn.BCELoss() on y_pred.squeeze().",
                       zh="你的第一个损失是 {got}，课上的是 {want}：初始模型不同。请在 model = LR() 之前调用 "
                          "torch.manual_seed(seed)，并对 y_pred.squeeze() 使用 nn.BCELoss()。",
                       got=f"{losses[0]:.6f}", want=f"{ref_losses[0]:.6f}")
    n = min(len(losses), len(ref_losses), 5)
    if not _close_lists(losses, ref_losses, n):
        shown = dict(n=n, got=_numbers(losses[:n]), want=_numbers(ref_losses[:n]))
        if _close_lists(losses, _simulate(x, y, steps=n, zero_grad=False, stop=False)["losses"], n):
            raise Feedback("Your losses follow the lesson's loop without optimizer.zero_grad() (your first {n} "
                           "losses: {got}; the lesson's: {want}): the gradients of all previous iterations keep "
                           "adding up (梯度不自动清零). Call optimizer.zero_grad() in every iteration before "
                           "loss.backward().",
                           zh="你的损失与课上不调用 optimizer.zero_grad() 的循环一致（你的前 {n} 个损失：{got}；"
                              "课上的：{want}）：之前所有迭代的梯度都在不断累加（梯度不自动清零）。请在每次迭代中、"
                              "loss.backward() 之前调用 optimizer.zero_grad()。", **shown)
        raise Feedback("The first loss matches the lesson's but the next ones do not (your first {n} losses: {got}; "
                       "the lesson's: {want}): each iteration should do forward, loss, optimizer.zero_grad(), "
                       "loss.backward(), optimizer.step() with SGD(model.parameters(), lr=lr, momentum=momentum).",
                       zh="第一个损失与课上一致，但之后的不一致（你的前 {n} 个损失：{got}；课上的：{want}）："
                          "每次迭代应依次执行前向计算、计算损失、optimizer.zero_grad()、loss.backward()、"
                          "optimizer.step()，优化器为 SGD(model.parameters(), lr=lr, momentum=momentum)。", **shown)
    if result["iterations"] != ref["iterations"]:
        raise Feedback("Training stopped at iteration {got}; the lesson's run stops at iteration {want}, the first "
                       "whose accuracy exceeds target_acc=0.99. Compute the accuracy of this iteration's y_pred "
                       "(threshold 0.5) and break as soon as acc > target_acc; iterations is the index of that last "
                       "iteration.",
                       zh="训练在第 {got} 次迭代停止；课上的运行在第 {want} 次迭代停止，即准确率首次超过 "
                          "target_acc=0.99 的那一次。请计算本次迭代 y_pred 的准确率（阈值 0.5），一旦 acc > target_acc "
                          "就 break；iterations 是最后这次迭代的序号。",
                       got=received(result["iterations"]), want=ref["iterations"])
    if not _close_lists(losses, ref_losses):
        at = next(i for i in range(len(losses)) if not _close_lists(losses[i:i + 1], ref_losses[i:i + 1]))
        raise Feedback("The losses drift away from the lesson's run during training (at iteration {at} the loss is "
                       "{got}, the lesson's {want}).",
                       zh="训练过程中，你的损失逐渐偏离了课上的运行结果（第 {at} 次迭代的损失为 {got}，课上的是 {want}）。",
                       at=at, got=f"{losses[at]:.6f}", want=f"{ref_losses[at]:.6f}")
    if abs(result["accuracy"] - ref["accuracy"]) > 1e-6:
        raise Feedback("accuracy is {got}, expected {want}: the fraction of this iteration's predictions "
                       "(y_pred >= 0.5) that equal train_y.",
                       zh="accuracy 为 {got}，应为 {want}：即本次迭代的预测（y_pred >= 0.5）中与 train_y 相等的比例。",
                       got=repr(result["accuracy"]), want=repr(ref["accuracy"]))


# ----------------------------------------------------------------------------- convergence
@check("convergence", "lesson_data")
def test_convergence_lesson_data(student):
    x, y = _lesson_data()
    result = _train_result(student, x, y, _seed=0)
    if result is None:
        return
    if not isinstance(result, dict) or not isinstance(result.get("accuracy"), float) or not isinstance(
            result.get("iterations"), int):
        got = authored("a dict whose accuracy is {accuracy} and whose iterations is {iterations}",
                       "accuracy 为 {accuracy}、iterations 为 {iterations} 的字典",
                       accuracy=describe(result.get("accuracy")), iterations=describe(result.get("iterations"))) \
            if isinstance(result, dict) else describe(result)
        raise Feedback('train should return a dict with "accuracy" (float) and "iterations" (int), but it returned '
                       "{got}.", zh='train 应返回包含 "accuracy"（float）和 "iterations"（int）的字典，但返回了 {got}。',
                       got=got)
    if not result["accuracy"] > 0.99 or not 0 <= result["iterations"] < 1000:
        raise Feedback("On the lesson's data train reached accuracy {accuracy} at iteration {iterations}; it should "
                       "pass 0.99 within 1000 iterations (the lesson's run does at iteration 425).",
                       zh="在课上的数据上，train 在第 {iterations} 次迭代时的准确率为 {accuracy}；它应在 1000 次迭代内"
                          "超过 0.99（课上的运行在第 425 次迭代达到）。",
                       accuracy=f"{result['accuracy']:.3f}", iterations=received(result["iterations"]))


# ----------------------------------------------------------------------------- experiments
def _own_composition(student, mean_value, bias, seed):
    """("returned", value) of the student's own train(*make_data(mean_value=m, bias=b)), or ("raised", which call
    raised what)."""
    try:
        data = student.call("make_data", mean_value=mean_value, bias=bias, _seed=seed)
    except StudentException as exc:
        return "raised", authored("make_data(mean_value={mean_value}, bias={bias}) raised {error}",
                                  "make_data(mean_value={mean_value}, bias={bias}) 抛出了 {error}",
                                  mean_value=mean_value, bias=bias, error=received(exc.type_name))
    args = tuple(data) if isinstance(data, (tuple, list)) else (data,)
    try:
        return "returned", student.call("train", *args)
    except StudentException as exc:
        return "raised", authored("train on that data raised {error}", "用这些数据调用 train 时抛出了 {error}",
                                  error=received(exc.type_name))


def _matches_run(value, run) -> bool:
    """`value` is train's result dict for a trusted run: same iterations, accuracy, losses and final parameters."""
    if not isinstance(value, dict) or not {"model", "iterations", "accuracy", "losses"} <= set(value):
        return False
    accuracy, losses, model = values_of(value["accuracy"]), values_of(value["losses"]), value["model"]
    if value["iterations"] != run["iterations"] or accuracy is None or len(accuracy) != 1 or losses is None:
        return False
    if abs(accuracy[0] - run["accuracy"]) > 1e-6 or not _close_lists(losses, run["losses"]):
        return False
    return isinstance(model, ModuleValue) and all(
        name in model.state and torch.allclose(model.state[name].to_torch().detach().double(), want.double(),
                                               rtol=1e-4, atol=1e-5) for name, want in run["state"].items())


def _run_text(value) -> str:
    if isinstance(value, dict) and {"iterations", "accuracy"} <= set(value):
        return received(f"iterations={value['iterations']!r}, accuracy={value['accuracy']!r}", 120)
    return describe(value)


def _lesson_runs_in_background():
    """The lesson's script on each of LESSON_CONFIGS, run on a thread from the moment this file is loaded: while the
    checks wait for the kernel's calls (issue 15: they followed each call). The data and the initial weights, which
    set the global RNG, are made here, on the loading thread; a run itself draws nothing."""
    data = {config: _lesson_data(*config) for config in LESSON_CONFIGS}
    _lesson_parameters()
    runs = {config: Future() for config in LESSON_CONFIGS}

    def run_all():
        for config, run in runs.items():
            try:
                run.set_result(_simulate(*data[config]))
            except BaseException as exc:  # raised again where the run is used, as it would have been there
                run.set_exception(exc)

    # Not a daemon: the interpreter's exit waits for it (a daemon thread inside torch at exit aborts the process).
    threading.Thread(target=run_all, name="lesson-runs", daemon=False).start()
    return runs


_LESSON_RUNS = _lesson_runs_in_background()


@functools.lru_cache(maxsize=None)
def _lesson_experiment(mean_value, bias):
    """The lesson's script on make_data(mean_value, bias) with train's defaults, in this process."""
    run = _LESSON_RUNS.get((mean_value, bias))
    return run.result() if run is not None else _simulate(*_lesson_data(mean_value, bias))


def _same(a, b) -> bool:
    if isinstance(a, TensorValue) and isinstance(b, TensorValue):
        return (a.dtype, tuple(a.shape)) == (b.dtype, tuple(b.shape)) and torch.allclose(
            a.to_torch().detach().double(), b.to_torch().detach().double(), rtol=1e-6, atol=1e-7, equal_nan=True)
    if isinstance(a, ModuleValue) and isinstance(b, ModuleValue):
        return a.class_name == b.class_name and set(a.state) == set(b.state) and all(
            _same(a.state[k], b.state[k]) for k in a.state)
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(p, q) for p, q in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-7 + 1e-6 * abs(b)
    return type(a) is type(b) and a == b


def _expect_experiment(student, mean_value, bias, seed):
    """Feedback unless experiment(m, b) returns what train(*make_data(mean_value=m, bias=b)) returns.

    An exception is never agreement. The result is compared with the lesson's script run on the same data here
    (once per process: every student's right answer is that run) and, only when it differs, with the student's
    own composition, which then decides nothing more than whether a differing make_data or train was used
    consistently; so a right experiment costs the kernel one training, not two."""
    call, composition = f"experiment({mean_value}, {bias})", f"train(*make_data(mean_value={mean_value}, bias={bias}))"
    try:
        got = student.call("experiment", mean_value, bias, _seed=seed)
    except StudentException as exc:
        if "implement experiment" in exc.message:
            raise
        own = _own_composition(student, mean_value, bias, seed)
        if own[0] == "raised" and own[1].startswith("train") and not _model_is_right(student):
            note("{call} not judged: train fails with your LR (marked in the model question).",
                 zh="{call} 未评判：用你的 LR 运行 train 会出错（已在 model 题中扣分）。", call=call)
            return
        why = own[1] if own[0] == "raised" else authored("your own {composition} returns normally",
                                                         "你自己的 {composition} 能正常返回", composition=composition)
        raise Feedback("{call} should return train's result dict, but it raised {error} ({why}): an exception never "
                       "counts as the expected result.",
                       zh="{call} 应返回 train 的结果字典，但抛出了 {error}（{why}）：抛出异常永远不算作预期的结果。",
                       call=call, error=received(exc.type_name), why=why)
    lesson = _lesson_experiment(mean_value, bias)
    if _matches_run(got, lesson):
        return
    own = _own_composition(student, mean_value, bias, seed)
    if own[0] == "returned" and _same(got, own[1]):
        return
    own_result = own[1] if own[0] == "raised" else authored("returned {run}", "返回了 {run}", run=_run_text(own[1]))
    raise Feedback("{call} returned {got}, which matches neither your own {composition} (which {own}) nor the "
                   "lesson's script on that data (iterations={iterations}, accuracy={accuracy}): make the data with "
                   "these two values (as mean_value= and bias=) and train on it with train's defaults.",
                   zh="{call} 返回了 {got}，既不同于你自己的 {composition}（{own}），也不同于课上的脚本在这些数据上的"
                      "结果（iterations={iterations}，accuracy={accuracy}）：请用这两个值（作为 mean_value= 和 bias=）"
                      "生成数据，并用 train 的默认参数在这些数据上训练。",
                   call=call, got=_run_text(got), composition=composition, own=own_result,
                   iterations=lesson["iterations"], accuracy=repr(lesson["accuracy"]))


@check("experiments", "lesson_configs")
def test_experiments_lesson_configs(student):
    for mean_value, bias in LESSON_CONFIGS:
        _expect_experiment(student, mean_value, bias, seed=0)


# ----------------------------------------------------------------------------- plots
@check("plots", "five_plots")
def test_plots_five_plots(student):
    images = sum(
        1
        for cell in student.notebook.cells if cell.get("cell_type") == "code"
        for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
    )
    if images < len(LESSON_CONFIGS):
        raise Feedback("The notebook shows {got} plot(s); it should show a decision-boundary plot for each of the "
                       "{want} configurations of 作业2 (run the show_experiment cells).",
                       zh="笔记本中显示了 {got} 张图；作业2 的 {want} 种配置应各有一张决策边界图（请运行 show_experiment "
                          "单元格）。",
                       got=images, want=len(LESSON_CONFIGS))
