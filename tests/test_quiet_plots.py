"""In a grading kernel, plt.pause never sleeps and the grader's calls draw no figures; top-level plots stay."""

from __future__ import annotations

import pytest

from grader.kernel import KernelSession
from grader.sandbox import Limits
from grader.session import StudentSession

from conftest import notebook

pytestmark = pytest.mark.slow

LIMITS = Limits(cell_timeout=30, notebook_timeout=120, call_timeout=30, memory_bytes=4 * 1024**3)

# Counts what a real run would cost: every figure drawn to pixels and every half-second sleep.
SPY = """
import time, matplotlib
from matplotlib.backends import backend_agg
spent = {"draws": 0, "sleeps": 0}
_draw, _sleep = backend_agg.FigureCanvasAgg.draw, time.sleep
def _counting_draw(self, *a, **k):
    spent["draws"] += 1
    return _draw(self, *a, **k)
def _counting_sleep(seconds):
    if seconds >= 0.5:  # plt.pause's; the kernel's own machinery sleeps briefly now and then
        spent["sleeps"] += 1
    return _sleep(seconds)
backend_agg.FigureCanvasAgg.draw = _counting_draw
time.sleep = _counting_sleep
"""

# The lesson's training loop: a scatter plot every 20 steps, plt.show() and plt.pause(0.5).
TRAIN = """
import matplotlib.pyplot as plt
from matplotlib.pyplot import pause
def train(steps):
    for step in range(steps):
        if step % 20 == 0:
            plt.scatter([0, 1, 2], [step, 1, 0])
            plt.show()
            plt.pause(0.5)
            pause(0.5)
    return steps
def spent_now():
    return dict(spent)
"""


def images(cell) -> int:
    return sum(1 for out in cell.get("outputs", []) if "image/png" in out.get("data", {}))


def test_pause_never_sleeps_calls_draw_nothing_and_top_level_plots_remain(isolation):
    nb = notebook(SPY, TRAIN, "train(41)\nafter_top_level = dict(spent)")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        student = StudentSession(session, executed)
        assert images(executed.cells[2]) == 3, "each plt.show() of a top-level cell still shows its figure"
        top = student.variable("after_top_level")
        assert top["sleeps"] == 0, "plt.pause slept in the grading kernel"
        assert top["draws"] >= 3
        assert student.call("train", 100) == 100
        after_call = student.call("spent_now")
        assert after_call == top, "a call into the student's code drew figures or slept"


def test_figures_a_call_leaves_open_are_dropped_not_drawn(isolation):
    nb = notebook(SPY, "import matplotlib.pyplot as plt\ndef leave_open():\n    plt.plot([1, 2, 3])\n    return 1\n"
                  "def spent_now():\n    return dict(spent)")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        student = StudentSession(session, executed)
        before = student.call("spent_now")
        assert student.call("leave_open") == 1
        assert student.call("spent_now") == before


def test_a_cell_draws_at_most_its_share_of_figures_and_says_how_many_were_not_drawn(isolation):
    nb = notebook(SPY, TRAIN, "train(400)", "train(41)")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert images(executed.cells[2]) == 4
        notes = [out.get("text", "") for out in executed.cells[2].outputs if out.get("name") == "stderr"]
        assert any("16 more figure(s) of this cell were not drawn" in text for text in notes), notes
        assert images(executed.cells[3]) == 3, "the next cell has its own share"
        # The inline backend draws a figure twice (tight bounding box, then pixels); 23 drawn would be 46.
        assert StudentSession(session, executed).variable("spent")["draws"] <= 2 * 7


FIGURES = """
import matplotlib.figure
made = {"figures": 0}
_init = matplotlib.figure.Figure.__init__
def _counting_init(self, *a, **k):
    made["figures"] += 1
    return _init(self, *a, **k)
matplotlib.figure.Figure.__init__ = _counting_init
def figures_made():
    return made["figures"]
def plot_with_subplots(steps):
    total = 0
    for step in range(steps):
        fig, ax = plt.subplots()
        line, = ax.plot([0, step])
        total += len(line.get_xdata())
        plt.show()
    return total
"""


def test_a_call_plotting_every_few_steps_reuses_one_figure_and_leaves_none_open(isolation):
    """Building a figure and its axes was most of what the lesson's loop cost during the checks' calls."""
    nb = notebook(SPY, TRAIN, FIGURES)
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        student = StudentSession(session, executed)
        before = student.call("figures_made")
        assert student.call("train", 200) == 200  # ten plots on plt's current figure
        assert student.call("figures_made") - before == 1
        assert student.call("train", 200) == 200
        assert student.call("figures_made") - before == 2, "each call starts afresh: the end of a call drops it"
        assert student.call("plot_with_subplots", 5) == 10, "a figure per step still works as it does anywhere"
        spent = student.call("spent_now")
        assert spent["draws"] == 0 and spent["sleeps"] == 0


def test_past_its_share_a_top_level_cell_plots_on_one_reused_figure(isolation):
    """The lesson's loop at top level: 20 plots, 4 drawn; the other 16 reuse one emptied figure undrawn."""
    nb = notebook(SPY, TRAIN, FIGURES, "before = figures_made()\ntrain(400)\nmade = figures_made() - before")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert images(executed.cells[3]) == 4
        notes = [out.get("text", "") for out in executed.cells[3].outputs if out.get("name") == "stderr"]
        assert any("16 more figure(s) of this cell were not drawn" in text for text in notes), notes
        assert StudentSession(session, executed).variable("made") == 5, "4 drawn, then one reused for the rest"
