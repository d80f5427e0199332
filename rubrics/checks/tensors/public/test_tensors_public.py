"""Public checks for 03_tensors: the lesson's own data and a table the exercise prints.

They ship to students (`grade export student`), so they use no `reference`: the expected cloud is the lesson's
script (step 1 of the logistic-regression lesson, x0 before the bias) run here under torch.manual_seed(10).
"""

from __future__ import annotations

import torch

from grader.checks import Feedback, StudentException, authored, check, describe, expect_tensor, received
from grader.codec import TensorValue


def _point(row) -> str:
    return "[" + ", ".join(f"{float(v):.4f}" for v in row) + "]"


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
        lesson = _lesson_cloud()
        if not torch.allclose(got, lesson, atol=1e-5) and abs(float(got.mean()) - 1.7) < 0.3:
            raise Feedback("normal_cloud(100, 1.7, 1.0, 10) has the right shape and centre but not the lesson's "
                           "numbers (its first point should be {want}, but it is {got}): call torch.manual_seed(seed) "
                           "right before drawing, so the same seed gives the same points.",
                           zh="normal_cloud(100, 1.7, 1.0, 10) 的形状和中心都对，但数值与课上不同（第一个点应为 {want}，"
                              "实际是 {got}）：在采样之前调用 torch.manual_seed(seed)，同一个种子才会得到相同的点。",
                           want=_point(lesson[0]), got=_point(got[0]))
    expect_tensor(cloud, _lesson_cloud(), what=authored("normal_cloud(100, 1.7, 1.0, 10) (the lesson's x0 before the bias)",
                                                        "normal_cloud(100, 1.7, 1.0, 10)（课上加偏置之前的 x0）"))


@check("broadcast_add", "lesson_value")
def test_broadcast_add_lesson_value(student):
    call = "broadcast_add([0., 10., 20.], [1., 2.])"
    try:
        table = student.call("broadcast_add", [0.0, 10.0, 20.0], [1.0, 2.0])
    except StudentException as exc:
        if exc.is_a("builtins.NotImplementedError"):
            raise
        raise Feedback("{call} should return a [3, 2] tensor, but it raised {error}: shapes [3] and [2] do not "
                       "broadcast. Make the column a [3, 1] tensor (view(-1, 1) or unsqueeze(1)); [3, 1] + [2] "
                       "broadcasts to [3, 2].",
                       zh="{call} 应返回形状为 [3, 2] 的张量，但抛出了 {error}：形状 [3] 和 [2] 无法广播。请把列变成"
                          "形状为 [3, 1] 的张量（view(-1, 1) 或 unsqueeze(1)）；[3, 1] + [2] 会广播成 [3, 2]。",
                       call=call, error=received(exc.type_name)) from None
    if isinstance(table, TensorValue) and tuple(table.shape) == (2, 3):
        raise Feedback("{call} returned a [2, 3] tensor, the transpose of the expected [3, 2] table: the column "
                       "runs down the rows, so entry [i, j] is column[i] + row[j] and the shape is "
                       "[len(column), len(row)] = [3, 2].",
                       zh="{call} 返回了形状为 [2, 3] 的张量，是应有的 [3, 2] 表格的转置：列沿行方向排列，第 [i, j] 项为 "
                          "column[i] + row[j]，形状为 [len(column), len(row)] = [3, 2]。",
                       call=call)
    if not isinstance(table, TensorValue):
        raise Feedback("{call} should return a tensor (the [3, 2] table), but returned {got}.",
                       zh="{call} 应返回张量（[3, 2] 的表格），但返回了 {got}。",
                       call=call, got=describe(table))
    expect_tensor(table, [[1.0, 2.0], [11.0, 12.0], [21.0, 22.0]], what=call)
