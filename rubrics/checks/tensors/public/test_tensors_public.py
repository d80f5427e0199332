"""Public checks for 03_tensors: the lesson's own data and a table the exercise prints.

They ship to students (`grade export student`), so they use no `reference`: the expected cloud is the lesson's
script (step 1 of the logistic-regression lesson, x0 before the bias) run here under torch.manual_seed(10).
"""

from __future__ import annotations

import torch

from grader.checks import Feedback, StudentException, check, describe, expect_tensor
from grader.codec import TensorValue


def _lesson_cloud(n=100, mean_value=1.7, std=1.0, seed=10):
    # The same draws as the lesson's torch.normal(mean_value * torch.ones(n, 2), std), written another way:
    # this file ships to students and must not hold the solution's own code.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return mean_value + std * torch.randn(n, 2)


@check("normal_cloud", "lesson_data")
def test_normal_cloud_lesson_data(student):
    cloud = student.call("normal_cloud", 100, 1.7, 1.0, 10)
    if isinstance(cloud, TensorValue) and tuple(cloud.shape) == (100, 2) and cloud.dtype == "float32":
        got = cloud.to_torch()
        if not torch.allclose(got, _lesson_cloud(), atol=1e-5) and abs(float(got.mean()) - 1.7) < 0.3:
            raise Feedback("normal_cloud(100, 1.7, 1.0, 10) has the right shape and centre but not the lesson's "
                           "numbers: call torch.manual_seed(seed) right before drawing, so the same seed gives the "
                           "same points.",
                           zh="normal_cloud(100, 1.7, 1.0, 10) 的形状和中心都对，但数值与课上不同：在采样之前调用 "
                              "torch.manual_seed(seed)，同一个种子才会得到相同的点。")
    expect_tensor(cloud, _lesson_cloud(), what="normal_cloud(100, 1.7, 1.0, 10) (the lesson's x0 before the bias)")


@check("broadcast_add", "lesson_value")
def test_broadcast_add_lesson_value(student):
    call = "broadcast_add([0., 10., 20.], [1., 2.])"
    try:
        table = student.call("broadcast_add", [0.0, 10.0, 20.0], [1.0, 2.0])
    except StudentException as exc:
        if exc.is_a("builtins.NotImplementedError"):
            raise
        raise Feedback(f"{call} raised {exc.type_name}: shapes [3] and [2] do not broadcast. Make the column a "
                       "[3, 1] tensor (view(-1, 1) or unsqueeze(1)); [3, 1] + [2] broadcasts to [3, 2].") from None
    if isinstance(table, TensorValue) and tuple(table.shape) == (2, 3):
        raise Feedback(f"{call} returned a [2, 3] tensor, the transpose: the column runs down the rows, so "
                       "entry [i, j] is column[i] + row[j] and the shape is [len(column), len(row)] = [3, 2].",
                       zh=f"{call} 返回了形状为 [2, 3] 的张量，即转置：列沿行方向排列，第 [i, j] 项为 "
                          "column[i] + row[j]，形状为 [len(column), len(row)] = [3, 2]。")
    if not isinstance(table, TensorValue):
        raise Feedback(f"{call} should return a tensor, but returned {describe(table)}.")
    expect_tensor(table, [[1.0, 2.0], [11.0, 12.0], [21.0, 22.0]], what=call)
