"""Every status and UI string the student and instructor outputs show, in English and Chinese.

Rubric hints and question titles are translated in the rubric itself (`hint_zh`, `title_zh`);
`course_text` reads them. Check messages written by check authors stay in their language; the
grader's own standard messages are recognised by `translate_message` and translated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

LANGS = ("en", "zh")
DEFAULT_LANG = "en"

STATUS: dict[str, dict[str, str]] = {
    "en": {
        "passed": "passed", "failed": "failed", "error": "error", "timeout": "timed out", "manual": "written answer",
        "unavailable": "cannot run here",
        "graded": "graded", "missing": "missing", "not_gradable": "not gradable",
    },
    "zh": {
        "passed": "通过", "failed": "未通过", "error": "出错", "timeout": "超时", "manual": "书面回答",
        "unavailable": "无法在此运行",
        "graded": "已评分", "missing": "缺失", "not_gradable": "无法评分",
    },
}

VISIBILITY: dict[str, dict[str, str]] = {
    "en": {"public": "public", "hidden": "hidden", "after_due_date": "after the due date"},
    "zh": {"public": "公开", "hidden": "隐藏", "after_due_date": "截止日期后公布"},
}

UI: dict[str, dict[str, str]] = {
    "en": {
        "feedback_title": "Feedback for {student}",
        "summary_title": "Class summary",
        "score": "Score",
        "total": "Total",
        "exercise": "Exercise",
        "question": "Question",
        "check": "Check",
        "status": "Status",
        "points": "Points",
        "message": "Message",
        "hint": "Hint",
        "visibility": "Visibility",
        "your_plots": "Your plots",
        "no_plots": "The executed notebook shows no plots.",
        "plots_cut": "{shown} of {total} plots shown.",
        "points_chart": "Points per question",
        "cell_notes": "What happened to your cells",
        "cell": "cell {index}",
        "hidden_note": "Hidden checks use inputs you do not see; they show only pass or fail and a hint.",
        "released_later": "{count} check(s) worth {points} point(s) are shown after the due date; "
                          "the scores above leave them out.",
        "graded_at": "Graded {when} by grader {version}.",
        "written_answer": "written answer",
        "answer_written": "answer written; your instructor scores it",
        "answer_missing": "no answer written yet",
        "selfcheck_title": "Self-check: {exercise}",
        "selfcheck_summary": "{passed}/{total} public checks pass",
        "selfcheck_all_pass": "Every public check passes.",
        "selfcheck_some_fail": "Some public checks do not pass yet.",
        "hidden_to_come": "At grading time, hidden checks also run on: {questions}",
        "hidden_count": "{question} ({count})",
        "no_hidden": "No hidden checks for this exercise.",
        "list_sep": "; ",
        "needs_reference": "this check needs the course's reference solution, which this folder does not have "
                           "(tell your instructor)",
        "distribution": "Score distribution",
        "students": "Students",
        "graded_count": "{graded} of {total} submissions had every exercise graded",
        "mean": "mean",
        "median": "median",
        "pass_rate_question": "Full marks per question",
        "pass_rate_check": "Pass rate per check (lowest first: the class's misconceptions)",
        "pass_rate": "pass rate",
        "full_marks": "full marks",
        "mean_score": "mean score",
        "slowest": "Slowest submissions",
        "seconds": "seconds",
        "not_gradable_title": "Not gradable or missing",
        "none": "none",
        "all_students": "All students",
    },
    "zh": {
        "feedback_title": "{student} 的作业反馈",
        "summary_title": "全班概览",
        "score": "得分",
        "total": "总分",
        "exercise": "练习",
        "question": "题目",
        "check": "检查项",
        "status": "状态",
        "points": "分数",
        "message": "说明",
        "hint": "提示",
        "visibility": "可见性",
        "your_plots": "你的图像",
        "no_plots": "运行后的笔记本中没有图像。",
        "plots_cut": "共 {total} 张图，显示了 {shown} 张。",
        "points_chart": "各题得分",
        "cell_notes": "单元格运行情况",
        "cell": "第 {index} 个单元格",
        "hidden_note": "隐藏检查使用你看不到的输入；只显示通过与否和提示。",
        "released_later": "有 {count} 个检查（共 {points} 分）将在截止日期后公布；上面的分数不含这些检查。",
        "graded_at": "评分时间 {when}，评分程序版本 {version}。",
        "written_answer": "书面回答",
        "answer_written": "已作答，由老师评分",
        "answer_missing": "尚未作答",
        "selfcheck_title": "自查：{exercise}",
        "selfcheck_summary": "公开检查通过 {passed}/{total}",
        "selfcheck_all_pass": "所有公开检查均已通过。",
        "selfcheck_some_fail": "还有公开检查未通过。",
        "hidden_to_come": "正式评分时，以下题目还会运行隐藏检查：{questions}",
        "hidden_count": "{question}（{count} 个）",
        "no_hidden": "本练习没有隐藏检查。",
        "list_sep": "；",
        "needs_reference": "该检查需要课程的参考答案，而当前文件夹中没有（请告诉老师）",
        "distribution": "分数分布",
        "students": "学生",
        "graded_count": "{total} 份提交中有 {graded} 份的所有练习均已评分",
        "mean": "平均",
        "median": "中位数",
        "pass_rate_question": "各题满分比例",
        "pass_rate_check": "各检查通过率（从低到高：全班的常见误区）",
        "pass_rate": "通过率",
        "full_marks": "满分比例",
        "mean_score": "平均分",
        "slowest": "运行最慢的提交",
        "seconds": "秒",
        "not_gradable_title": "无法评分或缺失",
        "none": "无",
        "all_students": "全部学生",
    },
}

# The grader's own messages (plugin.py, scoring.py, batch.py, kernel.py) and their Chinese forms.
_MESSAGES: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.S), zh) for p, zh in [
    (r"^this check did not run$", "该检查未运行"),
    (r"^your code did not finish in time \((.*)\)$", "你的代码未能按时完成（{0}）"),
    (r"^`(.*)` is not defined in your notebook$", "你的笔记本中没有定义 `{0}`"),
    (r"^not implemented yet \(the TODO stub is still there\)$", "尚未实现（TODO 占位代码仍在）"),
    (r"^your code raised (\S+)$", "你的代码抛出了 {0}"),
    (r"^your code raised (\S+): (.*)$", "你的代码抛出了 {0}：{1}"),
    (r"^your code ended the kernel \(exit, crash or out of memory\)$", "你的代码使内核退出（exit、崩溃或内存不足）"),
    (r"^your function returned data the grader cannot read$", "你的函数返回了评分程序无法读取的数据"),
    (r"^your function returned data the grader cannot read: (.*)$", "你的函数返回了评分程序无法读取的数据：{0}"),
    (r"^the check itself failed; your instructor has the details$", "检查程序本身出错；老师可以看到详细信息"),
    (r"^no answer written \(the answer cell is empty or unchanged\)$", "未作答（答题单元格为空或未修改）"),
    (r"^written answer awaiting the instructor's score$", "书面回答等待老师评分"),
    (r"^written answer found below the prompt, not in the answer cell \(cells (.*)\); awaiting the instructor's "
     r"score$", "在提示下方找到书面回答（不在答题单元格中，单元格 {0}）；等待老师评分"),
    (r"^written answer not in the answer cell; text under the heading \"(.*)\" \(cells (.*)\) goes to the "
     r"instructor for review$", "书面回答不在答题单元格中；标题“{0}”下的文字（单元格 {1}）将交由老师审阅"),
    (r"^no answer found where expected; new text elsewhere in the notebook \(cells (.*)\) goes to the instructor "
     r"for review$", "在应作答的位置没有找到回答；笔记本中其他位置新增的文字（单元格 {0}）将交由老师审阅"),
    (r"^scored by the instructor$", "已由老师评分"),
    (r"^graded$", "已评分"),
    (r"^graded; (\d+) cell problem\(s\), see cells$", "已评分；{0} 个单元格有问题，见“单元格运行情况”"),
    (r"^no notebook for this exercise \(expected (.*)\)$", "没有提交本练习的笔记本（应为 {0}）"),
    (r"^no notebook for this exercise; (.*)$", "没有提交本练习的笔记本；{0}"),
    (r"^the notebook could not be run: (.*)$", "笔记本无法运行：{0}"),
    (r"^this cell was interrupted after (\d+)s$", "该单元格运行 {0} 秒后被中断"),
    (r"^this cell's output was cut: too much output$", "该单元格输出过多，已被截断"),
    (r"^this cell ended the kernel \(exit, crash or out of memory\); the notebook was re-run without it$",
     "该单元格使内核退出（exit、崩溃或内存不足）；已跳过它重新运行笔记本"),
    (r"^this cell did not stop when interrupted; the kernel was restarted and the notebook re-run without it$",
     "该单元格在中断后仍未停止；已重启内核并跳过它重新运行笔记本"),
    (r"^this cell ignored the interrupt after its time limit; the kernel was restarted and the notebook re-run "
     r"without it$", "该单元格超时后忽略了中断；已重启内核并跳过它重新运行笔记本"),
    (r"^the notebook time limit \((\d+)s\) was reached; this cell and the ones after it did not run$",
     "笔记本总运行时间已达上限（{0} 秒）；该单元格及之后的单元格没有运行"),
]]


def check_lang(lang: str) -> str:
    """`lang` if supported, else UsageError."""
    if lang not in LANGS:
        raise UsageError(f"unsupported language {lang!r}; choose one of {', '.join(LANGS)}")
    return lang


def ui(key: str, lang: str = DEFAULT_LANG, **values: Any) -> str:
    """A UI string in `lang`, formatted with `values`."""
    return UI[lang][key].format(**values)


def status(name: str, lang: str = DEFAULT_LANG) -> str:
    """A check or exercise status in `lang` (unknown statuses as given)."""
    return STATUS[lang].get(name, name)


def visibility(name: str, lang: str = DEFAULT_LANG) -> str:
    return VISIBILITY[lang].get(name, name)


def translate_message(message: str, lang: str = DEFAULT_LANG) -> str:
    """The grader's own standard messages in `lang`; anything else (a check author's text) unchanged."""
    if lang == "en" or not message:
        return message
    for pattern, template in _MESSAGES:
        match = pattern.match(message)
        if match:
            return template.format(*match.groups())
    return message


@dataclass(frozen=True)
class CourseText:
    """Translated rubric text: hints by check id, titles by `<exercise>.<question>`."""

    hints: dict[str, dict[str, str]]
    titles: dict[str, dict[str, str]]

    def hint(self, check_id: str, fallback: str, lang: str) -> str:
        return self.hints.get(check_id, {}).get(lang) or fallback

    def title(self, exercise: str, question: str, fallback: str, lang: str) -> str:
        return self.titles.get(f"{exercise}.{question}", {}).get(lang) or fallback


def course_text(course: Any | None) -> CourseText:
    """The rubric translations of a course (`grader.course.Course`); empty when there is no course."""
    hints: dict[str, dict[str, str]] = {}
    titles: dict[str, dict[str, str]] = {}
    for rubric in (course.rubrics.values() if course is not None else ()):
        for question in rubric.questions:
            titles[f"{rubric.exercise}.{question.id}"] = {"en": question.title, "zh": question.title_zh}
            for item in (*question.checks, *question.manual):
                hints[item.id] = {"en": item.hint, "zh": item.hint_zh}
    return CourseText(hints, titles)
