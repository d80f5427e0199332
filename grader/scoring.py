"""Pure scoring: rubric + check outcomes + written answers (+ scores a person gave) -> question results.

A score a person gave (grader/scorestore.py) counts only while what it scored is unchanged: its fingerprint
must match the current answer (an override of an automatic check: the current notebook). Otherwise it is
stale: the item is `manual`, awaiting review (`pending`), and says the answer changed since it was scored.
"""

from __future__ import annotations

from collections.abc import Mapping

from .answers import LocatedAnswer
from .messages import Message, msg, verbatim
from .models import CheckResult, Outcome, QuestionResult
from .rubric import ManualSpec, Rubric
from .scorestore import Score, text_print

ManualScores = dict[str, "Score | tuple[float, str]"]  # check id -> a stored Score, or (points, comment)


Answer = LocatedAnswer | dict | str | None  # located (or its cached JSON form), or the tagged cell's text


def score_questions(rubric: Rubric, outcomes: dict[str, Outcome], answers: Mapping[str, Answer],
                    templates: dict[str, str], manual_scores: ManualScores | None = None,
                    missing_message: str | None = None, notebook_print: str = "") -> tuple[QuestionResult, ...]:
    """Points per check: full for `passed`, none otherwise; written answers and overrides from a person's scores.

    `notebook_print`: the fingerprint of the graded notebook (scorestore.notebook_print), for overrides.
    """
    scores = {check: _as_score(value) for check, value in (manual_scores or {}).items()}
    missing_message = missing_message or msg("check.did_not_run")
    questions = []
    for question in rubric.questions:
        results = []
        for spec in question.checks:
            outcome = outcomes.get(spec.id)
            if outcome is None:
                result = CheckResult(spec.id, "error", 0.0, spec.points, spec.visibility, missing_message, spec.hint)
            else:
                result = CheckResult(spec.id, outcome.status, spec.points if outcome.status == "passed" else 0.0,
                                     spec.points, spec.visibility, outcome.message, spec.hint)
            entry = scores.get(spec.id)
            results.append(overridden(result, entry, notebook_print) if entry and entry.override else result)
        for item in question.manual:
            results.append(manual_result(item, answers.get(item.answer), templates.get(item.answer),
                                          scores.get(item.id), notebook_print))
        questions.append(QuestionResult(question.id, question.title, tuple(results)))
    return tuple(questions)


def _as_score(value: Score | tuple[float, str]) -> Score:
    """A (points, comment) pair (an API caller's, bound to no answer) as a Score that is never stale."""
    return value if isinstance(value, Score) else Score(float(value[0]), value[1])


def _stale(entry: Score, current: str) -> bool:
    return bool(entry.answer) and entry.answer != current


def overridden(result: CheckResult, entry: Score, notebook_print: str) -> CheckResult:
    if _stale(entry, notebook_print):
        return CheckResult(result.id, "manual", 0.0, result.max_points, result.visibility, msg("review.stale"),
                           result.hint, pending=result.max_points)
    points = max(0.0, min(result.max_points, entry.points))
    return CheckResult(result.id, result.status, points, result.max_points, result.visibility,
                       verbatim(entry.comment) if entry.comment else msg("review.overridden"), result.hint)


def manual_result(item: ManualSpec, answer: Answer, template: str | None, entered: Score | None,
                  notebook_print: str) -> CheckResult:
    """A written answer is scored by a person; 0 automatically only when the notebook has no new prose for it."""
    located = LocatedAnswer.coerce(answer, template)
    if located.where == "answer_cell" and _normalise(located.text or "") == _normalise(template or ""):
        located = LocatedAnswer(None, "not_found")
    current = text_print(located.text) if located.found else notebook_print
    usable = entered is not None and not _stale(entered, current)
    if not located.found:
        if not (usable and entered is not None and entered.override):  # an answer placed elsewhere, by hand
            return CheckResult(item.id, "failed", 0.0, item.points, "public", msg("answer.missing"), item.hint)
    if entered is None:
        return CheckResult(item.id, "manual", 0.0, item.points, "public", _where_message(located), item.hint,
                           pending=item.points)
    if not usable:
        return CheckResult(item.id, "manual", 0.0, item.points, "public", msg("review.stale"), item.hint,
                           pending=item.points)
    points = max(0.0, min(item.points, entered.points))
    return CheckResult(item.id, "manual", points, item.points, "public",
                       verbatim(entered.comment) if entered.comment else msg("answer.scored"), item.hint)


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
