"""Hidden checks for 03_tensors: the same laws on random arguments and shapes.

A student sees only a hidden check's verdict and its rubric hint, so these messages (for the instructor's
report) may name what was drawn.
"""

from __future__ import annotations

import torch

from grader.checks import Feedback, StudentException, check, expect_tensor


def _call(student, name, *args):
    try:
        return student.call(name, *args)
    except StudentException as exc:
        raise Feedback(f"{name}{args} raised {exc.type_name}: {exc.message}") from None


@check("normal_cloud", "random_arguments")
def test_normal_cloud_random_arguments(student, rng):
    for _ in range(3):
        n, mean_value = rng.randint(3, 50), round(rng.uniform(-5, 5), 3)
        std, seed = round(rng.uniform(0.2, 4.0), 3), rng.randint(0, 10_000)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            expected = torch.normal(mean_value * torch.ones(n, 2), std)
        expect_tensor(_call(student, "normal_cloud", n, mean_value, std, seed), expected,
                      what=f"normal_cloud({n}, {mean_value}, {std}, {seed})")


@check("broadcast_add", "random_shapes")
def test_broadcast_add_random_shapes(student, rng):
    for rows, cols in ((rng.randint(2, 6), rng.randint(2, 6)), (4, 4), (1, rng.randint(2, 5))):
        column = [round(rng.uniform(-9, 9), 2) for _ in range(rows)]
        row = [round(rng.uniform(-9, 9), 2) for _ in range(cols)]
        expected = [[c + r for r in row] for c in column]
        expect_tensor(_call(student, "broadcast_add", column, row), expected,
                      what=f"broadcast_add({column}, {row})")
