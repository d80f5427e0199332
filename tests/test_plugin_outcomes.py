"""What a check's end may show the student, public or hidden: the plugin's outcome classification, without a kernel.

Each scenario runs as a public, a hidden, an after-the-due-date check and one the rubric does not list (graded as
hidden), through `run_checks` and `GraderPlugin` with a scripted channel in place of the kernel. A hidden check
never shows what it fed the student's code or expected back: only its status, fixed sentences, the student's own
exception type, a Feedback message that reveals no values, or its rubric hint. The instructor's detail keeps all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.checkrun import run_checks
from grader.codec import MissingDefinition, StudentException
from grader.errors import CallTimeout, KernelDied, ProtocolError
from grader.models import REFERENCE_UNAVAILABLE, Outcome
from grader.plugin import MAX_MESSAGE, GraderPlugin
from grader.rubric import load_rubric
from grader.seeds import Seeds
from grader.session import StudentSession

SECRET = "0.4217"  # an input only a hidden check knows: it must never reach a hidden check's message
VISIBILITIES = ("public", "hidden", "after_due_date")
NOT_IMPLEMENTED = ("builtins.NotImplementedError", "builtins.RuntimeError", "builtins.Exception",
                   "builtins.BaseException", "builtins.object")

# What the "kernel" answers each scenario's call with: a value, or an exception the channel raises.
ANSWERS: dict[str, Any] = {
    "timeout": CallTimeout("the call took over 5 s"),
    "missing": MissingDefinition("double"),
    "todo_stub": StudentException("NotImplementedError", "builtins", NOT_IMPLEMENTED, "TODO: implement double"),
    "student_raises": StudentException("ValueError", "builtins", ("builtins.ValueError",),
                                       f"math domain error for x={SECRET}"),
    "kernel_died": KernelDied(f"the kernel died while calling double({SECRET})"),
    "unreadable": ProtocolError(f"value at {SECRET} is not JSON"),
}

# Each scenario's check body: `value = student.call(<scenario>)` runs first.
SCENARIOS = {
    "passes": "pass",
    "noted": 'note("a float was accepted where a tensor was expected")',
    "feedback": 'raise Feedback("double(2) should be 4")',
    "feedback_reveals": f'raise Feedback("double({SECRET}) should be {2 * float(SECRET)}", reveals_values=True)',
    "long_feedback": 'raise Feedback("x" * 1000)',
    "assertion": f'assert not value, "double({SECRET}) is wrong\\nsecond line"',
    "compare_assertion": f'assert value == 4, "double({SECRET}) is wrong\\nsecond line"',
    "empty_assertion": "raise AssertionError()",
    "check_bug": f'{{}}["no such key {SECRET}"]',
    **{name: "pass" for name in ANSWERS},
}
NEEDS_REFERENCE = "no_reference"  # its check asks for the reference solution, and the course has none
# checkrun runs pytest without its terminal plugin; pytest's explanation of a failed `assert a == b, "message"`
# then fails on `config.get_terminal_writer()`, and the check ends in a bare AssertionError raised inside pytest:
# a public check shows its hint instead of the author's message. Not disabling "terminal" fixes it.
class ScriptedChannel:
    """The kernel agent's side: each call's target names its scenario, answered from ANSWERS (else 5)."""

    def request(self, request: dict[str, Any], timeout: float | None = None) -> Any:
        answer = ANSWERS.get(request["target"], 5)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def check_source() -> str:
    lines = ["from grader.checks import Feedback, check, note\n"]
    for name, body in SCENARIOS.items():
        for visibility in (*VISIBILITIES, "unlisted"):
            lines.append(f'@check("{name}", "{visibility}")\ndef test_{name}_{visibility}(student):\n'
                         f'    value = student.call("{name}")\n    {body}\n')
    for visibility in (*VISIBILITIES, "unlisted"):
        lines.append(f'@check("{NEEDS_REFERENCE}", "{visibility}")\n'
                     f'def test_{NEEDS_REFERENCE}_{visibility}(student, reference):\n    pass\n')
    return "\n".join(lines)


def rubric_source() -> str:
    parts = ['exercise = "ex"\nnotebook = "ex.ipynb"\n']
    for name in (*SCENARIOS, NEEDS_REFERENCE):
        for visibility in VISIBILITIES:
            parts.append(f'[questions.{name}.checks.{visibility}]\npoints = 1\nvisibility = "{visibility}"\n'
                         f'hint = "hint for {name}"\n')
    return "\n".join(parts)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Outcome]:
    """Every scenario's outcome, by (scenario, visibility)."""
    root = tmp_path_factory.mktemp("outcomes")
    checks = root / "rubrics" / "checks" / "ex" / "public"
    checks.mkdir(parents=True)
    (checks / "test_scenarios.py").write_text(check_source(), encoding="utf-8")
    (root / "rubrics" / "ex.toml").write_text(rubric_source(), encoding="utf-8")
    plugin = GraderPlugin(rubric=load_rubric(root / "rubrics" / "ex.toml"),
                          student=StudentSession(ScriptedChannel(), nbformat.v4.new_notebook()),
                          reference_path=root / "reference" / "ex.ipynb", seeds=Seeds(b"s", "student"))
    run_checks([checks], plugin)
    assert plugin.collection_errors == [] and plugin.unmapped == []
    return {tuple(check_id.split(".")[1:]): outcome for check_id, outcome in plugin.outcomes.items()}


def test_every_scenario_ran_in_every_visibility(outcomes):
    assert set(outcomes) == {(name, visibility) for name in (*SCENARIOS, NEEDS_REFERENCE)
                             for visibility in (*VISIBILITIES, "unlisted")}


def shown(outcomes, name: str) -> dict[str, tuple[str, str]]:
    """(status, message) by visibility; `unlisted` and `after_due_date` are asserted to be shown as hidden."""
    result = {v: (outcomes[name, v].status, outcomes[name, v].message) for v in (*VISIBILITIES, "unlisted")}
    assert result["after_due_date"] == result["hidden"], name
    return result


SHOWN = [
    ("passes", ("passed", ""), ("passed", "")),
    # A hidden check shows only its verdict and fixed hint (issue 14): no note, no Feedback text, no type name.
    ("noted", ("passed", "a float was accepted where a tensor was expected"), ("passed", "")),
    ("feedback", ("failed", "double(2) should be 4"), ("failed", "hint for feedback")),
    ("feedback_reveals", ("failed", f"double({SECRET}) should be {2 * float(SECRET)}"),
     ("failed", "hint for feedback_reveals")),
    ("assertion", ("failed", f"double({SECRET}) is wrong"), ("failed", "hint for assertion")),
    ("compare_assertion", ("failed", f"double({SECRET}) is wrong"), ("failed", "hint for compare_assertion")),
    ("empty_assertion", ("failed", "hint for empty_assertion"), ("failed", "hint for empty_assertion")),
    ("timeout", ("timeout", "your code did not finish in time (the call took over 5 s)"),
     ("timeout", "your code did not finish in time (the call took over 5 s)")),
    ("missing", ("failed", "`double` is not defined in your notebook"),
     ("failed", "`double` is not defined in your notebook")),
    ("todo_stub", ("failed", "not implemented yet (the TODO stub is still there)"),
     ("failed", "not implemented yet (the TODO stub is still there)")),
    ("student_raises", ("failed", f"your code raised ValueError: math domain error for x={SECRET}"),
     ("failed", "your code raised an exception")),
    ("kernel_died", ("failed", "your code ended the kernel (exit, crash or out of memory)"),
     ("failed", "your code ended the kernel (exit, crash or out of memory)")),
    ("unreadable", ("failed", f"your function returned data the grader cannot read: value at {SECRET} is not JSON"),
     ("failed", "your function returned data the grader cannot read")),
    ("check_bug", ("error", "the check itself failed; your instructor has the details"),
     ("error", "the check itself failed; your instructor has the details")),
    (NEEDS_REFERENCE, ("error", "the check itself failed; your instructor has the details"),
     ("error", "the check itself failed; your instructor has the details")),
]


@pytest.mark.parametrize("name, public, hidden", SHOWN, ids=[getattr(c, "values", c)[0] for c in SHOWN])
def test_what_each_ending_shows(outcomes, name, public, hidden):
    seen = shown(outcomes, name)
    assert seen["public"] == public
    assert seen["hidden"] == hidden
    # graded as hidden; a check the rubric does not list has no hint to fall back on
    assert seen["unlisted"] == (hidden[0], hidden[1].replace(f"hint for {name}", ""))


def test_a_hidden_check_never_shows_its_inputs_but_the_instructor_sees_them(outcomes):
    for (name, visibility), outcome in outcomes.items():
        if visibility != "public":
            assert SECRET not in outcome.message, (name, visibility)
    for name in ("feedback_reveals", "assertion", "compare_assertion", "student_raises", "unreadable", "check_bug"):
        assert SECRET in outcomes[name, "hidden"].detail, name


def test_long_messages_are_clipped(outcomes):
    message = outcomes["long_feedback", "public"].message
    assert len(message) == MAX_MESSAGE and message == "x" * (MAX_MESSAGE - 3) + "..."
    for visibility in VISIBILITIES[1:]:
        assert outcomes["long_feedback", visibility].message == "hint for long_feedback"


def test_a_hidden_pass_keeps_its_notes_for_the_instructor(outcomes):
    assert outcomes["noted", "hidden"].detail == "a float was accepted where a tensor was expected"


def test_only_a_missing_reference_is_given_a_reason(outcomes):
    assert {outcomes[NEEDS_REFERENCE, v].reason for v in VISIBILITIES} == {REFERENCE_UNAVAILABLE}
    assert outcomes["check_bug", "hidden"].reason == ""
    assert "KeyError" in outcomes["check_bug", "hidden"].detail
    assert "reference solution not found" in outcomes[NEEDS_REFERENCE, "hidden"].detail


def test_a_pass_carries_no_detail(outcomes):
    assert outcomes["passes", "hidden"] == Outcome("ex.passes.hidden", "passed", "")
