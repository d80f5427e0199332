"""What `grade review` shows and saves: the queue of items needing a person, one item, and a save.

No web framework here (grader/review/app.py serves this): a save validates the score (grader/manual.py),
takes the OUT lock, writes the score store with conflict detection (each entry's version is its etag), then
rewrites that student's report.json, feedback and the gradebook with the batch's and export's own functions.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt
from nbformat import NotebookNode

from .. import i18n
from ..batch import rebuild_gradebook
from ..course import Course
from ..errors import UsageError
from ..exercise import answer_templates
from ..export import ExportOptions, write_feedback
from ..layout import OutLayout
from ..manual import ScoreRefused, out_notebooks, specs, validate_score
from ..messages import in_report
from ..models import CheckResult
from ..reporters.json_report import check_to_dict, retotal, write_report_data
from ..rubric import CheckSpec, ManualSpec
from ..scorestore import Score, ScoreStore, notebook_print, out_lock
from ..scoring import manual_result, overridden
from ..answers import written_answer
from .cells import item_cells
from .mathspans import with_math
from .pairs import pair_rows

# the markdown of a student's answer; html=False: any HTML they wrote is shown as text, never as markup
_MARKDOWN = with_math(MarkdownIt("commonmark", {"html": False}))
KINDS = ("written", "stale", "unplaced", "error", "not_gradable", "reviewed", "near_copy", "near_copy_decided")
# Where answers.py found text it could not place with confidence (report.json keeps the message code).
NOT_CONFIDENT = ("answer.under_heading", "answer.elsewhere")


def render_answer(answer: str) -> str:
    """A written answer as HTML: Markdown rendered with any HTML escaped, math kept intact in
    <span class="math"> for the page's KaTeX (grader/review/mathspans.py)."""
    return _MARKDOWN.render(answer)


class Review:
    """The review of one OUT folder against its course; every call reads the files afresh."""

    def __init__(self, layout: OutLayout, course: Course, lang: str = i18n.DEFAULT_LANG, who: str = "") -> None:
        self.layout, self.course, self.lang, self.who = layout, course, lang, who
        self.specs = specs(course)
        self.templates = answer_templates(course)

    # -- reading -----------------------------------------------------------------------------------------------
    def reports(self) -> dict[str, dict[str, Any]]:
        found = {}
        for path in self.layout.reports():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            found[data["student"]] = data
        return found

    def queue(self) -> list[dict[str, Any]]:
        """Every item needing a person, and written answers already scored (kind `reviewed`), in rubric order;
        then the near-copy pairs (kinds near_copy, near_copy_decided). Each row's `item` is its API path."""
        store = ScoreStore.load(self.layout)
        order = {check: n for n, check in enumerate(self.specs)}
        items = []
        for student, report in sorted(self.reports().items()):
            for ex in report["exercises"]:
                if ex["status"] == "not_gradable":
                    items.append(self._row(student, ex["id"], ex["id"], "not_gradable", ex, len(order)))
                    continue
                for q in ex["questions"]:
                    for c in q["checks"]:
                        kind = self._kind(c, store.get(student, c["id"]), student)
                        if kind:
                            items.append(self._row(student, c["id"], ex["id"], kind, c, order.get(c["id"], 0)))
        items += pair_rows(self.layout, store, len(order) + 1)
        return sorted(items, key=lambda i: (i["order"], i["student"], i.get("other", "")))

    def _kind(self, check: dict[str, Any], entry: Score | None, student: str) -> str:
        spec = self.specs.get(check["id"])
        if check.get("pending"):
            if entry is not None:
                return "stale"
            if isinstance(spec, ManualSpec) and check.get("message_code") in NOT_CONFIDENT:
                return "unplaced"
            return "written"
        if check["status"] == "error" and entry is None:
            return "error"
        if isinstance(spec, ManualSpec) and check["status"] == "manual" or entry is not None:
            return "reviewed"
        return ""

    def _row(self, student: str, check: str, exercise: str, kind: str, entry: dict[str, Any],
             order: int) -> dict[str, Any]:
        return {"student": student, "check": check, "exercise": exercise, "kind": kind, "order": order,
                "item": f"/api/item/{quote(student, safe='')}/{quote(check, safe='')}",
                "points": entry.get("points", entry.get("score")), "max_points": entry.get("max_points",
                                                                                           entry.get("max_score")),
                "pending": entry.get("pending", 0), "status": entry["status"]}

    def _notebook(self, student: str, exercise: str) -> NotebookNode | None:
        return out_notebooks(self.layout, [student]).get(student, {}).get(exercise)

    def _answer_in(self, nb: NotebookNode | None, spec: ManualSpec) -> str | None:
        return None if nb is None else written_answer(nb, spec.answer, self.course.exercise_notebook(spec.exercise))

    def item(self, student: str, check: str) -> dict[str, Any]:
        """One item in full: the answer rendered, the note, points, the store's entry and version, failure detail."""
        report = self.reports().get(student)
        if report is None:
            raise ScoreRefused(f"{student!r} is not a student of this OUT folder")
        if check in self.course.rubrics:  # an exercise that could not be graded
            ex = next(e for e in report["exercises"] if e["id"] == check)
            details = self._details(student).get(check, {})
            return {"student": student, "check": check, "kind": "not_gradable", "title": self.course.rubrics[check].title,
                    "message": in_report(ex, self.lang), "detail": details.get("grader_error", ""),
                    "scorable": False, "version": 0}
        spec = self.specs.get(check)
        found = _find_check(report, check)
        if spec is None or found is None:
            raise ScoreRefused(f"{check!r} is not a check or written answer of {student}'s report")
        entry = ScoreStore.load(self.layout).get(student, check)
        item: dict[str, Any] = {
            "student": student, "check": check, "exercise": spec.exercise, "question": spec.question,
            "title": _question_title(self.course, spec, self.lang), "status": found["status"],
            "points": found["points"], "max_points": spec.points, "pending": found.get("pending", 0),
            "message": in_report(found, self.lang), "hint": spec.hint, "scorable": True,
            "written": isinstance(spec, ManualSpec), "version": entry.version if entry else 0,
            "score": None if entry is None else {"points": entry.points, "comment": entry.comment, "who": entry.who,
                                                 "when": entry.when, "override": entry.override},
        }
        nb = self._notebook(student, spec.exercise)
        if isinstance(spec, ManualSpec):
            answer = self._answer_in(nb, spec)
            item.update(note=spec.note, answer=answer or "",
                        answer_html=render_answer(answer) if answer else "", placed=answer is not None,
                        cells=item_cells(nb, answer=spec.answer))
        else:
            detail = self._details(student).get(spec.exercise, {}).get("checks", {}).get(check, {})
            uses = next((q.uses for q in self.course.rubrics[spec.exercise].questions if q.id == spec.question), ())
            item.update(note="", detail=detail.get("detail", ""), misconception=detail.get("misconception", ""),
                        cells=item_cells(nb, uses=tuple(uses)))
        return item

    def _details(self, student: str) -> dict[str, Any]:
        try:
            return json.loads(self.layout.details(student).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    # -- saving ------------------------------------------------------------------------------------------------
    def save(self, student: str, check: str, points: object, comment: str = "", version: int | None = None,
             who: str = "") -> dict[str, Any]:
        """Store a score and rewrite the student's report, feedback and the gradebook; returns the item.

        ScoreRefused when the score is not valid, ScoreConflict when `version` is not the entry's current one,
        OutBusy when a grade run holds OUT.
        """
        spec = self.specs.get(check)
        if spec is None:
            raise ScoreRefused(f"{check!r} is not a check or written answer of any rubric")
        with out_lock(self.layout, wait=10.0):
            notebooks = out_notebooks(self.layout, [student]) if self.layout.report(student).is_file() else {}
            nb = notebooks.get(student, {}).get(spec.exercise)
            override = isinstance(spec, CheckSpec) or (nb is not None and isinstance(spec, ManualSpec)
                                                       and self._answer_in(nb, spec) is None)
            value, fingerprint = validate_score(self.course, self.templates, notebooks, student, check, points,
                                                override)
            store = ScoreStore.load(self.layout)
            entry = store.put(student, check, Score(value, comment.strip(), override, who or self.who,
                                                    answer=fingerprint), version)
            store.save()
            self._rewrite(student, spec, entry, nb)
        return self.item(student, check)

    def _rewrite(self, student: str, spec: CheckSpec | ManualSpec, entry: Score, nb: NotebookNode | None) -> None:
        report = self.reports()[student]
        found = _find_check(report, spec.id)
        if found is None:
            raise UsageError(f"{spec.id} is not in {student}'s report.json; grade again first")
        if isinstance(spec, ManualSpec):
            answer = self._answer_in(nb, spec)
            result = manual_result(spec, answer, self.templates.get(spec.answer), entry, notebook_print(nb))
        else:
            status = found["status"] if found["status"] != "manual" else "failed"
            base = CheckResult(spec.id, status, 0.0, spec.points, spec.visibility, found["message"], spec.hint)
            result = overridden(base, entry, notebook_print(nb))
        found.clear()
        found.update(check_to_dict(result))
        write_report_data(retotal(report), self.layout.report(student))
        write_feedback(report, self.layout.student_dir(student), self.course, ExportOptions(self.lang))
        rebuild_gradebook(self.layout, sorted(self.reports()), self.course)


def _find_check(report: dict[str, Any], check: str) -> dict[str, Any] | None:
    for ex in report["exercises"]:
        for q in ex["questions"]:
            for c in q["checks"]:
                if c["id"] == check:
                    return c
    return None


def _question_title(course: Course, spec: CheckSpec | ManualSpec, lang: str) -> str:
    question = next(q for q in course.rubrics[spec.exercise].questions if q.id == spec.question)
    return (question.title_zh if lang == "zh" and question.title_zh else question.title)
