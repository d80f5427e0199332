"""Pure scoring: rubric + check outcomes + written answers (+ instructor scores) -> question results."""

from __future__ import annotations

from collections.abc import Mapping

from .answers import LocatedAnswer
from .messages import Message, msg, verbatim
from .models import CheckResult, Outcome, QuestionResult
from .rubric import ManualSpec, Rubric

ManualScores = dict[str, tuple[float, str]]  # check id -> (points, comment)


Answer = LocatedAnswer | dict | str | None  # located (or its cached JSON form), or the tagged cell's text


def score_questions(rubric: Rubric, outcomes: dict[str, Outcome], answers: Mapping[str, Answer],
                    templates: dict[str, str], manual_scores: ManualScores | None = None,
                    missing_message: str | None = None) -> tuple[QuestionResult, ...]:
    """Points per check: full for `passed`, none otherwise; manual items from the instructor's scores."""
    manual_scores = manual_scores or {}
    missing_message = missing_message or msg("check.did_not_run")
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
                           msg("answer.missing"), item.hint)
    if entered is None:
        return CheckResult(item.id, "manual", 0.0, item.points, "public", _where_message(located), item.hint)
    points, comment = entered
    points = max(0.0, min(item.points, points))
    return CheckResult(item.id, "manual", points, item.points, "public", verbatim(comment) if comment else msg("answer.scored"),
                       item.hint)


def _where_message(located: LocatedAnswer) -> Message:
    """Where the answer was found, for the instructor who scores it (and the student, who sees it was found)."""
    cells = ", ".join(str(i) for i in located.cells)
    if located.where == "below_prompt":
        return msg("answer.below_prompt", cells=cells)
    if located.where == "under_heading":
        return msg("answer.under_heading", heading=located.heading, cells=cells)
    if located.where == "elsewhere":
        return msg("answer.elsewhere", cells=cells)
    return msg("answer.awaiting")


def _normalise(text: str) -> str:
    return " ".join(text.split())
