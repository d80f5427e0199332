"""`grade review`: the JSON API over a real port, the token, conflicts, and what a save rewrites."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import grade_batch
from grader.export import ExportOptions, load_reports, write_exports

from review_fakes import PassingExecutor, add_instructor_note, mini_batch, write_essay
from review_server import TOKEN, call, running

HOSTILE = "<script>alert(1)</script> **bold** <img src=x onerror=alert(2)>"


@pytest.fixture
def graded(tmp_path):
    course, subs, options = mini_batch(tmp_path, students=3)
    write_essay(subs, "s2", HOSTILE)
    loaded = add_instructor_note(course, "Model: squares are areas. 4 = complete.")
    out = tmp_path / "out"
    grade_batch(subs, out, dataclasses.replace(options, course=loaded), executor=PassingExecutor())
    write_exports(out, load_reports(out), loaded, ExportOptions())
    return out, loaded


def report(out: Path, student: str) -> dict:
    return json.loads((out / "students" / student / "report.json").read_text(encoding="utf-8"))


def test_every_request_without_the_token_is_refused(graded):
    out, course = graded
    with running(out, course) as base:
        for path in ("/", "/api/queue", "/api/item/s0/beta.essay.answer", "/nothing", "/../report.json"):
            assert call(base + path, token=None)[0] == 403, path
            assert call(base + path, token="wrong")[0] == 403, path
        assert call(base + "/api/scores", {"student": "s0", "check": "beta.essay.answer", "points": 1},
                    token=None)[0] == 403
        assert call(f"{base}/?token={TOKEN}", token=None)[0] == 200
        assert call(f"{base}/s0/report.json", token=TOKEN)[0] in (404, 405)  # nothing of OUT is served by path
    assert not (out / ".instructor" / "scores.json").exists()


def test_the_queue_the_item_and_a_save_round_trip(graded):
    out, course = graded
    with running(out, course) as base:
        status, queue = call(base + "/api/queue")
        assert status == 200
        written = [(i["student"], i["kind"]) for i in queue["items"] if i["check"] == "beta.essay.answer"]
        assert written == [("s0", "written"), ("s1", "written"), ("s2", "written")]
        status, item = call(base + "/api/item/s2/beta.essay.answer")
        assert status == 200 and item["version"] == 0 and item["note"].startswith("Model:")
        assert "<script>" not in item["answer_html"] and "&lt;script&gt;" in item["answer_html"]
        assert "<strong>bold</strong>" in item["answer_html"] and "<img" not in item["answer_html"]

        status, saved = call(base + "/api/scores", {"student": "s0", "check": "beta.essay.answer", "points": 3,
                                                    "comment": "good", "version": 0})
        assert status == 200, saved
        assert (saved["version"], saved["points"], saved["pending"]) == (1, 3, 0)
        data = report(out, "s0")
        assert (data["score"], data["pending"]) == (13, 0)
        assert "good" in (out / "students" / "s0" / "feedback.html").read_text(encoding="utf-8")
        assert "13/14" in (out / "students" / "s0" / "feedback.html").read_text(encoding="utf-8")
        rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open(encoding="utf-8"))}
        assert (rows["s0"]["score"], rows["s0"]["pending"], rows["s1"]["pending"]) == ("13", "0", "4")
        queue = call(base + "/api/queue")[1]["items"]
        assert {(i["student"], i["kind"]) for i in queue if i["check"] == "beta.essay.answer"} >= {("s0", "reviewed")}


def test_a_stale_save_is_refused_with_409_and_nothing_is_overwritten(graded):
    out, course = graded
    with running(out, course) as base:
        first = {"student": "s1", "check": "beta.essay.answer", "points": 2, "comment": "tab A", "version": 0}
        second = {**first, "points": 4, "comment": "tab B"}
        assert call(base + "/api/scores", first)[0] == 200
        status, body = call(base + "/api/scores", second)
        assert status == 409 and body["current"]["comment"] == "tab A" and body["current"]["version"] == 1
        assert report(out, "s1")["score"] == 12
        assert call(base + "/api/scores", {**second, "version": 1})[0] == 200
        assert report(out, "s1")["score"] == 14


@pytest.mark.parametrize(("body", "reason"), [
    ({"student": "bobb", "check": "beta.essay.answer", "points": 1}, "not a student"),
    ({"student": "s0", "check": "beta.essay.answer", "points": 9}, "outside 0..4"),
    ({"student": "s0", "check": "beta.nope.answer", "points": 1}, "not a check"),
])
def test_a_refused_score_says_why_and_changes_nothing(graded, body, reason):
    out, course = graded
    before = (out / "gradebook.csv").read_text(encoding="utf-8")
    with running(out, course) as base:
        status, reply = call(base + "/api/scores", {**body, "comment": ""})
    assert status == 400 and reason in reply["error"]
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == before


@pytest.mark.parametrize(("path", "body", "reason"), [
    ("/api/scores", ["s0", "beta.essay.answer"], "JSON with student, check, points and comment"),
    ("/api/scores", {"check": "beta.essay.answer", "points": 1}, "JSON with student, check"),
    ("/api/scores", {"student": "s0", "check": "beta.essay.answer", "points": 1, "version": "1"},
     "version must be an integer"),
    ("/api/pairs", {"exercise": "beta", "first": "s0", "decision": "noted"}, "JSON with exercise, first, second"),
    ("/api/pairs", {"exercise": "beta", "first": "s0", "second": "s1", "decision": "noted", "version": 1.5},
     "version must be an integer"),
])
def test_a_body_of_the_wrong_shape_is_refused_with_what_it_must_hold(graded, path, body, reason):
    out, course = graded
    before = (out / "gradebook.csv").read_text(encoding="utf-8")
    with running(out, course) as base:
        status, reply = call(base + path, body)
    assert status == 400 and reason in reply["error"]
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == before


def test_grade_review_prints_its_url_first_and_serves_the_page(graded):
    out, course = graded
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen([sys.executable, "-m", "grader.cli", "review", str(out), "--course",
                                str(course.root), "--no-browser"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        status, page = call(url, token=None)
        assert status == 200 and 'id="list"' in page
        assert call(url.split("?")[0], token=None)[0] == 403
    finally:
        process.terminate()
        process.wait(10)
