"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/), one per student.

Every check is a test: `name`, `score`, `max_score`, `status` (passed | failed), `visibility`, `output`.
Visibility: public and hidden checks are `visible` (a hidden check's output is its hint only, as in our
own feedback); `after_due_date` checks keep Gradescope's `after_due_date`. Written answers are no tests
and no autograder points: the instructor grades them as Gradescope manual questions (README, and `grade export
answers` writes them one HTML per student for that), so the autograder's score is the automatic checks' sum.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import i18n
from ..files import write_atomic
from ..messages import in_report

VISIBILITY = {"public": "visible", "hidden": "visible", "after_due_date": "after_due_date"}


def _output(check: dict[str, Any], text: i18n.CourseText, lang: str) -> str:
    label = i18n.status(check["status"], lang)
    hint = text.hint(check["id"], check.get("hint", ""), lang)
    if check["status"] == "passed":
        return label
    if check["visibility"] != "public":
        return f"{i18n.status('failed', lang)}\n{i18n.ui('hint', lang)}: {hint}"
    lines = [label, in_report(check, lang)]
    if hint:
        lines.append(f"{i18n.ui('hint', lang)}: {hint}")
    return "\n".join(line for line in lines if line)


def gradescope_results(report: dict[str, Any], course: Any | None = None,
                       lang: str = i18n.DEFAULT_LANG) -> dict[str, Any]:
    """The results.json dict for one report.json dict."""
    text = i18n.course_text(course)
    manual = {m.id for r in getattr(course, "rubrics", {}).values() for q in r.questions for m in q.manual}
    tests = []
    written = 0.0
    for ex in report["exercises"]:
        for q in ex["questions"]:
            title = text.title(ex["id"], q["id"], q.get("title", q["id"]), lang)
            for check in q["checks"]:
                if check["status"] == "manual" or check["id"] in manual:  # a written answer: a Gradescope manual question, not a test
                    written += check["max_points"]
                    continue
                test: dict[str, Any] = {
                    "name": f"{check['id']} · {title}",
                    "score": check["points"],
                    "max_score": check["max_points"],
                    "visibility": VISIBILITY.get(check["visibility"], "visible"),
                    "output": _output(check, text, lang),
                    "tags": [ex["id"], q["id"]],
                }
                test["status"] = "passed" if check["status"] == "passed" else "failed"
                tests.append(test)
    summary = "\n".join(f"{ex['id']}: {ex['score']:g}/{ex['max_score']:g} ({i18n.status(ex['status'], lang)})"
                        + ("" if ex["message"] == "graded" else " " + in_report(ex, lang))
                        for ex in report["exercises"])
    if written:
        summary += "\n" + i18n.ui("written_elsewhere", lang, points=f"{written:g}")
    return {
        "score": round(sum(t["score"] for t in tests), 6),
        "execution_time": round(sum(ex.get("seconds", 0) for ex in report["exercises"])),
        "output": summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def write_gradescope(report: dict[str, Any], path: Path, course: Any | None = None,
                     lang: str = i18n.DEFAULT_LANG) -> None:
    write_atomic(path, json.dumps(gradescope_results(report, course, lang), ensure_ascii=False, indent=2) + "\n")
