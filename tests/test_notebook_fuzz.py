"""Fuzz the notebook loader: any mutation of a real notebook either loads as a valid notebook or is
refused with a NotebookError; nothing else escapes (so one bad file can never crash a batch)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.errors import NotebookError
from grader.notebook import exercise_id_of, load_notebook, parse_notebook

from conftest import PROJECT

KNOWN = {"autograd": "01_autograd.ipynb", "logistic_regression": "02_logistic_regression.ipynb"}
SEED = json.loads((PROJECT / "exercises" / "01_autograd.ipynb").read_text(encoding="utf-8"))

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                              max_size=4), max_leaves=12)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


PATHS = [p for p in _paths(SEED) if p]


@st.composite
def mutated(draw):
    doc = json.loads(json.dumps(SEED))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete"]))
            if action == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(json_value)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


def _check(load):
    try:
        nb = load()
    except NotebookError as exc:
        assert str(exc).strip()
        return
    nbformat.validate(nb)
    exercise_id_of(nb, "01_autograd.ipynb", KNOWN)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_notebooks_load_or_are_refused_cleanly(doc):
    _check(lambda: parse_notebook(json.dumps(doc), "fuzz.ipynb"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 3000))
def test_corrupted_bytes_load_or_are_refused_cleanly(tmp_path_factory, junk, cut):
    raw = json.dumps(SEED).encode()
    data = raw[:cut] + junk + raw[cut + len(junk):]
    path = Path(tmp_path_factory.mktemp("fuzz")) / "nb.ipynb"
    path.write_bytes(data)
    _check(lambda: load_notebook(path))
