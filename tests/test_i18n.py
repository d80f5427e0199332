"""Chinese and English: every rubric hint and title, every UI string, every message code of the catalogue."""

from __future__ import annotations

import json
import pickle
import string
from copy import deepcopy

import pytest

from grader import i18n, messages
from grader.checks import Feedback
from grader.course import load_course
from grader.errors import RubricError, UsageError
from grader.rubric import load_rubric

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


def test_every_message_code_has_both_templates_with_the_same_placeholders():
    for code, templates in messages.CATALOGUE.items():
        assert set(templates) == set(i18n.LANGS), code
        assert fields(templates["en"]) == fields(templates["zh"]), code


def sample(code: str) -> messages.Message:
    """The message `code` with every placeholder given a value (a number or plain ASCII)."""
    return messages.msg(code, **{name: 3 if name in ("count", "got_count", "seconds") else "x"
                                 for name in fields(messages.CATALOGUE[code]["en"])})


@pytest.mark.parametrize("code", sorted(set(messages.CATALOGUE) - {messages.VERBATIM, "check.notes", "list.items", "list.comma"}))
def test_each_code_the_grader_emits_renders_chinese_in_zh(code):
    message = sample(code)
    chinese = messages.render(message, "zh")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), (code, chinese)
    assert messages.render(message, "en") == str(message) == messages.CATALOGUE[code]["en"].format(**message.params)


def test_messages_with_values_keep_them_and_check_authors_text_is_left_alone():
    raised = messages.msg("check.raised_detail", type="ValueError", detail="bad w")
    assert (str(raised), messages.render(raised, "zh")) == ("your code raised ValueError: bad w",
                                                           "你的代码抛出了 ValueError：bad w")
    missing = messages.msg("check.not_defined", name="train")
    assert messages.render(missing, "zh") == "你的笔记本中没有定义 `train`"
    assert messages.render(messages.msg("exercise.graded_with_cells", count=2), "zh").startswith("已评分；2 个单元格")
    assert messages.render(messages.verbatim("expected tensor([9.])"), "zh") == "expected tensor([9.])"
    assert messages.render("a plain string", "zh") == "a plain string"
    with pytest.raises(KeyError):
        messages.msg("no.such.code")


def test_joined_messages_render_each_part_in_the_language():
    both = messages.joined(["a.ipynb: broken", messages.msg("exercise.stray_unknown", name="b.ipynb")])
    said = messages.msg("exercise.stray_only", reasons=both)
    assert str(said) == ("no notebook for this exercise; a.ipynb: broken; b.ipynb: not one of this course's "
                         "exercises (no grader metadata, unknown file name)")
    assert messages.render(said, "zh") == "没有提交本练习的笔记本；a.ipynb: broken；b.ipynb：不是本课程的练习（没有评分元数据，文件名也不认识）"


def test_authored_messages_render_in_both_languages_and_must_name_the_same_values():
    said = messages.authored("got {n} rows", "得到 {n} 行", n=3)
    assert (str(said), messages.render(said, "zh")) == ("got 3 rows", "得到 3 行")
    with pytest.raises(ValueError):
        messages.authored("got {n} rows", "得到 {m} 行", n=3)
    with pytest.raises(Feedback) as info:
        raise Feedback("the loss is {loss:.2f}", zh="损失为 {loss:.2f}", loss=0.5)
    assert (info.value.message, messages.render(info.value.message, "zh")) == ("the loss is 0.50", "损失为 0.50")
    assert str(info.value) == "the loss is 0.50"
    assert Feedback("{not a placeholder}").message == "{not a placeholder}"  # plain text is never formatted


def test_report_json_codes_round_trip_and_version_1_entries_show_their_text():
    said = messages.msg("exercise.lost", reason=messages.msg("exercise.not_written", detail="disk full"))
    stored = {"message": str(said), **messages.to_json(said)}
    assert json.loads(json.dumps(stored)) == stored
    assert messages.in_report(stored, "zh") == "这个笔记本无法评分：运行后的笔记本无法写入：disk full"
    assert messages.in_report(stored, "en") == "this notebook could not be graded: its executed notebook could not be written: disk full"
    assert messages.in_report({"message": "this check did not run"}, "zh") == "this check did not run"  # version 1
    unknown = {"message": "from a newer grader", "message_code": "future.code", "message_params": {}}
    assert messages.in_report(unknown, "zh") == "from a newer grader"


def test_messages_keep_their_code_across_processes_and_copies():
    said = messages.msg("cell.interrupted", seconds="30")
    for copy in (pickle.loads(pickle.dumps(said)), deepcopy(said)):
        assert (copy, copy.code, copy.params) == (said, "cell.interrupted", {"seconds": "30"})


def test_long_student_text_is_clipped_in_its_parameter():
    said = messages.clipped(messages.msg("check.raised_detail", type="E", detail="x" * 700), 600, "detail")
    assert len(said) == 600 and said.endswith("...") and said.code == "check.raised_detail"
    assert messages.render(said, "zh").startswith("你的代码抛出了 E：xxx")


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
