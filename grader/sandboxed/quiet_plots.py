# Quiet plots: SOURCE TEXT executed once in a grading kernel, right after the agent and before the
# student's first cell (never in `grader.check` inside Jupyter: there a person watches the plots).
#
# Nobody watches a grading kernel draw. The lesson's training loop plots every 20 steps with
# `plt.show()` and `plt.pause(0.5)`, and on the inline backend `pause` is a real half-second sleep;
# the checks call `train` many times. So, in this kernel only:
# - `matplotlib.pyplot.pause` never sleeps: at top level it shows the plotted figures, as `show` would;
# - while the grader's call into the student's code runs (a cell that is exactly an agent request),
#   `show` and `pause` empty the active figure undrawn (its next plot reuses its axes) and drop the
#   others, and the end of that cell drops them all;
# - top-level cells still display their figures (the student's plots in the feedback), up to
#   FIGURES_PER_CELL a cell (each costs ~0.1 s to draw), but not a loop's frames: a line of code that
#   shows more than FIGURES_PER_LINE figures in one run of its function (the lesson's loop inside
#   `train` shows 50) is a loop, and so is that line from then on, in every cell (a run of `train`
#   that stops after one frame). A cell draws a loop's frame only when it shows nothing else: its
#   last. So a figure shown waits, undrawn, until another run shows one or the cell ends, and a
#   third from its line drops it. Frames not drawn are emptied and reused for the next plot, as in a
#   call (a plain one-axes figure the student's code does not hold), and the cell says how many figures
#   were not drawn.
# pyplot is patched as it is imported (an import hook), so `from matplotlib.pyplot import pause`
# gets the quiet one too. Stdlib only; nothing here is trusted by the grader.
#
# No module docstring: this text runs in the user namespace, where it would overwrite __doc__.


def __grader_quiet_plots__():
    import itertools
    import sys

    shell = get_ipython()  # noqa: F821 - provided by IPython in the user namespace
    agent_call = "__grader_agent__.handle("
    figures_per_cell = 8  # five show_experiment calls in one cell: all five drawn
    figures_per_line = 2  # show_experiment in a loop over settings: each run shows one, all drawn
    state = {"calling": False, "drawn": 0, "dropped": 0, "run": None, "shown": {}, "waiting": [],
             "last_frame": None, "reused": None, "loud_show": None}
    frame_lines = set()  # (code, line) that showed a loop's frames: its figures are frames from then on

    def gcf_registry():
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        return None if helpers is None else helpers.Gcf

    def plotted(manager):
        try:
            return any(axes.has_data() for axes in manager.canvas.figure.axes)
        except Exception:  # a figure the student changed beyond recognition counts as plotted
            return True

    def open_figures():
        gcf = gcf_registry()
        return [] if gcf is None else list(gcf.figs.values())

    def plotted_figures():
        """Open figures with something plotted (the emptied, reused one counts once it is plotted on again)."""
        return [manager for manager in open_figures() if plotted(manager)]

    def drop_figures():
        gcf = gcf_registry()
        if gcf is not None:
            gcf.figs.clear()  # undrawn, and without close()'s gc.collect (slow with torch loaded)
        state["reused"] = None

    def drop_reused_if_empty():
        """The figure emptied for reuse is not the student's to show until something is plotted on it again."""
        gcf, reused = gcf_registry(), state["reused"]
        if gcf is not None and reused is not None and not plotted(reused):
            gcf.figs.pop(reused.num, None)
        state["reused"] = None

    def emptied(manager):
        """`manager`'s figure with its axes kept and everything plotted on them removed, as a new figure's would be
        (no title, labels or limits of the plots before); None if it is not a plain figure of one plain axes (a
        colorbar is an axes of its own, `plt.subplot(2, 1, 1)` is not where a new figure's plot goes), or the
        student changed it beyond recognition: a new one is built next time."""
        try:
            figure = manager.canvas.figure
            if (len(figure.axes) != 1 or figure.texts or figure.legends or figure.images or figure.lines
                    or figure.patches or getattr(figure, "subfigs", None)):
                return None
            axes = figure.axes[0]
            spec = axes.get_subplotspec()
            if (axes.name != "rectilinear" or spec is None or spec.get_geometry() != (1, 1, 0, 0)
                    or axes.get_xscale() != "linear" or axes.get_yscale() != "linear"
                    or axes.get_aspect() != "auto" or axes.child_axes):
                return None
            for axis in (axes.xaxis, axes.yaxis):  # `plt.xticks(...)`: the ticks of the plots before
                if (type(axis.get_major_locator()).__name__ != "AutoLocator"
                        or type(axis.get_major_formatter()).__name__ != "ScalarFormatter"):
                    return None
            for artist in (*axes.collections, *axes.lines, *axes.texts, *axes.patches, *axes.images,
                           *axes.artists, *axes.tables):
                artist.remove()
            if axes.legend_ is not None:
                axes.legend_.remove()
            axes.containers.clear()
            for title in (axes.title, axes._left_title, axes._right_title):
                title.set_text("")
            axes.set_xlabel("")
            axes.set_ylabel("")
            axes.relim()  # no data: the next plot's limits are its own
            axes.set_autoscale_on(True)
            if axes.xaxis_inverted():
                axes.invert_xaxis()
            if axes.yaxis_inverted():
                axes.invert_yaxis()
        except Exception:
            return None
        return manager

    def held(manager, caller):
        """Whether the student's code running holds `manager`'s figure or one of its axes (`fig, ax = plt.subplots()`
        in a function that shows, then returns `fig`; a loop's frames appended to a list), in the locals of the
        frames from `caller` up or the user namespace: emptied, it would not be what the student plotted."""
        try:
            mine = {id(manager.canvas.figure), *(id(axes) for axes in manager.canvas.figure.axes)}
        except Exception:
            return True

        def holds(values):  # the values, and the ends of the lists, tuples and dicts among them (`figs.append(fig)`)
            for value in values:
                if id(value) in mine:
                    return True
                kind = type(value)
                if kind is dict:
                    ends = (*itertools.islice(value.values(), 32), *itertools.islice(reversed(value.values()), 32))
                elif kind is list or kind is tuple:
                    ends = (*value[:32], *value[-32:])
                else:
                    continue
                if any(id(item) in mine for item in ends):
                    return True
            return False

        frame = caller
        while frame is not None:
            if holds(frame.f_locals.values()):
                return True
            frame = frame.f_back
        return holds(caller.f_globals.values())

    def reuse(manager, caller):
        """Drop the open figures and make `manager`'s, emptied, the active one: a training loop that plots every few
        steps then draws on the same axes again instead of building a figure and its axes each time (most of the
        cost of `plt.scatter` on a fresh figure). None, or a figure the student's code from `caller` up holds: the
        next plot builds a new figure."""
        gcf = gcf_registry()
        if gcf is None:
            return
        gcf.figs.clear()
        state["reused"] = None if manager is None or held(manager, caller) else emptied(manager)
        if state["reused"] is not None:
            gcf.figs[manager.num] = manager

    def reuse_active_figure(caller):
        gcf = gcf_registry()
        reuse(None if gcf is None else gcf.get_active(), caller)

    def draw(managers, args=(), kwargs=None):
        """Show exactly `managers` (the inline backend shows every open figure), leaving the others open."""
        gcf = gcf_registry()
        others = {num: manager for num, manager in gcf.figs.items() if manager not in managers}
        gcf.figs.clear()
        for key, manager in enumerate(managers):  # figures waiting were detached: their numbers may be taken
            gcf.figs[-1 - key] = manager
        state["drawn"] += len(managers)
        try:
            return state["loud_show"](*args, **(kwargs or {}))
        finally:
            gcf.figs.clear()
            gcf.figs.update(others)

    def loop_frame(caller, line, figures):
        """A loop's frame, not drawn: kept as the cell's latest (drawn if the cell shows nothing else), while the
        loop's frame before it is emptied and reused for the next plot."""
        state["dropped"] += len(figures)
        latest = gcf_registry().get_active()
        kept = state["last_frame"]
        state["last_frame"] = None if latest is None else (line, latest)
        reuse(kept[1] if kept is not None and kept[0] == line else None, caller)
        return None

    def draw_waiting():
        """Draw the figures waiting, in the order they were shown, within the cell's share; the rest are not."""
        figures = [manager for _, managers in state["waiting"] for manager in managers]
        state["waiting"] = []
        room = max(figures_per_cell - state["drawn"], 0)
        state["dropped"] += max(len(figures) - room, 0)
        if figures[:room]:
            draw(figures[:room])

    def show_at_top_level(caller, args, kwargs):
        """`caller`: the frame that shows; a loop's frames come from one line of one run of a function. Only that
        run's frame is held (until another shows, or the cell ends), so no other run's locals are kept alive."""
        drop_reused_if_empty()
        figures = plotted_figures()
        if not figures:  # only empty figures the student made, or none: as usual
            return state["loud_show"](*args, **kwargs) if open_figures() else None
        if caller is not state["run"]:  # another run shows: what the last one showed is drawn now
            draw_waiting()
            state["run"], state["shown"] = caller, {}
        line = (caller.f_code, caller.f_lineno)
        shown = state["shown"][line] = state["shown"].get(line, 0) + 1
        if shown > figures_per_line or line in frame_lines:  # a loop's frames: not drawn
            frame_lines.add(line)
            frames = [manager for waiting, managers in state["waiting"] if waiting == line for manager in managers]
            state["waiting"] = [(waiting, managers) for waiting, managers in state["waiting"] if waiting != line]
            state["dropped"] += len(frames)
            if frames:  # the frame before this one is emptied and reused for the next
                state["last_frame"] = (line, frames[-1])
            return loop_frame(caller, line, figures)
        gcf = gcf_registry()
        for manager in figures:  # the next plot builds a new figure; this one waits undrawn
            gcf.figs.pop(manager.num, None)
        state["waiting"].append((line, figures))
        return None

    def patch(pyplot):
        if getattr(pyplot, "__grader_quiet__", False):
            return
        loud_show = state["loud_show"] = pyplot.show

        def show(*args, **kwargs):
            if state["calling"]:
                reuse_active_figure(sys._getframe(1))
                return None
            return show_at_top_level(sys._getframe(1), args, kwargs)

        def pause(interval):
            if state["calling"]:
                if plotted_figures():
                    reuse_active_figure(sys._getframe(1))
                return
            if plotted_figures():
                show_at_top_level(sys._getframe(1), (), {"block": False})

        show.__doc__, pause.__doc__ = loud_show.__doc__, pyplot.pause.__doc__
        pyplot.show, pyplot.pause = show, pause
        pyplot.__grader_quiet__ = True

    class PatchPyplotOnImport:
        def find_spec(self, name, path=None, target=None):
            if name != "matplotlib.pyplot":
                return None
            import importlib.machinery

            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
                return spec
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                patch(module)

            spec.loader.exec_module = exec_module
            return spec

    def new_cell():
        """Forget the last cell's figures and the run it held."""
        state.update(drawn=0, dropped=0, run=None, shown={}, waiting=[], last_frame=None)

    def before_cell(info=None):
        state["calling"] = (getattr(info, "raw_cell", "") or "").startswith(agent_call)
        new_cell()

    def after_execute():
        # Registered before the inline backend's own post_execute hook, which draws the figures still open:
        # past the cell's share they are dropped first, and the ones waiting are drawn here, before them.
        if state["calling"]:
            drop_figures()
        else:
            drop_reused_if_empty()
            draw_waiting()
            figures = open_figures()
            room = max(figures_per_cell - state["drawn"], 0)
            if len(figures) > room:
                gcf = gcf_registry()
                state["dropped"] += sum(1 for manager in figures[room:] if plotted(manager))
                for manager in figures[room:]:
                    gcf.figs.pop(manager.num, None)
            state["drawn"] += min(len(figures), room)
            if not state["drawn"] and state["last_frame"] is not None:  # the cell only showed a loop's frames
                state["dropped"] -= 1
                draw([state["last_frame"][1]])
            if state["dropped"]:
                sys.stderr.write("[grader: %d figure(s) of this cell were not drawn; grading draws at most %d per "
                                 "cell, and of a loop's frames (a line showing more than %d figures in one run "
                                 "of its function) only the last, when the cell shows nothing else]\n"
                                 % (state["dropped"], figures_per_cell, figures_per_line))
        state["calling"] = False
        new_cell()

    if "matplotlib.pyplot" in sys.modules:
        patch(sys.modules["matplotlib.pyplot"])
    else:
        sys.meta_path.insert(0, PatchPyplotOnImport())
    shell.events.register("pre_run_cell", before_cell)
    shell.events.register("post_execute", after_execute)


__grader_quiet_plots__()
del __grader_quiet_plots__
