"""Near-copy pairs in `grade review`, through the JSON API: listed in the queue, shown in full, and a person's
"noted" / "dismissed" kept in the score store across reruns, never changing a point."""

from __future__ import annotations

import dataclasses
import json

import nbformat
import pytest

from grader.batch import grade_batch
from grader.course import load_course
from grader.export import ExportOptions, load_reports, write_exports
from grader.layout import OutLayout
from grader.scorestore import ScoreStore

from review_fakes import PassingExecutor, mini_batch
from review_server import call, running
from test_class_summary import OTHER, TRAIN

PAIR = "/api/pair/beta/s0/s1"


def add_code(subs, student: str, code: str) -> None:
    path = subs / student / "beta.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(nb, path)


def grade(subs, out, course, options) -> None:
    loaded = load_course(course)
    grade_batch(subs, out, dataclasses.replace(options, course=loaded), executor=PassingExecutor())
    write_exports(out, load_reports(out), loaded, ExportOptions())


@pytest.fixture
def copied(tmp_path):
    """s0 and s1 share a training loop (s1 renamed its variables); s2 wrote another one."""
    course, subs, options = mini_batch(tmp_path, students=3)
    add_code(subs, "s0", TRAIN)
    add_code(subs, "s1", TRAIN.replace("opt", "optimizer").replace("xb", "inputs"))
    add_code(subs, "s2", OTHER)
    out = tmp_path / "out"
    grade(subs, out, course, options)
    return out, load_course(course), subs, lambda: grade(subs, out, course, options)


def pairs_in(queue: list[dict]) -> list[tuple]:
    return [(i["student"], i["other"], i["exercise"], i["kind"], i["item"]) for i in queue if "other" in i]


def outputs(out) -> dict[str, str]:
    files = [out / "gradebook.csv"] + [out / "students" / s / n for s in ("s0", "s1") for n in
                                        ("report.json", "feedback.html")]
    return {str(f): f.read_text(encoding="utf-8") for f in files}


def test_the_queue_lists_each_pair_and_its_item_shows_both_students_and_the_shared_code(copied):
    out, course, _, _ = copied
    with running(out, course) as base:
        queue = call(base + "/api/queue")[1]["items"]
        assert pairs_in(queue) == [("s0", "s1", "beta", "near_copy", PAIR)]
        assert queue[-1]["other"] == "s1"  # after every check and written answer
        status, item = call(base + PAIR)
        assert status == 200 and (item["student"], item["other"], item["exercise"]) == ("s0", "s1", "beta")
        assert item["similarity"] > 0.8 and any("loss.backward()" in p for p in item["passages"])
        assert (item["decision"], item["version"], item["scorable"]) == (None, 0, False)
        assert call(base + "/api/pair/beta/s0/s2")[0] == 400  # not a pair
        assert call(base + PAIR, token=None)[0] == 403
        assert call(base + "/api/pairs", {"exercise": "beta", "first": "s0", "second": "s1", "decision": "noted"},
                    token=None)[0] == 403


def test_a_decision_is_stored_never_changes_points_and_a_stale_one_is_refused(copied):
    out, course, _, _ = copied
    before = outputs(out)
    body = {"exercise": "beta", "first": "s0", "second": "s1", "decision": "noted", "comment": "same loop",
            "version": 0}
    with running(out, course) as base:
        status, item = call(base + "/api/pairs", body)
        assert status == 200, item
        assert item["kind"] == "near_copy_decided" and item["version"] == 1
        assert (item["decision"]["decision"], item["decision"]["comment"]) == ("noted", "same loop")
        status, reply = call(base + "/api/pairs", {**body, "decision": "dismissed"})  # made from version 0
        assert status == 409 and "meanwhile" in reply["error"]
        assert call(base + "/api/pairs", {**body, "decision": "guilty", "version": 1})[0] == 400
        assert call(base + "/api/pairs", {**body, "second": "s2", "version": 0})[0] == 400
        assert pairs_in(call(base + "/api/queue")[1]["items"])[0][3] == "near_copy_decided"
        # a score saved afterwards keeps the decision (one store, both sections)
        assert call(base + "/api/scores", {"student": "s0", "check": "beta.essay.answer", "points": 3,
                                           "comment": "", "version": 0})[0] == 200
    store = ScoreStore.load(OutLayout(out))
    assert store.pairs["beta/s0/s1"].decision == "noted" and store.get("s0", "beta.essay.answer").points == 3
    after = outputs(out)
    assert after[str(out / "students" / "s1" / "report.json")] == before[str(out / "students" / "s1" / "report.json")]
    assert "same loop" not in "".join(after.values())  # never in a report, feedback or the gradebook
    assert json.loads((out / ".instructor" / "scores.json").read_text())["store_version"] == 2


def test_a_decision_survives_a_rerun_and_is_to_do_again_once_the_code_changes(copied):
    out, course, subs, rerun = copied
    with running(out, course) as base:
        assert call(base + "/api/pairs", {"exercise": "beta", "first": "s0", "second": "s1",
                                          "decision": "dismissed", "comment": "", "version": 0})[0] == 200
    rerun()
    with running(out, course) as base:
        assert pairs_in(call(base + "/api/queue")[1]["items"])[0][3] == "near_copy_decided"
        assert call(base + PAIR)[1]["decision"]["decision"] == "dismissed"
    add_code(subs, "s1", "print('my own plot')")
    rerun()
    with running(out, course) as base:
        assert pairs_in(call(base + "/api/queue")[1]["items"])[0][3] == "near_copy"
        item = call(base + PAIR)[1]
        assert item["stale"] and item["decision"]["decision"] == "dismissed" and item["version"] == 1


def test_a_version_1_store_is_read_with_no_pairs(tmp_path):
    layout = OutLayout(tmp_path)
    layout.scores().parent.mkdir(parents=True)
    layout.scores().write_text(json.dumps({"store_version": 1, "scores": {"ada": {"x.y.answer": {"points": 2}}}}))
    store = ScoreStore.load(layout)
    assert store.pairs == {} and store.get("ada", "x.y.answer").points == 2
