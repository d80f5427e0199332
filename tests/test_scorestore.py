"""The score store: scores a person gave survive reruns, are validated on import, and go stale when the answer changes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from grader.batch import grade_batch
from grader.errors import UsageError
from grader.layout import OutLayout
from grader.scorestore import Score, ScoreConflict, ScoreStore

from review_fakes import PassingExecutor, mini_batch, write_essay


def grade(subs: Path, out: Path, options, manual: Path | None = None) -> dict[str, dict]:
    reports = grade_batch(subs, out, options, executor=PassingExecutor(), manual_import=manual)
    return {r["student"]: r for r in reports}


def check_of(report: dict, check_id: str) -> dict:
    return next(c for e in report["exercises"] for q in e["questions"] for c in q["checks"] if c["id"] == check_id)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def batch(tmp_path):
    course, subs, options = mini_batch(tmp_path, students=3)
    write_essay(subs, "s2", "")  # s2 left the answer empty
    return subs, tmp_path / "out", options


def test_imported_scores_live_in_the_store_and_survive_a_rerun_without_the_file(batch, tmp_path):
    subs, out, options = batch
    manual = write(tmp_path, "m.csv", "student,check,points,comment\ns0,beta.essay.answer,3,fair\n")
    first = grade(subs, out, options, manual)
    essay = check_of(first["s0"], "beta.essay.answer")
    assert (essay["status"], essay["points"], essay["pending"], essay["message"]) == ("manual", 3, 0, "fair")
    assert first["s0"]["score"] == 13 and first["s0"]["pending"] == 0
    stored = json.loads(OutLayout(out).scores().read_text(encoding="utf-8"))
    entry = stored["scores"]["s0"]["beta.essay.answer"]
    assert (entry["points"], entry["comment"], entry["version"]) == (3, "fair", 1) and entry["answer"].startswith("sha256:")
    again = grade(subs, out, options)  # no --manual: the store is read again
    assert check_of(again["s0"], "beta.essay.answer")["points"] == 3
    assert again["s0"]["score"] == 13
    grade(subs, out, options, manual)  # the same import again makes no new version
    assert ScoreStore.load(OutLayout(out)).get("s0", "beta.essay.answer").version == 1


def test_a_formula_like_id_copied_from_the_gradebook_imports_for_that_student(batch, tmp_path):
    subs, out, options = batch
    (subs / "s0").rename(subs / "=s0")  # the gradebook writes this id as '=s0 (CSV injection defence)
    grade(subs, out, options)
    with OutLayout(out).gradebook().open(newline="", encoding="utf-8") as handle:
        written = next(row[0] for row in csv.reader(handle) if row[0].endswith("=s0"))
    assert written == "'=s0"
    manual = write(tmp_path, "m.csv", f"student,check,points,comment\n{written},beta.essay.answer,3,fair\n")
    reports = grade(subs, out, options, manual)
    essay = check_of(reports["=s0"], "beta.essay.answer")
    assert (essay["status"], essay["points"], essay["message"]) == ("manual", 3, "fair")
    assert ScoreStore.load(OutLayout(out)).get("=s0", "beta.essay.answer").points == 3


def test_an_unscored_answer_is_pending_not_zero(batch):
    subs, out, options = batch
    reports = grade(subs, out, options)
    essay = check_of(reports["s1"], "beta.essay.answer")
    assert (essay["status"], essay["points"], essay["pending"]) == ("manual", 0, 4)
    beta = reports["s1"]["exercises"][1]
    assert (beta["score"], beta["pending"], reports["s1"]["pending"]) == (5, 4, 4)
    assert check_of(reports["s2"], "beta.essay.answer")["pending"] == 0  # empty: nothing to wait for
    gradebook = (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()
    assert gradebook[0].startswith("student,score,max_score,pending,")
    assert gradebook[2].startswith("s1,10,14,4,")


@pytest.mark.parametrize(("row", "reason"), [
    ("bobb,beta.essay.answer,3", "'bobb' is not a student"),
    ("s0,beta.nope.answer,3", "'beta.nope.answer' is not a check or written answer"),
    ("s0,beta.essay.answer,5", "points 5 outside 0..4"),
    ("s0,beta.essay.answer,-1", "points -1 outside 0..4"),
    ("s0,beta.essay.answer,lots", "points 'lots' is not a number"),
    ("s2,beta.essay.answer,2", "empty or unchanged"),
    ("s0,alpha.double.law,1", "automatic check"),
])
def test_a_bad_row_refuses_the_whole_import_naming_the_row(batch, tmp_path, row, reason):
    subs, out, options = batch
    manual = write(tmp_path, "m.csv", f"student,check,points\ns1,beta.essay.answer,2\n{row}\n")
    with pytest.raises(UsageError) as info:
        grade(subs, out, options, manual)
    assert info.value.exit_code == 2
    assert "m.csv, line 3" in str(info.value) and reason in str(info.value)
    assert not OutLayout(out).scores().exists()  # nothing imported, not even the good row


def test_an_unchanged_template_answer_is_refused(batch, tmp_path):
    subs, out, options = batch
    template = next(c.source for c in __import__("nbformat").read(
        options.course.exercise_notebook("beta"), as_version=4).cells if c.cell_type == "markdown")
    write_essay(subs, "s1", template + "\n")
    manual = write(tmp_path, "m.toml", '[s1]\n"beta.essay.answer" = 2\n')
    with pytest.raises(UsageError, match=r"m.toml, \[s1\].*empty or unchanged"):
        grade(subs, out, options, manual)


def test_an_override_of_an_automatic_check_must_say_so_and_then_counts(batch, tmp_path):
    subs, out, options = batch
    manual = write(tmp_path, "m.csv", "student,check,points,comment,override\ns0,alpha.double.law,1,partly,true\n")
    reports = grade(subs, out, options, manual)
    law = check_of(reports["s0"], "alpha.double.law")
    assert (law["status"], law["points"], law["message"]) == ("passed", 1, "partly")
    nb = subs / "s0" / "alpha.ipynb"
    nb.write_text(nb.read_text(encoding="utf-8").replace("return 2 * x", "return x * 2"), encoding="utf-8")
    law = check_of(grade(subs, out, options)["s0"], "alpha.double.law")
    assert (law["status"], law["points"], law["pending"]) == ("manual", 0, 3)
    assert "changed since it was scored" in law["message"]


def test_a_changed_answer_makes_its_score_stale_not_kept_or_dropped(batch, tmp_path):
    subs, out, options = batch
    grade(subs, out, options, write(tmp_path, "m.csv", "student,check,points\ns0,beta.essay.answer,4\n"))
    write_essay(subs, "s0", "Squares are never negative, and grow fast.")
    essay = check_of(grade(subs, out, options)["s0"], "beta.essay.answer")
    assert (essay["status"], essay["points"], essay["pending"]) == ("manual", 0, 4)
    assert essay["message"] == "awaiting review: the answer changed since it was scored"
    assert ScoreStore.load(OutLayout(out)).get("s0", "beta.essay.answer").points == 4  # kept for review
    write_essay(subs, "s0", "Squares are never negative.")  # back to what was scored: counts again
    assert check_of(grade(subs, out, options)["s0"], "beta.essay.answer")["points"] == 4


def test_a_save_from_an_outdated_version_is_refused(tmp_path):
    layout = OutLayout(tmp_path)
    store = ScoreStore.load(layout)
    assert store.put("s0", "beta.essay.answer", Score(2), expected_version=0).version == 1
    store.save()
    # two tabs both showed version 1; each save loads the store afresh under the OUT lock
    tab_a = ScoreStore.load(layout)
    tab_a.put("s0", "beta.essay.answer", Score(3), expected_version=1)
    tab_a.save()
    tab_b = ScoreStore.load(layout)
    with pytest.raises(ScoreConflict) as info:
        tab_b.put("s0", "beta.essay.answer", Score(4), expected_version=1)
    assert info.value.current.points == 3 and "reload" in str(info.value)
    assert ScoreStore.load(layout).get("s0", "beta.essay.answer").points == 3
