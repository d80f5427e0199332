# Quiet plots: SOURCE TEXT executed once in a grading kernel, right after the agent and before the
# student's first cell (never in `grader.check` inside Jupyter: there a person watches the plots).
#
# Nobody watches a grading kernel draw. The lesson's training loop plots every 20 steps with
# `plt.show()` and `plt.pause(0.5)`, and on the inline backend `pause` is a real half-second sleep;
# the checks call `train` many times. So, in this kernel only:
# - `matplotlib.pyplot.pause` never sleeps: at top level it shows the active figure, as `show` would;
# - while the grader's call into the student's code runs (a cell that is exactly an agent request),
#   `show` and `pause` empty the active figure undrawn (its next plot reuses its axes) and drop the
#   others, and the end of that cell drops them all;
# - top-level cells still display their figures (the student's plots in the feedback), up to
#   FIGURES_PER_CELL a cell; the rest are dropped undrawn (the active figure emptied and reused, as in a
#   call) and the cell says how many.
# pyplot is patched as it is imported (an import hook), so `from matplotlib.pyplot import pause`
# gets the quiet one too. Stdlib only; nothing here is trusted by the grader.
#
# No module docstring: this text runs in the user namespace, where it would overwrite __doc__.


def __grader_quiet_plots__():
    import sys

    shell = get_ipython()  # noqa: F821 - provided by IPython in the user namespace
    agent_call = "__grader_agent__.handle("
    figures_per_cell = 4  # enough to show a loop's plots in the feedback; each costs ~0.1 s to draw
    state = {"calling": False, "drawn": 0, "dropped": 0}

    def open_figures():
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        return 0 if helpers is None else len(helpers.Gcf.figs)

    def plotted_figures():
        """Open figures with something plotted (the emptied, reused one counts once it is plotted on again)."""
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        if helpers is None:
            return 0
        return sum(1 for manager in helpers.Gcf.figs.values()
                   if any(axes.has_data() for axes in manager.canvas.figure.axes))

    def drop_figures():
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        if helpers is not None:
            helpers.Gcf.figs.clear()  # undrawn, and without close()'s gc.collect (slow with torch loaded)

    def reuse_active_figure():
        """During a call: keep the active figure with its axes, emptied, and drop the others. A training loop
        that plots every few steps then draws on the same axes again instead of building a figure and its
        axes each time (most of the cost of `plt.scatter` on a fresh figure); nothing is ever drawn."""
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        if helpers is None:
            return
        active = helpers.Gcf.get_active()
        helpers.Gcf.figs.clear()
        if active is None:
            return
        try:
            for axes in active.canvas.figure.axes:
                for artist in (*axes.collections, *axes.lines, *axes.texts, *axes.patches, *axes.images):
                    artist.remove()
                if axes.legend_ is not None:
                    axes.legend_.remove()
        except Exception:  # a figure the student changed beyond recognition: build a new one next time
            return
        helpers.Gcf.figs[active.num] = active

    def over_budget(reuse=True):
        """True (and the open figures dropped, counted) once this cell has drawn its share. `reuse`: keep the
        active figure, emptied, for the next plot (a loop plotting on, as in `show`/`pause`), rather than
        building a new figure and its axes each time for nothing."""
        if state["calling"]:
            reuse_active_figure()
            return True
        if state["drawn"] >= figures_per_cell:
            state["dropped"] += plotted_figures()
            if reuse:
                reuse_active_figure()
            else:
                drop_figures()
            return True
        state["drawn"] += open_figures()
        return False

    def patch(pyplot):
        if getattr(pyplot, "__grader_quiet__", False):
            return
        loud_show = pyplot.show

        def show(*args, **kwargs):
            if over_budget():
                return None
            return loud_show(*args, **kwargs)

        def pause(interval):
            if pyplot.get_fignums() and not over_budget():
                loud_show(block=False)

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

    def before_cell(info=None):
        state["calling"] = (getattr(info, "raw_cell", "") or "").startswith(agent_call)
        state["drawn"] = state["dropped"] = 0

    def after_execute():
        # Registered before the inline backend's own post_execute hook, so figures left open past the
        # budget (or by a call) are dropped before that hook would draw them.
        if state["calling"]:
            drop_figures()
        elif open_figures():
            over_budget(reuse=False)
        if state["dropped"] and not state["calling"]:
            sys.stderr.write("[grader: %d more figure(s) of this cell were not drawn; grading draws at most "
                             "%d per cell]\n" % (state["dropped"], figures_per_cell))
        state["calling"] = False
        state["drawn"] = state["dropped"] = 0

    if "matplotlib.pyplot" in sys.modules:
        patch(sys.modules["matplotlib.pyplot"])
    else:
        sys.meta_path.insert(0, PatchPyplotOnImport())
    shell.events.register("pre_run_cell", before_cell)
    shell.events.register("post_execute", after_execute)


__grader_quiet_plots__()
del __grader_quiet_plots__
