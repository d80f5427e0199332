"""Chinese and English: every rubric hint and title, every UI string, the grader's own messages."""

from __future__ import annotations

import string

import pytest

from grader import i18n
from grader.course import load_course
from grader.errors import RubricError, UsageError
from grader.rubric import load_rubric

# The grader's own student-facing messages, as its modules write them (checked against the source below).
OWN_MESSAGES = {
    "plugin.py": ["not implemented yet (the TODO stub is still there)",
                  "your code ended the kernel (exit, crash or out of memory)",
                  "the check itself failed; your instructor has the details",
                  "your function returned data the grader cannot read"],
    "scoring.py": ["no answer written (the answer cell is empty or unchanged)",
                   "written answer awaiting the instructor's score", "this check did not run"],
    "kernel.py": ["this cell's output was cut: too much output"],
}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_rubric_hint_and_question_title_has_a_chinese_translation(project):
    course = load_course(project)
    for rubric in course.rubrics.values():
        for question in rubric.questions:
            assert question.title_zh.strip(), f"{rubric.exercise}.{question.id}: no title_zh"
            for item in (*question.checks, *question.manual):
                assert item.hint_zh.strip(), f"{item.id}: no hint_zh"
                assert any("\u4e00" <= ch <= "\u9fff" for ch in item.hint_zh), item.id


def test_ui_and_status_strings_exist_in_every_language():
    for table in (i18n.UI, i18n.STATUS, i18n.VISIBILITY):
        assert set(table) == set(i18n.LANGS)
        assert set(table["zh"]) == set(table["en"])
    for key, template in i18n.UI["en"].items():
        assert fields(template) == fields(i18n.UI["zh"][key]), key
    assert i18n.status("timeout", "zh") == "超时" and i18n.status("not_gradable") == "not gradable"


@pytest.mark.parametrize("module,message", [(m, s) for m, msgs in OWN_MESSAGES.items() for s in msgs])
def test_the_graders_own_messages_are_translated(project, module, message):
    assert message in (project / "grader" / module).read_text(encoding="utf-8")
    translated = i18n.translate_message(message, "zh")
    assert translated != message and any("\u4e00" <= ch <= "\u9fff" for ch in translated)
    assert i18n.translate_message(message, "en") == message


def test_messages_with_values_keep_them_and_check_authors_text_is_left_alone():
    assert i18n.translate_message("your code raised ValueError: bad w", "zh") == "你的代码抛出了 ValueError：bad w"
    assert i18n.translate_message("`train` is not defined in your notebook", "zh") == "你的笔记本中没有定义 `train`"
    assert i18n.translate_message("graded; 2 cell problem(s), see cells", "zh").startswith("已评分；2 个单元格")
    assert i18n.translate_message("expected tensor([9.])", "zh") == "expected tensor([9.])"


def test_unknown_language_is_a_usage_error():
    with pytest.raises(UsageError):
        i18n.check_lang("fr")


def test_after_due_date_visibility_and_translations_load(tmp_path):
    path = tmp_path / "demo.toml"
    path.write_text('exercise = "demo"\nnotebook = "demo.ipynb"\n[questions.q1]\ntitle = "Q"\ntitle_zh = "题"\n'
                    '[questions.q1.checks.late]\npoints = 2\nvisibility = "after_due_date"\nhint = "h"\n'
                    'hint_zh = "提示"\n', encoding="utf-8")
    rubric = load_rubric(path)
    spec = rubric.checks()["demo.q1.late"]
    assert (spec.visibility, spec.hint_zh, rubric.questions[0].title_zh) == ("after_due_date", "提示", "题")
    text = i18n.course_text(type("C", (), {"rubrics": {"demo": rubric}})())
    assert text.hint("demo.q1.late", "x", "zh") == "提示" and text.title("demo", "q1", "x", "en") == "Q"
    path.write_text(path.read_text(encoding="utf-8").replace("after_due_date", "never"), encoding="utf-8")
    with pytest.raises(RubricError):
        load_rubric(path)
