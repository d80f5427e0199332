"""Loading submitted files: every way a file can fail to be a notebook gets a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from grader.errors import NotebookError
from grader.notebook import exercise_id_of, load_notebook

from conftest import notebook

KNOWN = {"autograd": "01_autograd.ipynb", "logistic_regression": "02_logistic_regression.ipynb"}


def write(tmp_path: Path, content: bytes | str, name: str = "nb.ipynb") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"{not json", "not valid JSON (line 1, column 2"),
        (b"[1, 2, 3]", "JSON list where a notebook object was expected"),
        (b'"just a string"', "JSON str where a notebook object was expected"),
        (b'{"cells": []}', "no integer 'nbformat' field"),
        (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "'cells' is missing"),
        (b'{"nbformat": 5, "nbformat_minor": 0, "cells": [], "metadata": {}}', "unsupported nbformat 5"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not UTF-8 text"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                     "cells": [{"cell_type": "weird", "source": "", "metadata": {}}]}).encode(), "not a valid notebook"),
    ],
)
def test_unreadable_files_say_what_is_wrong(tmp_path, content, message):
    with pytest.raises(NotebookError) as info:
        load_notebook(write(tmp_path, content))
    assert message in str(info.value)
    assert "nb.ipynb" in str(info.value)


def test_too_large_file_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, b" " * 2048)
    with pytest.raises(NotebookError, match="over the 0 MiB limit"):
        load_notebook(path, max_bytes=1024)


def test_source_as_list_and_missing_outputs_are_repaired(tmp_path):
    nb = {"nbformat": 4, "nbformat_minor": 4, "metadata": {},
          "cells": [{"cell_type": "code", "source": ["x = 1\n", "y = 2"], "metadata": {}}]}
    loaded = load_notebook(write(tmp_path, json.dumps(nb)))
    assert loaded.cells[0].source == "x = 1\ny = 2"
    assert loaded.cells[0].outputs == []


def test_nbformat_3_is_upgraded(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
          "worksheets": [{"cells": [{"cell_type": "code", "input": "a = 1", "language": "python",
                                      "outputs": [], "metadata": {}}], "metadata": {}}]}
    loaded = load_notebook(write(tmp_path, json.dumps(v3)))
    assert loaded.nbformat == 4
    assert loaded.cells[0].source == "a = 1"


def test_exercise_comes_from_metadata_then_file_name():
    tagged = notebook("x = 1", exercise="logistic_regression")
    assert exercise_id_of(tagged, "whatever.ipynb", KNOWN) == "logistic_regression"
    plain = notebook("x = 1")
    assert exercise_id_of(plain, "01_autograd.ipynb", KNOWN) == "autograd"
    assert exercise_id_of(plain, "my_autograd_attempt.ipynb", KNOWN) == "autograd"
    assert exercise_id_of(plain, "alice.ipynb", KNOWN) is None
    bogus = notebook("x = 1", exercise="not_a_course_exercise")
    assert exercise_id_of(bogus, "02_logistic_regression.ipynb", KNOWN) == "logistic_regression"


def test_valid_notebook_roundtrips(tmp_path):
    nb = notebook("print('hi')", exercise="autograd")
    path = tmp_path / "ok.ipynb"
    nbformat.write(nb, path)
    assert load_notebook(path).metadata["grader"]["exercise"] == "autograd"
