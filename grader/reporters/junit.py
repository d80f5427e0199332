"""JUnit XML for CI dashboards: a testsuite per student and exercise, a testcase per check.

`passed` -> a plain testcase; `failed` and `timeout` -> <failure>; `error` -> <error>; written answers
(`manual`) -> <skipped> with the instructor's score or "awaiting". This is the instructor's view: messages
of hidden checks are included. A self-check (`grade check --junit`) is written the same way, for a student
repository's CI: its public checks only, `unavailable` as an error.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..files import write_atomic
from ..selfcheck import PUBLIC_STUDENT, SelfCheck
from .view import self_check_view

NO_REFERENCE = "reference solution not found"

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    """Text XML 1.0 can carry (control characters a student printed are dropped)."""
    return _NOT_XML.sub("", text)


def junit_xml(reports: list[dict[str, Any]]) -> str:
    """One <testsuites> document over all reports."""
    root = ET.Element("testsuites", name="grader")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for report in sorted(reports, key=lambda r: r["student"]):
        for ex in report["exercises"]:
            suite = ET.SubElement(root, "testsuite", name=_clean(f"{report['student']}.{ex['id']}"),
                                  time=f"{ex.get('seconds', 0):.3f}", timestamp=report.get("graded_at", ""))
            counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
            for q in ex["questions"]:
                for check in q["checks"]:
                    counts["tests"] += 1
                    case = ET.SubElement(suite, "testcase", name=check["id"].rsplit(".", 1)[-1], time="0",
                                         classname=_clean(f"{report['student']}.{ex['id']}.{q['id']}"))
                    message = _clean(check["message"])
                    if check["status"] in ("failed", "timeout"):
                        counts["failures"] += 1
                        node = ET.SubElement(case, "failure", message=message, type=check["status"])
                        node.text = _clean(check.get("hint", ""))
                    elif check["status"] == "error":
                        counts["errors"] += 1
                        ET.SubElement(case, "error", message=message, type="error")
                    elif check["status"] == "manual":
                        counts["skipped"] += 1
                        ET.SubElement(case, "skipped",
                                      message=_clean(f"written answer {check['points']:g}/{check['max_points']:g}: "
                                                     f"{check['message']}"))
            for key, value in counts.items():
                suite.set(key, str(value))
                totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(reports: list[dict[str, Any]], path: Path) -> None:
    write_atomic(path, junit_xml(reports))


def write_self_check_junit(check: SelfCheck, path: Path) -> None:
    """The public checks of a self-check as JUnit XML, in English."""
    view = self_check_view(check)
    questions = [{"id": q.id, "checks": [
        {"id": c.id, "status": "error" if c.status == "unavailable" else c.status,
         "message": NO_REFERENCE if c.status == "unavailable" else c.message, "hint": c.hint,
         "points": c.points, "max_points": c.max_points} for c in q.checks]} for q in view.questions]
    write_junit([{"student": PUBLIC_STUDENT, "exercises": [{"id": view.exercise, "questions": questions}]}], path)
