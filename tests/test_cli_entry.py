"""The `grade` console script (`grader.cli.entry`): main's exit codes and output, without Python's teardown."""

from __future__ import annotations

import subprocess
import sys

from grader.errors import EXIT_USAGE


def grade(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_exit_codes_and_messages_survive_the_fast_exit(tmp_path):
    typo = grade("verfiy", cwd=tmp_path)
    assert typo.returncode == EXIT_USAGE
    assert "did you mean" in typo.stderr and "verify`?" in typo.stderr
    version = grade("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("grade, version")


def test_output_is_flushed_when_it_goes_to_a_pipe(tmp_path):
    """Everything printed reaches a pipe that is not a terminal, although the process ends with os._exit."""
    done = grade("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "Usage:" in done.stdout and done.stdout.rstrip().splitlines()[-1].strip()


def test_a_reader_that_stops_early_does_not_turn_into_an_error(tmp_path):
    with subprocess.Popen([sys.executable, "-m", "grader.cli", "--help"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=tmp_path) as process:
        assert process.stdout is not None
        process.stdout.close()  # as `grade --help | head -0` would
        _, stderr = process.communicate(timeout=120)
    assert b"Traceback" not in stderr
