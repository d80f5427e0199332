"""In a grading kernel, plt.pause never sleeps and the grader's calls draw no figures; top-level plots stay, but
not a loop's frames."""

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
    nb = notebook(SPY, TRAIN, "train(21)", "after_top_level = dict(spent)")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        student = StudentSession(session, executed)
        assert images(executed.cells[2]) == 2, "two plt.show() of a top-level cell still show their figures"
        top = student.variable("after_top_level")
        assert top["sleeps"] == 0, "plt.pause slept in the grading kernel"
        assert top["draws"] >= 2
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


def test_a_loops_frames_are_not_drawn_and_the_cell_says_how_many(isolation):
    nb = notebook(SPY, TRAIN, "train(400)", "train(21)", "drawn = spent['draws']")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert images(executed.cells[2]) == 1, "20 plt.show() from one line in one run of train are a loop's " \
                                               "frames: the cell shows nothing else, so its last frame"
        notes = [out.get("text", "") for out in executed.cells[2].outputs if out.get("name") == "stderr"]
        assert any("19 figure(s) of this cell were not drawn" in text for text in notes), notes
        assert images(executed.cells[3]) == 1, "train's line has shown a loop's frames: in the next cell its two " \
                                               "frames are frames too, and the cell shows only the last"
        # The inline backend draws a figure twice (tight bounding box, then pixels); 22 drawn would be 44.
        assert StudentSession(session, executed).variable("drawn") <= 2 * 3


SHOW_RUN = """
def show_run(k):
    train(200)  # ten frames of a loop, not drawn
    plt.figure()
    plt.plot([0, k, 2 * k])
    plt.title(f"run {k}")
    plt.show()
"""


def test_a_function_run_in_a_loop_shows_each_runs_figure_but_not_the_frames_inside(isolation):
    """The lesson's show_experiment, called for several settings in one cell, with the plotting loop in train."""
    nb = notebook(SPY, TRAIN, SHOW_RUN, "for k in range(3):\n    show_run(k)", "for k in range(10):\n    show_run(k)")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert images(executed.cells[3]) == 3, "each run of show_run shows its own figure"
        notes = [out.get("text", "") for out in executed.cells[3].outputs if out.get("name") == "stderr"]
        assert any("30 figure(s) of this cell were not drawn" in text for text in notes), notes
        assert images(executed.cells[4]) == 8, "a cell draws eight figures at most"
        notes = [out.get("text", "") for out in executed.cells[4].outputs if out.get("name") == "stderr"]
        assert any("102 figure(s) of this cell were not drawn" in text for text in notes), notes


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


def test_a_loops_frames_at_top_level_plot_on_two_reused_figures(isolation):
    """The lesson's loop at top level: 20 plots, the last drawn; from the fourth on they take turns on two figures
    (the latest frame kept, the one before it emptied for the next)."""
    nb = notebook(SPY, TRAIN, FIGURES, "before = figures_made()\ntrain(400)\nmade = figures_made() - before")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert images(executed.cells[3]) == 1
        notes = [out.get("text", "") for out in executed.cells[3].outputs if out.get("name") == "stderr"]
        assert any("19 figure(s) of this cell were not drawn" in text for text in notes), notes
        assert StudentSession(session, executed).variable("made") == 3, "two waited, then two of three take turns"


def test_the_frame_drawn_for_a_cell_that_only_shows_a_loop_is_its_last(isolation):
    titles = ("import matplotlib.pyplot as plt\nfrom matplotlib.backends import backend_agg\ntitles = []\n"
              "_draw_titled = backend_agg.FigureCanvasAgg.draw\n"
              "def _titled(self, *a, **k):\n    titles.append(self.figure.axes[0].get_title())\n"
              "    return _draw_titled(self, *a, **k)\n"
              "backend_agg.FigureCanvasAgg.draw = _titled")
    loop = "for step in range(12):\n    plt.plot([0, step])\n    plt.title(f'step {step}')\n    plt.pause(0.1)"
    nb = notebook(titles, loop, "drawn = sorted(set(titles))")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert images(executed.cells[1]) == 1
        assert StudentSession(session, executed).variable("drawn") == ["step 11"]


def test_a_line_once_seen_showing_a_loops_frames_shows_frames_from_then_on(isolation):
    """The lesson's train stops after one frame for mean_value=5: that frame is not drawn once train has looped."""
    show_one = ("def show_one():\n    train(1)  # one frame\n    plt.figure()\n    plt.plot([0, 1])\n"
                "    plt.show()")
    nb = notebook(SPY, TRAIN, show_one, "show_one()", "train(400)", "show_one()")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert images(executed.cells[3]) == 2, "before train has looped, its one frame is a figure like any other"
        assert images(executed.cells[4]) == 1
        assert images(executed.cells[5]) == 1, "train's line has shown a loop's frames: its one frame is not drawn"
        notes = [out.get("text", "") for out in executed.cells[5].outputs if out.get("name") == "stderr"]
        assert any("1 figure(s) of this cell were not drawn" in text for text in notes), notes


# Records what each drawn figure looks like: its axes' titles, labels and y limits.
LOOKS = """
import functools
import matplotlib.pyplot as plt
from matplotlib.backends import backend_agg
looks = []
_print_png = backend_agg.FigureCanvasAgg.print_png
@functools.wraps(_print_png)
def _looking(self, *a, **k):
    looks.append([(ax.get_title(), ax.get_xlabel(), tuple(round(v, 2) for v in ax.get_ylim()), ax.get_yscale())
                  for ax in self.figure.axes])
    return _print_png(self, *a, **k)
backend_agg.FigureCanvasAgg.print_png = _looking
"""


def _looks_of(isolation, *cells) -> tuple:
    """The executed notebook of LOOKS followed by `cells`, and the look of every figure drawn (title, x label, y
    limits and scale of each axes)."""
    nb = notebook(LOOKS, *cells, "drawn = list(looks)")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        return executed, StudentSession(session, executed).variable("drawn")


def test_a_figure_reused_after_a_loops_frames_keeps_nothing_of_them(isolation):
    """After a loop's frames, the student's next plot is drawn as on a new figure: no stale title, label, limits or
    scale of the frames (the emptied figure reused for the next plot is their last but one)."""
    loop = ("for step in range(12):\n    plt.plot([0, 100 * step])\n    plt.title(f'step {step}')\n"
            "    plt.xlabel('step')\n    plt.yscale('symlog')\n    plt.pause(0.1)\n"
            "plt.plot([0, 1])")
    executed, drawn = _looks_of(isolation, loop)
    assert images(executed.cells[1]) == 1
    assert drawn[-1] == [("", "", (-0.05, 1.05), "linear")], drawn


def test_a_figure_reused_after_a_loops_frames_has_a_new_figures_axes_and_ticks(isolation):
    """Frames on two subplots, or with ticks of their own: the student's next plot is on one axes, ticked anew."""
    subplots = ("for step in range(6):\n    plt.subplot(2, 1, 1)\n    plt.plot([0, step])\n    plt.subplot(2, 1, 2)\n"
                "    plt.plot([0, -step])\n    plt.pause(0.1)\nplt.plot([0, 1])")
    ticks = ("for step in range(6):\n    plt.plot([0, step])\n    plt.yticks([0, 5], ['none', 'five'])\n"
             "    plt.pause(0.1)\nplt.plot([0, 1])\nticks = [t.get_text() for t in plt.gca().get_yticklabels()]")
    nb = notebook(LOOKS, subplots, "drawn = list(looks)", ticks)
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert images(executed.cells[1]) == 1 and images(executed.cells[3]) == 1
        student = StudentSession(session, executed)
        assert student.variable("drawn")[-1] == [("", "", (-0.05, 1.05), "linear")], student.variable("drawn")
        assert "five" not in student.variable("ticks")


def test_a_loops_frames_with_a_colorbar_each_are_drawn_with_one(isolation):
    """A colorbar is an axes of its own: a frame plotted on a reused figure must not pile up the frames' before."""
    loop = ("import numpy as np\nfor step in range(6):\n    plt.imshow(np.ones((4, 4)) * step)\n    plt.colorbar()\n"
            "    plt.title(f'step {step}')\n    plt.pause(0.1)")
    executed, drawn = _looks_of(isolation, loop)
    assert images(executed.cells[1]) == 1
    assert len(drawn[-1]) == 2 and drawn[-1][0][0] == "step 5", drawn


def test_a_loops_last_frame_is_scaled_to_its_own_data(isolation):
    """The frame drawn is scaled to what it plots, not to what the emptied figure held before."""
    loop = "for step in range(12):\n    plt.plot([0, 100 - 8 * step])\n    plt.pause(0.1)"
    _, drawn = _looks_of(isolation, loop)
    assert drawn[-1] == [("", "", (-0.6, 12.6), "linear")], drawn


def test_a_figure_the_students_code_holds_is_not_emptied_by_a_calls_show(isolation):
    """A function that shows its figure and returns it: during a call, the figure is still what it plotted."""
    code = ("import matplotlib.pyplot as plt\ndef plot_losses(losses):\n    fig, ax = plt.subplots()\n"
            "    ax.plot(losses)\n    ax.set_title('losses')\n    plt.show()\n    return fig\n"
            "def lines_after_show():\n    fig = plot_losses([3, 2, 1])\n"
            "    return len(fig.axes[0].lines), fig.axes[0].get_title()")
    nb = notebook(SPY, TRAIN, FIGURES, code)
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        student = StudentSession(session, executed)
        assert tuple(student.call("lines_after_show")) == (1, "losses")
        before = student.call("figures_made")
        assert student.call("train", 200) == 200
        assert student.call("figures_made") - before == 1, "a figure nobody holds is still reused"


def test_figures_the_student_keeps_in_a_list_are_not_emptied_for_reuse(isolation):
    """A loop's frames kept in a list (to show one later, or returned) stay what was plotted on them."""
    top = ("figs = []\nfor step in range(5):\n    fig = plt.figure()\n    plt.plot([0, step])\n    figs.append(fig)\n"
           "    plt.show()\nkept = [len(f.axes[0].lines) for f in figs]")
    curves = ("def curves():\n    out = []\n    for step in range(4):\n        plt.plot([0, step])\n"
              "        plt.title(f'step {step}')\n        out.append(plt.gcf())\n        plt.show()\n    return out\n"
              "def titles():\n    return [f.axes[0].get_title() for f in curves()]")
    nb = notebook(LOOKS, top, curves, "top_titles = titles()")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        student = StudentSession(session, executed)
        assert student.variable("kept") == [1, 1, 1, 1, 1]
        expected = ["step 0", "step 1", "step 2", "step 3"]
        assert student.variable("top_titles") == expected
        assert student.call("titles") == expected, "during a call too"
