"""Pure scoring: rubric + check outcomes + written answers (+ instructor scores) -> question results."""

from __future__ import annotations

from collections.abc import Mapping

from .answers import LocatedAnswer
from .models import CheckResult, Outcome, QuestionResult
from .rubric import ManualSpec, Rubric

ManualScores = dict[str, tuple[float, str]]  # check id -> (points, comment)


Answer = LocatedAnswer | dict | str | None  # located (or its cached JSON form), or the tagged cell's text


def score_questions(rubric: Rubric, outcomes: dict[str, Outcome], answers: Mapping[str, Answer],
                    templates: dict[str, str], manual_scores: ManualScores | None = None,
                    missing_message: str = "this check did not run") -> tuple[QuestionResult, ...]:
    """Points per check: full for `passed`, none otherwise; manual items from the instructor's scores."""
    manual_scores = manual_scores or {}
    questions = []
    for question in rubric.questions:
        results = []
        for spec in question.checks:
            outcome = outcomes.get(spec.id)
            if outcome is None:
                results.append(CheckResult(spec.id, "error", 0.0, spec.points, spec.visibility, missing_message, spec.hint))
                continue
            points = spec.points if outcome.status == "passed" else 0.0
            results.append(CheckResult(spec.id, outcome.status, points, spec.points, spec.visibility,
                                       outcome.message, spec.hint))
        for item in question.manual:
            results.append(_manual_result(item, answers.get(item.answer), templates.get(item.answer),
                                          manual_scores.get(item.id)))
        questions.append(QuestionResult(question.id, question.title, tuple(results)))
    return tuple(questions)


def _manual_result(item: ManualSpec, answer: Answer, template: str | None,
                   entered: tuple[float, str] | None) -> CheckResult:
    """A written answer is scored by a person; 0 automatically only when the notebook has no new prose for it."""
    located = LocatedAnswer.coerce(answer, template)
    if located.where == "answer_cell" and _normalise(located.text or "") == _normalise(template or ""):
        located = LocatedAnswer(None, "not_found")
    if not located.found:
        return CheckResult(item.id, "failed", 0.0, item.points, "public",
                           "no answer written (the answer cell is empty or unchanged)", item.hint)
    if entered is None:
        return CheckResult(item.id, "manual", 0.0, item.points, "public", _where_message(located), item.hint)
    points, comment = entered
    points = max(0.0, min(item.points, points))
    return CheckResult(item.id, "manual", points, item.points, "public", comment or "scored by the instructor",
                       item.hint)


def _where_message(located: LocatedAnswer) -> str:
    """Where the answer was found, for the instructor who scores it (and the student, who sees it was found)."""
    cells = ", ".join(str(i) for i in located.cells)
    if located.where == "below_prompt":
        return f"written answer found below the prompt, not in the answer cell (cells {cells}); " \
               "awaiting the instructor's score"
    if located.where == "under_heading":
        return f"written answer not in the answer cell; text under the heading \"{located.heading}\" (cells " \
               f"{cells}) goes to the instructor for review"
    if located.where == "elsewhere":
        return f"no answer found where expected; new text elsewhere in the notebook (cells {cells}) goes to " \
               "the instructor for review"
    return "written answer awaiting the instructor's score"


def _normalise(text: str) -> str:
    return " ".join(text.split())
