"""Every status and UI string the student and instructor outputs show, in English and Chinese.

Rubric hints and question titles are translated in the rubric itself (`hint_zh`, `title_zh`);
`course_text` reads them. Messages (the grader's own and check authors') are codes with parameters,
rendered in either language by grader/messages.py.
"""

from __future__ import annotations

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
        "pending": "awaiting review",
    },
    "zh": {
        "passed": "通过", "failed": "未通过", "error": "出错", "timeout": "超时", "manual": "书面回答",
        "unavailable": "无法在此运行",
        "graded": "已评分", "missing": "缺失", "not_gradable": "无法评分",
        "pending": "等待评阅",
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
        "pending_points": "+{points} pending",
        "awaiting_count": "{count} awaiting review",
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
        "passed_of": "passed / graded",
        "failed_by": "failed by",
        "misconceptions_title": "Known misconceptions recognised",
        "misconception": "misconception (reference/wrong/)",
        "near_copies_title": "Near-copies to look at",
        "near_copies_note": "Token-level similarity of the students' code, the exercise's own code left out. "
                            "A list to look at, never a verdict; instructor only.",
        "similarity": "similarity",
        "shared_passages": "shared passages",
        "written_elsewhere": "Written answers ({points} points) are not in this score: your instructor grades "
                             "them as separate questions.",
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
        "pending_points": "另有 {points} 分待评",
        "awaiting_count": "{count} 份等待评阅",
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
        "passed_of": "通过 / 已评",
        "failed_by": "未通过的学生",
        "misconceptions_title": "识别出的常见误区",
        "misconception": "误区（reference/wrong/）",
        "near_copies_title": "高度相似的提交（待查看）",
        "near_copies_note": "按词元比较学生代码的相似度，不计练习模板本身的代码。仅供查看，不是结论；仅教师可见。",
        "similarity": "相似度",
        "shared_passages": "相同片段",
        "written_elsewhere": "书面回答（{points} 分）不计入此分数：由老师作为单独的题目评分。",
    },
}

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
