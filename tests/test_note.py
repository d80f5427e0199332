"""A written answer's instructor note (model answer, marking scheme) never reaches a student."""

from __future__ import annotations

from pathlib import Path

from grader.batch import grade_batch
from grader.bundles import build_student_bundle
from grader.bundles.student import student_rubric
from grader.export import ExportOptions, load_reports, write_exports
from grader.options import grading_options
from grader.rubric import load_rubric

from review_fakes import PassingExecutor, add_instructor_note, mini_batch

NOTE = "MODEL-ANSWER-squares-are-areas"


def files_outside_instructor(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and ".instructor" not in p.relative_to(root).parts]


def test_the_note_is_in_the_rubric_but_in_no_student_file(tmp_path):
    course, subs, _ = mini_batch(tmp_path)
    loaded = add_instructor_note(course, NOTE)
    assert loaded.rubrics["beta"].questions[1].manual[0].note == NOTE
    out = tmp_path / "out"
    grade_batch(subs, out, grading_options(loaded, isolation="none", secret=b"s"), executor=PassingExecutor())
    for lang in ("en", "zh"):
        write_exports(out, load_reports(out), loaded, ExportOptions(lang, ("gradescope", "junit", "canvas")))
        written = files_outside_instructor(out)
        assert any(p.name == "results.json" for p in written) and any(p.name == "feedback.md" for p in written)
        for path in written:
            assert NOTE.encode() not in path.read_bytes(), path
    bundle = build_student_bundle(loaded, tmp_path / "bundle")
    for path in bundle.rglob("*"):
        if path.is_file():
            assert NOTE.encode() not in path.read_bytes(), path


def test_the_course_model_answers_are_notes_not_hints(project):
    rubric = load_rubric(project / "rubrics" / "logistic_regression.toml")
    for question in ("hw1", "hw2"):
        item = next(q for q in rubric.questions if q.id == question).manual[0]
        assert item.note.startswith("Model answer:") and "Marking:" in item.note
        assert "≈91%" not in item.hint + item.hint_zh and "WX+b" not in item.hint + item.hint_zh
    text = student_rubric(rubric)
    assert "Model answer" not in text and "≈91%" not in text
