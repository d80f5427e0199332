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
from .messages import clipped, msg, verbatim
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
        hint = verbatim(spec.hint if spec else "")
        if call.excinfo is None:
            return Outcome(check_id, "passed", *((verbatim(""), notes) if hidden else (clipped(notes, MAX_MESSAGE),)))
        exc = call.excinfo.value
        detail = report.longreprtext[-4000:]
        if isinstance(exc, CallTimeout):
            spent = getattr(exc, "notebook_seconds", None)
            shown = msg("check.time_spent", seconds=spent) if spent else msg("check.timeout", detail=str(exc))
            return Outcome(check_id, "timeout", shown, detail)
        if isinstance(exc, Feedback):
            message = hint if hidden else exc.message
            return Outcome(check_id, "failed", clipped(message, MAX_MESSAGE), detail,
                           misconception=exc.misconception)
        if isinstance(exc, MissingDefinition):
            return Outcome(check_id, "failed", msg("check.not_defined", name=exc.name), detail)
        if isinstance(exc, StudentException):
            if exc.is_a("NotImplementedError"):
                return Outcome(check_id, "failed", msg("check.todo_stub"), detail)
            shown = msg("check.raised_hidden") if hidden else \
                msg("check.raised_detail", type=exc.type_name, detail=exc.message)
            return Outcome(check_id, "failed", clipped(shown, MAX_MESSAGE, "detail"), detail)
        if isinstance(exc, KernelDied):
            return Outcome(check_id, "failed", msg("check.kernel_died"), detail)
        if isinstance(exc, ProtocolError):
            shown = msg("check.unreadable") if hidden else msg("check.unreadable_detail", detail=str(exc))
            return Outcome(check_id, "failed", clipped(shown, MAX_MESSAGE, "detail"), detail)
        if isinstance(exc, AssertionError):
            message = hint if hidden else verbatim((str(exc).strip().splitlines() or [hint])[0])
            return Outcome(check_id, "failed", clipped(message, MAX_MESSAGE), detail)
        detail = detail or "".join(traceback.format_exception(exc))
        reason = REFERENCE_UNAVAILABLE if isinstance(exc, ReferenceUnavailable) else ""
        return Outcome(check_id, "error", msg("check.check_failed"), detail, reason)
