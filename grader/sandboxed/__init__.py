"""Code that runs OUTSIDE the trusted process: read here as source text, never imported by the grader.

Every file in this folder is executed by a process the grader does not trust, or inside a student's sandbox:

- `launcher.py`: the first program of every sandbox (`python -I -c <source>`): resource limits, drop to the
  sandbox uid, then exec the kernel (or hold the sandbox for a warm kernel).
- `kernel_factory.py`: the warm-start program (`python -E -s -c <source> <launcher source>`): imports torch
  and ipykernel once, then forks each kernel into a sandbox's holder (see grader/warm.py).
- `kernel_agent.py`: executed inside the student's kernel (and, for `grader.check` in Jupyter, in a private
  namespace of the student's own process): resolves calls and encodes their results as JSON.
- `quiet_plots.py`: executed inside a grading kernel only, after the agent: `plt.pause` never sleeps, and
  figures drawn while the grader calls the student's functions are dropped undrawn.

They use only the standard library (torch and numpy are looked up lazily by the agent, and preloaded by the
factory), because nothing of the grader is importable where they run. Nothing they send back is trusted:
grader/codec.py validates every answer. `source(name)` is the one way the trusted side loads them.
"""

from __future__ import annotations

import functools
from pathlib import Path

PROGRAMS = ("launcher", "kernel_factory", "kernel_agent", "quiet_plots")


def path(name: str) -> Path:
    """The file of the sandbox-side program `name` (one of `PROGRAMS`)."""
    if name not in PROGRAMS:
        raise ValueError(f"no sandbox-side program {name!r}; there are {', '.join(PROGRAMS)}")
    return Path(__file__).resolve().with_name(f"{name}.py")


@functools.cache
def source(name: str) -> str:
    """The source text of the sandbox-side program `name`, read once per process."""
    return path(name).read_text(encoding="utf-8")


def kernel_prelude() -> str:
    """What a grading kernel runs before the student's first cell: the agent, then the quiet plots."""
    return source("kernel_agent") + "\n\n" + source("quiet_plots")
