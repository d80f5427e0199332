"""Hidden checks for 02_logistic_regression: random arguments, the zero_grad diagnostic, held-out data.

Every Feedback here names the rule or the misconception, never the arguments drawn or the values expected.
A mistake in LR is marked once, in `model` (see `_train_result`).
"""

from __future__ import annotations

import functools

import torch

from grader.checks import Feedback, MissingDefinition, StudentException, check, note, values_of
from grader.codec import ModuleValue, TensorValue

PROBE = [[0.5, -1.0], [2.0, 3.0], [-2.5, 0.0], [1.7, 1.7], [-4.0, 6.0]]
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-6
OTHER_PAIRS = [(3, 0), (2.5, 3), (1.2, -2), (2, -4)]
HELD_OUT_ACCURACY = 0.95


# ----------------------------------------------------------------------------- helpers
def _other_seed(seed: int, k: int) -> int:
    """A seed different from `seed`, for running the student's code from another random state."""
    return (seed + k) % 2**31


def _tensor_of(value):
    if isinstance(value, TensorValue) and value.exact_type:
        return value.to_torch().detach()
    return None


def _run(reference, x, y, *, lr=0.01, momentum=0.9, max_iterations=1000, target_acc=0.99, seed=10,
         zero_grad=True, stop=True):
    """The reference loop in the trusted process; zero_grad=False / stop=False reproduce misconceptions."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = reference.LR()
    loss_fn = torch.nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses, acc, iteration = [], 0.0, -1
    for iteration in range(max_iterations):
        y_pred = model(x)
        loss = loss_fn(y_pred.squeeze(), y)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        acc = (y_pred.ge(0.5).float().squeeze() == y).sum().item() / y.size(0)
        if stop and acc > target_acc:
            break
    return {"iterations": iteration, "accuracy": acc, "losses": losses}


def _model_is_right(student, reference) -> bool:
    """The `model` question's test, quietly: LR() after torch.manual_seed(10) computes the lesson's model."""
    try:
        handle = student.call("LR", _seed=10, _keep=True)
        out = student.call_method(handle, "forward", torch.tensor(PROBE))
    except (StudentException, MissingDefinition):
        return False
    got = _tensor_of(out)
    with torch.random.fork_rng():
        torch.manual_seed(10)
        expected = reference.LR()(torch.tensor(PROBE)).detach()
    return got is not None and got.dtype == torch.float32 and got.shape == expected.shape and torch.allclose(
        got, expected, atol=1e-6, rtol=1e-5)


def _train_result(student, reference, *args, _seed, **kwargs):
    """student train(...) result, or None when a wrong LR makes train fail (then `model` already lost the points)."""
    try:  # the same run judged by another check (the lesson's run) is not run again
        return student.call_shared("train", *args, _seed=_seed, **kwargs)
    except StudentException as exc:
        if "implement train" in exc.message or _model_is_right(student, reference):
            raise Feedback(f"train raised {exc.type_name}.") from None
        return None


def _expect_train_result(result):
    if not isinstance(result, dict) or not {"model", "iterations", "accuracy", "losses"} <= set(result):
        raise Feedback('train should return a dict with the keys "model", "iterations", "accuracy" and "losses".')
    if not isinstance(result["iterations"], int) or not isinstance(result["accuracy"], float):
        raise Feedback('result["iterations"] should be an int and result["accuracy"] a Python float.')
    losses = result["losses"]
    if not isinstance(losses, list) or not all(isinstance(v, float) for v in losses):
        raise Feedback('result["losses"] should be a list of Python floats (loss.item() of each iteration).')
    if len(losses) != result["iterations"] + 1:
        raise Feedback('result["losses"] should hold one loss per iteration run: iterations + 1 values.')


def _close_lists(a, b, n=None) -> bool:
    a, b = a[:n], b[:n]
    return len(a) == len(b) and torch.allclose(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64),
                                               rtol=LOSS_RTOL, atol=LOSS_ATOL)


def _compare_run(result, ref, reference, x, y, settings):
    """Feedback naming the likely misconception when `result` differs from the reference run `ref`."""
    _expect_train_result(result)
    losses, ref_losses = result["losses"], ref["losses"]
    if not _close_lists(losses, ref_losses, 1):
        raise Feedback("With other arguments the first loss differs from the reference's: the initial model is not "
                       "the one torch.manual_seed(seed) gives. Seed with the seed argument right before LR().")
    n = min(len(losses), len(ref_losses))
    if not _close_lists(losses, ref_losses, n):
        for wrong, message in (
            (dict(zero_grad=False), "Your losses follow a loop without optimizer.zero_grad(): gradients accumulate "
                                    "across iterations (梯度不自动清零). Call optimizer.zero_grad() every iteration."),
            (dict(lr=0.01, momentum=0.9), "Your losses are those of lr=0.01, momentum=0.9 whatever the arguments: "
                                          "pass lr and momentum on to torch.optim.SGD."),
        ):
            simulated = _run(reference, x, y, **{**settings, **wrong, "stop": False})["losses"]
            if _close_lists(losses, simulated, n):
                raise Feedback(message)
        raise Feedback("With other arguments the losses differ from the reference's after the first iteration: "
                       "use SGD(model.parameters(), lr=lr, momentum=momentum) and do zero_grad, backward, step in "
                       "every iteration.")
    if result["iterations"] != ref["iterations"]:
        raise Feedback("With other arguments training stops at a different iteration: run at most max_iterations "
                       "iterations and break as soon as the accuracy of this iteration's y_pred exceeds target_acc "
                       "(acc > target_acc); iterations is the index of the last iteration run.")
    if abs(result["accuracy"] - ref["accuracy"]) > 1e-6:
        raise Feedback("accuracy should be the fraction of this iteration's predictions (y_pred >= 0.5) that "
                       "equal train_y.")


# ----------------------------------------------------------------------------- make_data
@check("make_data", "random_arguments")
def test_make_data_random_arguments(student, reference, rng):
    for _ in range(3):
        kwargs = dict(sample_nums=rng.randint(5, 60), mean_value=round(rng.uniform(0.5, 4.0), 2),
                      bias=round(rng.uniform(-4.0, 4.0), 2), seed=rng.randint(0, 2**31 - 1))
        try:
            result = student.call("make_data", _seed=rng.randint(0, 2**31 - 1), **kwargs)
        except StudentException as exc:
            raise Feedback(f"make_data raised {exc.type_name} with other arguments.") from None
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Feedback("make_data should return the pair (train_x, train_y).")
        tx, ty = (_tensor_of(v) for v in result)
        rx, ry = reference.make_data(**kwargs)
        if tx is None or ty is None or tx.dtype != torch.float32 or ty.dtype != torch.float32:
            raise Feedback("make_data should return two plain float32 tensors.")
        if tx.shape != rx.shape or ty.shape != ry.shape:
            raise Feedback("make_data should return shapes [2*sample_nums, 2] and [2*sample_nums]: use sample_nums.")
        if torch.equal(tx, rx) and torch.equal(ty, 1 - ry):
            raise Feedback("The labels are swapped: the cloud around +mean_value is class 0.")
        if not torch.equal(ty, ry):
            raise Feedback("train_y should be sample_nums zeros followed by sample_nums ones.")
        if not torch.equal(tx, rx):
            raise Feedback("With other arguments train_x differs from the reference's: seed with "
                           "torch.manual_seed(seed) first and draw with mean_value and bias exactly as in the lesson.")


# ----------------------------------------------------------------------------- model
@check("model", "random_inputs")
def test_model_random_inputs(student, rng, torch_seed):
    for n in (1, rng.randint(2, 40)):
        points = torch.tensor([[rng.uniform(-8, 8), rng.uniform(-8, 8)] for _ in range(n)])
        try:
            module = student.call("LR", _seed=torch_seed)
            handle = student.call("LR", _seed=torch_seed, _keep=True)
            out = student.call_method(handle, "forward", points)
        except StudentException as exc:
            raise Feedback(f"LR raised {exc.type_name}.") from None
        if not isinstance(module, ModuleValue) or "features.weight" not in module.state or \
                "features.bias" not in module.state:
            raise Feedback("LR should be an nn.Module holding self.features = nn.Linear(2, 1).")
        weight = module.state["features.weight"].to_torch().detach()
        bias = module.state["features.bias"].to_torch().detach()
        linear = points @ weight.T + bias
        got = _tensor_of(out)
        if got is None or got.dtype != torch.float32:
            raise Feedback("forward should return a plain float32 tensor.")
        if got.shape != (n, 1):
            raise Feedback("forward should return shape [N, 1] for a batch of N points (also for N = 1).")
        if torch.allclose(got, linear, atol=1e-5):
            raise Feedback("forward returns the raw scores WX+b: apply the sigmoid to get probabilities.")
        if not torch.allclose(got, torch.sigmoid(linear), atol=1e-6, rtol=1e-5):
            raise Feedback("forward should return sigmoid(features(x)) = sigmoid(x @ W.T + b).")


# ----------------------------------------------------------------------------- train
@check("train", "random_settings")
def test_train_random_settings(student, reference, rng, torch_seed):
    for _ in range(20):  # draw settings whose reference run stops early, so the stop condition is tested
        x, y = reference.make_data(sample_nums=rng.randint(20, 60), mean_value=round(rng.uniform(1.5, 3.0), 2),
                                   bias=round(rng.uniform(-2.0, 2.0), 2), seed=rng.randint(0, 2**31 - 1))
        settings = dict(lr=round(rng.uniform(0.03, 0.1), 4), momentum=round(rng.uniform(0.5, 0.8), 3),
                        max_iterations=rng.randint(30, 60), target_acc=round(rng.uniform(0.9, 0.97), 3),
                        seed=torch_seed)
        ref = _run(reference, x, y, **settings)
        if 2 <= ref["iterations"] < settings["max_iterations"] - 1:
            break
    result = _train_result(student, reference, x, y, _seed=_other_seed(torch_seed, 1), **settings)
    if result is not None:
        _compare_run(result, ref, reference, x, y, settings)
    # and a run that never reaches target_acc: all max_iterations iterations
    settings = dict(settings, target_acc=1.0, max_iterations=rng.randint(5, 15))
    result = _train_result(student, reference, x, y, _seed=_other_seed(torch_seed, 2), **settings)
    if result is not None:
        _compare_run(result, _run(reference, x, y, **settings), reference, x, y, settings)


@check("train", "gradients_zeroed")
def test_train_gradients_zeroed(student, reference, rng, torch_seed):
    # The lesson's configuration mean_value=1.7, bias=5: without zero_grad the model does not learn.
    x, y = reference.make_data(mean_value=1.7, bias=5)
    settings = dict(max_iterations=rng.randint(20, 40), seed=torch_seed)
    result = _train_result(student, reference, x, y, _seed=_other_seed(torch_seed, 3), **settings)
    if result is None:
        return
    _expect_train_result(result)
    ref = _run(reference, x, y, **settings)
    n = min(len(result["losses"]), len(ref["losses"]))
    if _close_lists(result["losses"], ref["losses"], n):
        return
    if _close_lists(result["losses"], _run(reference, x, y, zero_grad=False, stop=False, **settings)["losses"], n):
        raise Feedback("Your train never calls optimizer.zero_grad(): gradients accumulate across iterations "
                       "(梯度不自动清零), every step uses the sum of all past gradients, and at mean_value=1.7, "
                       "bias=5 such a model does not learn. Call optimizer.zero_grad() every iteration.")
    raise Feedback("At mean_value=1.7, bias=5 your losses differ from the reference's run from the same seed.")


# ----------------------------------------------------------------------------- convergence
def _linear_parameters(module):
    """(weight [1, 2], bias [1]) of the returned model, found by name or else by shape."""
    state = module.state
    if "features.weight" in state and "features.bias" in state:
        return state["features.weight"].to_torch().detach(), state["features.bias"].to_torch().detach()
    weights = [v for v in state.values() if tuple(v.shape) == (1, 2)]
    biases = [v for v in state.values() if tuple(v.shape) == (1,)]
    if len(weights) == 1 and len(biases) == 1:
        return weights[0].to_torch().detach(), biases[0].to_torch().detach()
    raise Feedback('result["model"] should be the trained LR, holding nn.Linear(2, 1).')


@check("convergence", "held_out")
def test_convergence_held_out(student, reference, torch_seed):
    x, y = reference.make_data()
    result = _train_result(student, reference, x, y, _seed=0)
    if result is None:
        return
    if not isinstance(result, dict) or not isinstance(result.get("model"), ModuleValue):
        raise Feedback('train should return the trained model as result["model"].')
    weight, bias = _linear_parameters(result["model"])
    held_x, held_y = reference.make_data(sample_nums=500, seed=torch_seed)
    predictions = ((held_x @ weight.T + bias).squeeze(1) >= 0).float()
    accuracy = (predictions == held_y).float().mean().item()
    if accuracy < HELD_OUT_ACCURACY:
        raise Feedback('result["model"] does not classify new points from the same two clouds well: return the '
                       "model you trained (the same object the optimizer updated), not a fresh or saved copy.")


# ----------------------------------------------------------------------------- experiments
def _own_composition(student, mean_value, bias, seed):
    """("returned", value) of the student's own train(*make_data(mean_value=m, bias=b)), or ("raised", which)."""
    try:
        data = student.call("make_data", mean_value=mean_value, bias=bias, _seed=seed)
    except StudentException:
        return "raised", "make_data"
    args = tuple(data) if isinstance(data, (tuple, list)) else (data,)
    try:
        return "returned", student.call("train", *args)
    except StudentException:
        return "raised", "train"


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


@functools.lru_cache(maxsize=64)
def _reference_experiment(reference, mean_value, bias):
    """What the reference's train(*make_data(mean_value=m, bias=b)) returns, once per process and pair (it draws
    nothing from the caller's random state: make_data and train seed themselves)."""
    with torch.random.fork_rng():
        ref = reference.train(*reference.make_data(mean_value=mean_value, bias=bias))
    return {"iterations": ref["iterations"], "accuracy": ref["accuracy"], "losses": list(ref["losses"]),
            "state": {name: want.detach().double().clone() for name, want in ref["model"].state_dict().items()}}


def _matches_reference(value, reference, mean_value, bias) -> bool:
    """`value` is what the reference's train(*make_data(mean_value=m, bias=b)) returns (iterations, accuracy,
    losses, final parameters)."""
    if not isinstance(value, dict) or not {"model", "iterations", "accuracy", "losses"} <= set(value):
        return False
    ref = _reference_experiment(reference, mean_value, bias)
    accuracy, losses, model = values_of(value["accuracy"]), values_of(value["losses"]), value["model"]
    if value["iterations"] != ref["iterations"] or accuracy is None or len(accuracy) != 1 or losses is None:
        return False
    if abs(accuracy[0] - ref["accuracy"]) > 1e-6 or not _close_lists(losses, ref["losses"]):
        return False
    return isinstance(model, ModuleValue) and all(
        name in model.state and torch.allclose(model.state[name].to_torch().detach().double(), want,
                                               rtol=1e-4, atol=1e-5)
        for name, want in ref["state"].items())


def _experiment_problem(student, reference, mean_value, bias, seed):
    """None when experiment(m, b) returns what train(*make_data(mean_value=m, bias=b)) returns, else a fixed
    message. An exception is never agreement. The result is compared with the reference's run on the same data
    and, only when it differs, with the student's own composition (which then decides only whether a differing
    make_data or train was used consistently): a right experiment costs the kernel one training, not two."""
    try:
        got = student.call("experiment", mean_value, bias, _seed=seed)
    except StudentException as exc:
        if exc.is_a("builtins.NotImplementedError") and "implement experiment" in exc.message:
            return "experiment is not implemented."
        own = _own_composition(student, mean_value, bias, seed)
        if own == ("raised", "train") and not _model_is_right(student, reference):
            note("experiment not judged: train fails with your LR (marked in the model question).")
            return None
        return ("For other values experiment(mean_value, bias) raised an exception: an exception never counts as "
                "the expected result (compared with train(*make_data(mean_value=mean_value, bias=bias))).")
    if _matches_reference(got, reference, mean_value, bias):
        return None
    own = _own_composition(student, mean_value, bias, seed)
    if own[0] == "returned" and _same(got, own[1]):
        return None
    return ("For other values experiment(mean_value, bias) returns neither what your own "
            "train(*make_data(mean_value=mean_value, bias=bias)) returns nor what the reference's does: pass both "
            "values on to make_data by keyword and train with train's defaults.")


@check("experiments", "other_pairs")
def test_experiments_other_pairs(student, reference, rng, torch_seed):
    pairs = [rng.choice(OTHER_PAIRS)]
    while len(pairs) < 2:
        mean_value, bias = round(rng.uniform(1.0, 4.0), 1), round(rng.uniform(-4.0, 4.0), 1)
        if abs(mean_value - bias) > 0.5 and (mean_value, bias) != (1.7, 1.0):
            pairs.append((mean_value, bias))
    for mean_value, bias in pairs:
        problem = _experiment_problem(student, reference, mean_value, bias, seed=torch_seed)
        if problem:
            raise Feedback(problem)
