"""The trusted side's background imports (grader/warm_up.py): one thread, in order; waiting is per module."""

from __future__ import annotations

import sys
import time

from grader import warm_up


def test_waiting_for_a_module_does_not_wait_for_the_ones_after_it(tmp_path, monkeypatch):
    (tmp_path / "warm_quick_module.py").write_text("VALUE = 1\n")
    (tmp_path / "warm_slow_module.py").write_text("import time\ntime.sleep(1.5)\nVALUE = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(warm_up, "_imported", {})
    started = time.monotonic()
    warm_up.start(["warm_quick_module", "warm_slow_module"])
    warm_up.wait(["warm_quick_module"])
    assert time.monotonic() - started < 1.0 and "warm_quick_module" in sys.modules
    warm_up.wait(["warm_slow_module"])
    assert sys.modules["warm_slow_module"].VALUE == 2
    warm_up.start(["warm_slow_module"])  # imported: nothing to do, nothing to wait for
    warm_up.wait(["warm_slow_module", "never_started_module"])


def test_a_module_that_fails_to_import_is_not_waited_for_forever(monkeypatch):
    monkeypatch.setattr(warm_up, "_imported", {})
    warm_up.start(["a_module_that_does_not_exist_anywhere", "json"])
    warm_up.wait(["a_module_that_does_not_exist_anywhere", "json"])  # returns: the checks report the failure


def test_only_exercises_that_train_import_torch_dynamo(course):
    assert warm_up.modules_for(course, ["autograd"]) == ["torch"]
    assert warm_up.modules_for(course, ["logistic_regression"]) == ["torch", "torch._dynamo"]
