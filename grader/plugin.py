"""The pytest plugin that runs checks in the trusted process: fixtures in, outcomes out."""

from __future__ import annotations

import random
import traceback
from pathlib import Path
from typing import Any

import pytest

from .checks import MARKER, Feedback, take_notes
from .codec import MissingDefinition, StudentException
from .errors import CallTimeout, KernelDied, ProtocolError, ReferenceUnavailable
from .models import REFERENCE_UNAVAILABLE, Outcome
from .reference import load_reference
from .rubric import Rubric
from .seeds import Seeds
from .session import StudentSession

MAX_MESSAGE = 600


class GraderPlugin:
    """Registers the fixtures and turns pytest reports into `Outcome`s keyed by check id."""

    def __init__(self, *, rubric: Rubric, student: StudentSession, reference_path: Path, seeds: Seeds) -> None:
        self.rubric = rubric
        self._student = student
        self._reference_path = reference_path
        self._seeds = seeds
        self._specs = rubric.checks()
        self.outcomes: dict[str, Outcome] = {}
        self.unmapped: list[str] = []
        self.collection_errors: list[str] = []

    # -- fixtures ----------------------------------------------------------------------------------------
    @pytest.fixture
    def student(self) -> StudentSession:
        return self._student

    @pytest.fixture
    def reference(self) -> Any:
        return load_reference(self._reference_path)

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> random.Random:
        return random.Random(self._seeds.seed(self._check_id(request.node) or request.node.nodeid))

    @pytest.fixture
    def torch_seed(self, request: pytest.FixtureRequest) -> int:
        return self._seeds.seed("torch:" + (self._check_id(request.node) or request.node.nodeid)) % 2**31

    # -- hooks -------------------------------------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", f"{MARKER}(question, name): the rubric check this test implements")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        result = yield
        report = result.get_result()
        check_id = self._check_id(item)
        if check_id is None:
            if call.when == "setup":
                self.unmapped.append(item.nodeid)
            return
        if call.when == "call" or (call.when == "setup" and report.failed):
            self.outcomes[check_id] = self._classify(check_id, call, report)

    def _check_id(self, item: pytest.Item) -> str | None:
        marker = item.get_closest_marker(MARKER)
        if marker is None:
            return None
        return f"{self.rubric.exercise}.{marker.kwargs['question']}.{marker.kwargs['name']}"

    def _classify(self, check_id: str, call: pytest.CallInfo[None], report: pytest.TestReport) -> Outcome:
        notes = take_notes()  # what a passing check accepted although its form was unusual
        spec = self._specs.get(check_id)
        # A hidden check tells the student only its verdict and fixed hint: no text the student's code produced
        # (values, class or exception type names) reaches its message; `detail` keeps it for the instructor.
        hidden = spec is None or spec.visibility != "public"
        hint = spec.hint if spec else ""
        if call.excinfo is None:
            return Outcome(check_id, "passed", *(("", notes) if hidden else (_clip(notes),)))
        exc = call.excinfo.value
        detail = report.longreprtext[-4000:]
        if isinstance(exc, CallTimeout):
            return Outcome(check_id, "timeout", f"your code did not finish in time ({exc})", detail)
        if isinstance(exc, Feedback):
            message = hint if hidden else exc.message
            return Outcome(check_id, "failed", _clip(message), detail)
        if isinstance(exc, MissingDefinition):
            return Outcome(check_id, "failed", f"`{exc.name}` is not defined in your notebook", detail)
        if isinstance(exc, StudentException):
            if exc.is_a("NotImplementedError"):
                return Outcome(check_id, "failed", "not implemented yet (the TODO stub is still there)", detail)
            shown = "your code raised an exception" if hidden else f"your code raised {exc.type_name}: {exc.message}"
            return Outcome(check_id, "failed", _clip(shown), detail)
        if isinstance(exc, KernelDied):
            return Outcome(check_id, "failed", "your code ended the kernel (exit, crash or out of memory)", detail)
        if isinstance(exc, ProtocolError):
            shown = "your function returned data the grader cannot read" + ("" if hidden else f": {exc}")
            return Outcome(check_id, "failed", _clip(shown), detail)
        if isinstance(exc, AssertionError):
            message = hint if hidden else (str(exc).strip().splitlines() or [hint])[0]
            return Outcome(check_id, "failed", _clip(message), detail)
        detail = detail or "".join(traceback.format_exception(exc))
        reason = REFERENCE_UNAVAILABLE if isinstance(exc, ReferenceUnavailable) else ""
        return Outcome(check_id, "error", "the check itself failed; your instructor has the details", detail, reason)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."
