"""Student-facing messages as a code plus parameters, with an English and a Chinese template per code.

The grader never builds a student-facing sentence by hand: it builds `msg("code", **params)` and a reporter
renders it at the edge with `render(message, lang)`. A `Message` is a `str` whose value is its English
rendering, so everything that treats messages as text (logs, `grade verify`, the English reports) sees exactly
the sentence it always saw, while the code and parameters travel beside it (report.json's `message_code` and
`message_params`, the cache). Text that is not the grader's own (a check author's English, an instructor's
comment, a rubric hint) is a plain `str` or `verbatim(text)` and is shown as is in every language.

Check authors write bilingual messages with `authored(en, zh, **values)` (what `checks.Feedback(en, zh=...)`
builds): the two templates travel in the parameters and must name the same placeholders.
"""

from __future__ import annotations

import string
from typing import Any, Mapping

from . import i18n

VERBATIM = "text"  # shown as is in every language
AUTHORED = "check.authored"  # a check author's own templates: params {"en", "zh", "values"}

CATALOGUE: dict[str, dict[str, str]] = {
    VERBATIM: {"en": "{text}", "zh": "{text}"},
    # plugin.py: how a check ended
    "check.did_not_run": {"en": "this check did not run", "zh": "该检查未运行"},
    "check.time_spent": {"en": "your code did not finish in time (the notebook time limit ({seconds}s) was spent)",
                         "zh": "你的代码未能按时完成（笔记本总运行时间 {seconds} 秒已用完）"},
    "check.timeout": {"en": "your code did not finish in time ({detail})", "zh": "你的代码未能按时完成（{detail}）"},
    "check.not_defined": {"en": "`{name}` is not defined in your notebook", "zh": "你的笔记本中没有定义 `{name}`"},
    "check.todo_stub": {"en": "not implemented yet (the TODO stub is still there)",
                        "zh": "尚未实现（TODO 占位代码仍在）"},
    "check.raised": {"en": "your code raised {type}", "zh": "你的代码抛出了 {type}"},
    "check.raised_hidden": {"en": "your code raised an exception", "zh": "你的代码抛出了异常"},
    "check.raised_detail": {"en": "your code raised {type}: {detail}", "zh": "你的代码抛出了 {type}：{detail}"},
    "check.kernel_died": {"en": "your code ended the kernel (exit, crash or out of memory)",
                          "zh": "你的代码使内核退出（exit、崩溃或内存不足）"},
    "check.unreadable": {"en": "your function returned data the grader cannot read",
                         "zh": "你的函数返回了评分程序无法读取的数据"},
    "check.unreadable_detail": {"en": "your function returned data the grader cannot read: {detail}",
                                "zh": "你的函数返回了评分程序无法读取的数据：{detail}"},
    "check.check_failed": {"en": "the check itself failed; your instructor has the details",
                           "zh": "检查程序本身出错；老师可以看到详细信息"},
    "check.notes": {"en": "{first} {rest}", "zh": "{first}{rest}"},
    "list.items": {"en": "{first}; {rest}", "zh": "{first}；{rest}"},
    # scoring.py: written answers
    "answer.missing": {"en": "no answer written (the answer cell is empty or unchanged)",
                       "zh": "未作答（答题单元格为空或未修改）"},
    "answer.below_prompt": {"en": "written answer found below the prompt, not in the answer cell (cells {cells}); "
                                  "awaiting the instructor's score",
                            "zh": "在提示下方找到书面回答（不在答题单元格中，单元格 {cells}）；等待老师评分"},
    "answer.under_heading": {"en": "written answer not in the answer cell; text under the heading \"{heading}\" "
                                   "(cells {cells}) goes to the instructor for review",
                             "zh": "书面回答不在答题单元格中；标题“{heading}”下的文字（单元格 {cells}）将交由老师审阅"},
    "answer.elsewhere": {"en": "no answer found where expected; new text elsewhere in the notebook (cells {cells}) "
                               "goes to the instructor for review",
                         "zh": "在应作答的位置没有找到回答；笔记本中其他位置新增的文字（单元格 {cells}）将交由老师审阅"},
    "answer.awaiting": {"en": "written answer awaiting the instructor's score", "zh": "书面回答等待老师评分"},
    "answer.scored": {"en": "scored by the instructor", "zh": "已由老师评分"},
    "review.stale": {"en": "awaiting review: the answer changed since it was scored",
                     "zh": "等待复核：评分之后答案已被修改"},
    "review.overridden": {"en": "score set by the instructor", "zh": "分数由老师给出"},
    # exercise.py, jobs.py, batch.py: an exercise as a whole
    "exercise.graded": {"en": "graded", "zh": "已评分"},
    "exercise.graded_with_cells": {"en": "graded; {count} cell problem(s), see cells",
                                   "zh": "已评分；{count} 个单元格有问题，见“单元格运行情况”"},
    "exercise.missing": {"en": "no notebook for this exercise (expected {notebook})",
                         "zh": "没有提交本练习的笔记本（应为 {notebook}）"},
    "exercise.stray_only": {"en": "no notebook for this exercise; {reasons}", "zh": "没有提交本练习的笔记本；{reasons}"},
    "exercise.stray_unknown": {"en": "{name}: not one of this course's exercises (no grader metadata, unknown file name)",
                               "zh": "{name}：不是本课程的练习（没有评分元数据，文件名也不认识）"},
    "exercise.stray_second": {"en": "{name}: a second notebook for exercise {exercise}; graded {graded}",
                              "zh": "{name}：练习 {exercise} 的第二个笔记本；已评分的是 {graded}"},
    "exercise.unreadable_file": {"en": "{name}: cannot be read ({reason})", "zh": "{name}：无法读取（{reason}）"},
    "exercise.not_run": {"en": "the notebook could not be run: {detail}", "zh": "笔记本无法运行：{detail}"},
    "exercise.grader_failed": {"en": "the grader failed on this notebook ({type}); your instructor has the details",
                               "zh": "评分程序在这个笔记本上出错（{type}）；老师可以看到详细信息"},
    "exercise.lost": {"en": "this notebook could not be graded: {reason}", "zh": "这个笔记本无法评分：{reason}"},
    "exercise.not_written": {"en": "its executed notebook could not be written: {detail}",
                             "zh": "运行后的笔记本无法写入：{detail}"},
    # lms.py: the late policy, as the feedback and the class summary say it
    "late.one_day": {"en": "{exercise}: 1 day late, {percent}% taken by the late policy: {final}/{max} "
                           "(before: {score})",
                     "zh": "{exercise}：迟交 1 天，按迟交规定扣除 {percent}%：{final}/{max}（扣除前：{score}）"},
    "late.days": {"en": "{exercise}: {days} days late, {percent}% taken by the late policy: {final}/{max} "
                        "(before: {score})",
                  "zh": "{exercise}：迟交 {days} 天，按迟交规定扣除 {percent}%：{final}/{max}（扣除前：{score}）"},
    "late.flag": {"en": "LATE", "zh": "迟交"},
    "late.named_flag": {"en": "{name} LATE", "zh": "{name}（迟交）"},
    "late.after_policy": {"en": "{final} after the late policy", "zh": "按迟交规定扣分后 {final}"},
    "late.named_after_policy": {"en": "{name} · {final} after the late policy", "zh": "{name} · 按迟交规定扣分后 {final}"},
    # kernel.py: what happened to a cell
    "cell.interrupted": {"en": "this cell was interrupted after {seconds}s", "zh": "该单元格运行 {seconds} 秒后被中断"},
    "cell.output_cut": {"en": "this cell's output was cut: too much output", "zh": "该单元格输出过多，已被截断"},
    "cell.kernel_died": {"en": "this cell ended the kernel (exit, crash or out of memory); the notebook was re-run "
                               "without it", "zh": "该单元格使内核退出（exit、崩溃或内存不足）；已跳过它重新运行笔记本"},
    "cell.stuck": {"en": "this cell did not stop when interrupted; the kernel was restarted and the notebook re-run "
                         "without it", "zh": "该单元格在中断后仍未停止；已重启内核并跳过它重新运行笔记本"},
    "cell.ignored_interrupt": {"en": "this cell ignored the interrupt after its time limit; the kernel was restarted "
                                     "and the notebook re-run without it",
                               "zh": "该单元格超时后忽略了中断；已重启内核并跳过它重新运行笔记本"},
    "cell.notebook_timeout": {"en": "the notebook time limit ({seconds}s) was reached; this cell and the ones after "
                                    "it did not run", "zh": "笔记本总运行时间已达上限（{seconds} 秒）；该单元格及之后的单元格没有运行"},
    "cell.output_cut_detail": {"en": "this cell's output was cut: too much output (over {limit} in this notebook); "
                                    "not kept: {what}", "zh": "该单元格输出过多，已被截断（本笔记本超过 {limit}）；未保留：{what}"},
    "cell.time_spent": {"en": "the notebook time limit ({seconds}s) was spent; the checks still waiting were not run "
                              "(timeout)", "zh": "笔记本总运行时间已用完（{seconds} 秒）；尚未运行的检查均记为超时"},
    "cell.gave_up": {"en": "the kernel died {count} times; gave up", "zh": "内核已退出 {count} 次；放弃运行"},
    # checks.py: the comparisons check authors use, and how they name what a function returned
    "expect.the_result": {"en": "the result", "zh": "结果"},
    "expect.not_tensor": {"en": "{what} should be a torch.Tensor, but it is {got}",
                          "zh": "{what} 应为 torch.Tensor，但实际是 {got}"},
    "expect.not_plain_tensor": {"en": "{what} should be a plain torch.Tensor, but it is {got}",
                                "zh": "{what} 应为普通的 torch.Tensor，但实际是 {got}"},
    "expect.dtype": {"en": "{what} should have dtype {want}, but it has dtype {got}",
                     "zh": "{what} 的 dtype 应为 {want}，但实际是 {got}"},
    "expect.shape": {"en": "{what} should have shape {want}, but it has shape {got}",
                     "zh": "{what} 的形状应为 {want}，但实际是 {got}"},
    "expect.not_finite": {"en": "{what} contains NaN or infinity", "zh": "{what} 含有 NaN 或无穷大"},
    "expect.value": {"en": "{what} should be {want}, but it is {got}", "zh": "{what} 应为 {want}，但实际是 {got}"},
    "expect.not_number": {"en": "{what} should be a number, but it is {got}", "zh": "{what} 应为数字，但实际是 {got}"},
    "expect.not_finite_number": {"en": "{what} should be a finite number, but it is {got}",
                                 "zh": "{what} 应为有限的数字，但实际是 {got}"},
    "expect.raises_stub": {"en": "{what} should raise {error}, but it raised NotImplementedError: the TODO stub is "
                                 "still there (a stub never counts as the expected error)",
                           "zh": "{what} 应抛出 {error}，但抛出的是 NotImplementedError：TODO 占位代码仍在（占位代码从不算作预期的错误）"},
    "expect.raises_other": {"en": "{what} should raise {error}, but it raised {got}",
                            "zh": "{what} 应抛出 {error}，但抛出的是 {got}"},
    "expect.raises_returned": {"en": "{what} should raise {error}, but it returned {got}",
                               "zh": "{what} 应抛出 {error}，但它返回了 {got}"},
    "expect.values_form": {"en": "{what} should be {want} ({lesson_form} in the lesson; a number, a one-element tensor "
                                 "or a list with the same value is accepted too), but it is {got}",
                           "zh": "{what} 应为 {want}（课上的形式是 {lesson_form}；数值相同的数字、单元素张量或列表也可以），"
                                 "但实际是 {got}"},
    "expect.values_count": {"en": "{what} should hold {count} value(s) ({want}), but {got} holds {got_count}: {values}",
                            "zh": "{what} 应包含 {count} 个值（{want}），但 {got} 包含 {got_count} 个：{values}"},
    "expect.values_not_finite": {"en": "{what} contains NaN or infinity: {values}", "zh": "{what} 含有 NaN 或无穷大：{values}"},
    "expect.accepted_form": {"en": "{what}: accepted {got} for its value {want}; the lesson's form is {lesson_form}.",
                             "zh": "{what}：按数值 {want} 接受了 {got}；课上的形式是 {lesson_form}。"},
    "expect.not_sequence": {"en": "{what} should be a list or tuple, but it is {got}",
                            "zh": "{what} 应为列表或元组，但实际是 {got}"},
    "expect.length": {"en": "{what} should have {count} items, but it has {got}",
                      "zh": "{what} 应有 {count} 项，但实际有 {got} 项"},
    "describe.numpy": {"en": "a numpy array of dtype {dtype} and shape {shape}",
                       "zh": "dtype 为 {dtype}、形状为 {shape} 的 numpy 数组"},
    "describe.tensor": {"en": "tensor of dtype {dtype} and shape {shape}", "zh": "dtype 为 {dtype}、形状为 {shape} 的张量"},
    "describe.tensor_subclass": {"en": "tensor subclass {cls} of dtype {dtype} and shape {shape}",
                                 "zh": "dtype 为 {dtype}、形状为 {shape} 的张量子类 {cls}"},
    "describe.sequence": {"en": "a {type} of {count} item(s)", "zh": "含 {count} 项的 {type}"},
    "describe.sequence_kinds": {"en": "a {type} of {count} item(s) ({kinds})", "zh": "含 {count} 项的 {type}（{kinds}）"},
    "describe.module": {"en": "nn.Module {cls}", "zh": "{cls} 模块（nn.Module）"},
    "describe.object": {"en": "an object of class {cls}", "zh": "{cls} 类的对象"},
    "describe.other": {"en": "a {type}", "zh": "一个 {type}"},
    "describe.kind_numpy": {"en": "numpy arrays", "zh": "numpy 数组"},
    "describe.kind_tensor": {"en": "tensors", "zh": "张量"},
    "describe.kind_tensor_subclass": {"en": "tensor subclasses", "zh": "张量子类"},
    "describe.kind_other": {"en": "{type}s", "zh": "{type} 值"},
    "list.comma": {"en": "{first}, {rest}", "zh": "{first}、{rest}"},
}


def placeholders(template: str) -> set[str]:
    """The field names a template formats."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Message(str):
    """A student-facing message: its value is the English text; `code` and `params` render it in any language.

    Parameters are JSON values (str, int, float) or Messages (rendered in the same language).
    """

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, params: Mapping[str, Any] | None = None) -> "Message":
        params = dict(params or {})
        self = super().__new__(cls, _format(code, params, "en"))
        self.code, self.params = code, params
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickled across worker processes with its code
        return (Message, (self.code, self.params))

    def render(self, lang: str) -> str:
        return str(self) if lang == "en" else _format(self.code, self.params, lang)


def _format(code: str, params: Mapping[str, Any], lang: str) -> str:
    if code == AUTHORED:  # the author's templates travel in the parameters
        template, values = params.get(lang) or params["en"], params.get("values", {})
    else:
        template, values = CATALOGUE[code][lang], params
    return template.format(**{k: render(v, lang) if isinstance(v, Message) else v for k, v in values.items()})


def msg(code: str, **params: Any) -> Message:
    """The catalogue message `code` with `params` (KeyError for an unknown code or a missing parameter)."""
    if code not in CATALOGUE:
        raise KeyError(f"no message {code!r} in the catalogue")
    return Message(code, params)


def verbatim(text: str) -> Message:
    """Text that is not the grader's own (a check author's, an instructor's), shown as is in every language."""
    return text if isinstance(text, Message) else Message(VERBATIM, {"text": str(text)})


def authored(en: str, zh: str, **values: Any) -> Message:
    """A check author's message with its own English and Chinese templates (the same placeholders in both)."""
    if placeholders(en) != placeholders(zh):
        raise ValueError(f"the English and Chinese texts name different placeholders: {en!r} / {zh!r}")
    return Message(AUTHORED, {"en": en, "zh": zh, "values": values})


def render(message: str, lang: str = i18n.DEFAULT_LANG) -> str:
    """`message` in `lang`: a Message rendered from its code; any other text as is."""
    return message.render(lang) if isinstance(message, Message) else message


def joined(items: list[str], code: str = "list.items") -> Message:
    """Several messages as one, in order: `code` ("list.items": "a; b", "check.notes": "a b") joins two."""
    if not items:
        return verbatim("")
    said = verbatim(items[-1])
    for item in reversed(items[:-1]):
        said = msg(code, first=verbatim(item), rest=said)
    return said


def clipped(message: Message, limit: int, field: str | None = None) -> Message:
    """`message` at most `limit` characters of English: `field` (the last one of the template) is shortened,
    or, without one, the English text itself is cut (and shown as is)."""
    text = str(message)
    if len(text) <= limit:
        return message
    if field is not None and isinstance(message.params.get(field), str):
        value = message.params[field]
        keep = len(value) - (len(text) - limit) - 3
        if keep >= 0:
            shorter = Message(message.code, {**message.params, field: value[:keep] + "..."})
            if str(shorter) == text[: limit - 3] + "...":
                return shorter
    return verbatim(text[: limit - 3] + "...")


# -- report.json and the cache --------------------------------------------------------------------------------------
def to_json(message: str) -> dict[str, Any]:
    """`message_code` and `message_params` for report.json (a plain text is the verbatim code)."""
    message = verbatim(message)
    return {"message_code": message.code, "message_params": {k: _param_to_json(v) for k, v in message.params.items()}}


def _param_to_json(value: Any) -> Any:
    if isinstance(value, Message):
        return {"message": str(value), **to_json(value)}
    if isinstance(value, dict):
        return {k: _param_to_json(v) for k, v in value.items()}
    return value


def from_json(text: str, code: str | None, params: Mapping[str, Any] | None) -> str:
    """The message report.json or the cache stored: a Message when its code is known here, else `text` as is
    (a version-1 report has no code; a code from another grader version may be unknown)."""
    if not code:
        return text
    try:
        message = Message(code, {k: _param_from_json(v) for k, v in (params or {}).items()})
        message.render("zh")
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return text
    return message


def _param_from_json(value: Any) -> Any:
    if isinstance(value, dict) and "message_code" in value:
        return from_json(value.get("message", ""), value["message_code"], value.get("message_params"))
    if isinstance(value, dict):
        return {k: _param_from_json(v) for k, v in value.items()}
    return value


def in_report(entry: Mapping[str, Any], lang: str) -> str:
    """The `message` of a report.json entry (a check, an exercise, a cell note) in `lang`."""
    if lang == "en":
        return entry.get("message", "")
    return render(from_json(entry.get("message", ""), entry.get("message_code"), entry.get("message_params")), lang)
