"""The Gradescope autograder bundle: a zip with `setup.sh`, `run_autograder`, the grader and the whole course.

Gradescope unpacks the zip into /autograder/source, runs `setup.sh` once when it builds the image, then
`run_autograder` on every submission (grader/bundles/autograder.py). The bundle holds everything hidden
(hidden checks, references, the secret): it is for Gradescope only, never for students.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from .. import __version__
from ..course import Course
from ..errors import UsageError
from ..secret import SECRET_ENV, resolve_secret
from .files import MARKER, SOURCE_DIR, grader_source, tree_files, write_bundle

COURSE_DIR = "course"
CONFIG = "bundle.json"
SECRET = "secret"
VENV = "/opt/grader-venv"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
# It installs Python 3.11+, bubblewrap when the image has it, torch=={torch} (CPU build) and the grader.
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip ca-certificates >/dev/null
# The full sandbox; without it the grader still runs (limits only) and says so in every report.
apt-get install -y -qq bubblewrap >/dev/null || echo "setup.sh: bubblewrap not installed; grading without it"

PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y -qq software-properties-common >/dev/null
    apt-get install -y -qq python3.11 python3.11-venv >/dev/null || {{
        add-apt-repository -y ppa:deadsnakes/ppa >/dev/null && apt-get update -qq &&
        apt-get install -y -qq python3.11 python3.11-venv >/dev/null; }}
    PYTHON=python3.11
fi

"$PYTHON" -m venv {venv}
{venv}/bin/python -m pip install --quiet --upgrade pip
{venv}/bin/python -m pip install --quiet torch=={torch} --index-url https://download.pytorch.org/whl/cpu
{venv}/bin/python -m pip install --quiet "$SOURCE/{source}" torch=={torch} \\
    --extra-index-url https://download.pytorch.org/whl/cpu
{venv}/bin/python -c 'import grader, torch; print("grader", grader.__version__, "torch", torch.__version__)'
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade $ROOT/submission, write $ROOT/results/results.json.
# $GRADER_AUTOGRADER_ROOT (default /autograder) and $GRADER_PYTHON (default the venv setup.sh made) are
# for running it elsewhere, e.g. in a test.
set -uo pipefail
export GRADER_AUTOGRADER_ROOT="${{GRADER_AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{GRADER_PYTHON:-{venv}/bin/python}}"
RESULTS="$GRADER_AUTOGRADER_ROOT/results/results.json"
rm -f "$RESULTS"
"$PYTHON" -m grader.bundles.autograder
status=$?
if [ ! -s "$RESULTS" ]; then  # the grader could not even start: still give Gradescope a result
    mkdir -p "$(dirname "$RESULTS")"
    printf '{{"score": 0, "output": "The autograder could not start (exit status %s); your instructor has been told.", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}}\\n' "$status" > "$RESULTS"
fi
exit 0
"""


def bundle_secret(secret_file: Path | None) -> bytes:
    """The secret as `grade run` takes it (--secret-file, else $GRADER_SECRET), else a new one for this bundle."""
    if secret_file is not None or os.environ.get(SECRET_ENV):
        return resolve_secret(secret_file, Path(os.devnull))[0]
    return secrets.token_hex(32).encode("ascii")


def gradescope_files(course: Course, secret: bytes, *, lang: str = "en", isolation: str = "auto",
                     torch_version: str = "2.13.0") -> dict[str, bytes]:
    """Every file of the Gradescope bundle, by path inside the zip."""
    for folder in ("rubrics", "reference", "exercises"):
        if not (course.root / folder).is_dir():
            raise UsageError(f"{course.root} has no {folder}/; the autograder needs the whole course")
    for exercise in course.rubrics:
        if not course.reference_notebook(exercise).is_file():
            raise UsageError(f"{course.reference_notebook(exercise)} not found; hidden checks need the references")
    files: dict[str, bytes] = {}
    for folder in ("rubrics", "reference", "exercises"):
        files.update(tree_files(course.root / folder, f"{COURSE_DIR}/{folder}"))
    files.update(grader_source())
    files[SECRET] = secret + b"\n"
    files[CONFIG] = json.dumps({"grader": __version__, "lang": lang, "isolation": isolation}, indent=2).encode()
    files["setup.sh"] = SETUP_SH.format(torch=torch_version, venv=VENV, source=SOURCE_DIR).encode("utf-8")
    files["run_autograder"] = RUN_AUTOGRADER.format(venv=VENV).encode("utf-8")
    files[MARKER] = json.dumps({"bundle": "gradescope", "grader": __version__}).encode("utf-8")
    return files


def build_gradescope_bundle(course: Course, out: Path, secret: bytes, *, lang: str = "en",
                            isolation: str = "auto", torch_version: str = "2.13.0") -> Path:
    """Write the Gradescope autograder zip to OUT (which must end in .zip)."""
    if out.suffix.lower() != ".zip":
        raise UsageError(f"{out}: Gradescope takes the autograder as a .zip file; give a name ending in .zip")
    files = gradescope_files(course, secret, lang=lang, isolation=isolation, torch_version=torch_version)
    return write_bundle(files, out, executable=frozenset({"setup.sh", "run_autograder"}),
                        private=frozenset({SECRET}))
