"""`grader.check(...)` inside Jupyter: the public checks against the live notebook, shown inline.

This runs on the student's own machine, on their own code, with public checks only, so there is no
sandbox: `LiveChannel` calls into the IPython user namespace in this process. Results still travel the
grading path: the kernel agent's own encoder (grader/sandboxed/kernel_agent.py, loaded into a private
namespace) turns them into JSON and `codec.decode_response` validates them, so a check sees exactly the
plain data it sees when grading. Differences from grading: no time limit on calls (interrupt the kernel
instead), and `student.notebook` is the notebook file as last saved (outputs included) when it can be found.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import types
from html import escape
from pathlib import Path
from typing import Any, Callable

import nbformat
from nbformat import NotebookNode

from . import codec, i18n, sandboxed
from .course import Course, find_course, load_course
from .errors import GraderError, ProtocolError, UsageError
from .models import ExerciseResult
from .notebook import exercise_id_of, load_notebook
from .plugin import GraderPlugin
from .checkrun import run_checks
from .scoring import score_questions
from .reporters.selfcheck import render_html, render_text
from .seeds import Seeds
from .selfcheck import PUBLIC_SECRET, PUBLIC_STUDENT, SelfCheck, unavailable_checks
from .session import StudentSession

LANG_ENV = "GRADER_LANG"
COURSE_ENV = "GRADER_COURSE"


def _load_agent(namespace: dict[str, Any], publish: Callable[..., None]) -> Any:
    """The kernel agent, built in a private namespace over `namespace`; nothing is added to `namespace`."""
    shell = types.SimpleNamespace(user_ns=namespace, display_pub=types.SimpleNamespace(publish=publish))
    private: dict[str, Any] = {"__name__": "__grader_live_agent__", "get_ipython": lambda: shell}
    code = compile(sandboxed.source("kernel_agent"), str(sandboxed.path("kernel_agent")), "exec")
    exec(code, private)  # the grader's own agent source
    return private["__grader_agent__"]


class LiveChannel:
    """A `session.Channel` to the agent over a live namespace, in this process: no time limit (interrupt the
    kernel instead), so `timeout` is ignored."""

    def __init__(self, namespace: dict[str, Any], limits: codec.WireLimits = codec.WireLimits()) -> None:
        self._limits = limits
        self._published: list[Any] = []
        self._agent = _load_agent(namespace, self._publish)

    def _publish(self, data: dict[str, Any], metadata: dict[str, Any] | None = None, **_: Any) -> None:
        self._published.append(data.get(codec.RESPONSE_MIMETYPE))

    def request(self, request: dict[str, Any], timeout: float | None = None) -> Any:
        sealed, nonce = codec.sealed(request, self._limits)
        self._published.clear()
        self._agent.handle(json.dumps(sealed, allow_nan=False, separators=(",", ":")))
        answer = codec.the_answer(self._published, nonce)
        try:  # exactly the JSON text a kernel would have sent
            payload = json.dumps(answer, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"the answer is not JSON: {exc}") from None
        return codec.decode_response(payload, expected_nonce=nonce, limits=self._limits)


def live_session(namespace: dict[str, Any], notebook: NotebookNode | None = None) -> StudentSession:
    """The `student` fixture over a live namespace; `notebook` is the notebook file as last saved, if known."""
    return StudentSession(LiveChannel(namespace), notebook if notebook is not None else nbformat.v4.new_notebook())


class _QuestionPlugin(GraderPlugin):
    """GraderPlugin that runs only the checks of the given questions."""

    def __init__(self, *, questions: set[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._questions = questions

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        from .checks import MARKER

        keep = [i for i in items if (m := i.get_closest_marker(MARKER)) and m.kwargs.get("question") in self._questions]
        dropped = [i for i in items if i not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep


def notebook_path(namespace: dict[str, Any]) -> Path | None:
    """The notebook file of the running kernel, when Jupyter or VS Code says which it is."""
    for candidate in (namespace.get("__session__"), namespace.get("__vsc_ipynb_file__"),
                      os.environ.get("JPY_SESSION_NAME")):
        if isinstance(candidate, str) and candidate.endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate)
    return None


def _resolve_exercise(course: Course, question: str | None, exercise: str | None,
                      nb_path: Path | None, nb: NotebookNode | None) -> tuple[str, set[str] | None]:
    if question and "." in question:
        exercise, question = question.split(".", 1)
    if exercise is None and nb is not None and nb_path is not None:
        exercise = exercise_id_of(nb, nb_path.name, course.notebook_names())
    if exercise is None and question:
        owners = [e for e, r in course.rubrics.items() if any(q.id == question for q in r.questions)]
        exercise = owners[0] if len(owners) == 1 else None
    if exercise is None or exercise not in course.rubrics:
        raise UsageError("cannot tell which exercise to check: pass exercise=... or a question id such as "
                         "check('autograd.grad_tensors')")
    ids = {q.id for q in course.rubrics[exercise].questions}
    if question is not None and question not in ids:
        raise UsageError(f"{exercise} has no question {question!r}; its questions are {', '.join(sorted(ids))}")
    return exercise, ({question} if question else None)


@contextlib.contextmanager
def _own_rng() -> Any:
    """The checks' seeding must not change the student's own random state."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        yield


def live_course(course: str | Path | None = None) -> Course:
    """`course`, else $GRADER_COURSE, else the nearest folder at or above the working directory with rubrics/."""
    root = Path(course) if course else (Path(os.environ[COURSE_ENV]) if os.environ.get(COURSE_ENV) else None)
    try:
        return load_course(root or find_course(Path.cwd()))
    except UsageError as exc:  # its advice is the CLI's flag; a notebook has an argument and a variable instead
        reason = str(exc).removesuffix("; use --course")
        raise UsageError(f"{reason}; pass check(..., course='path/to/course') or set the environment variable "
                         f"{COURSE_ENV}") from None


def run_live_check(question: str | None = None, *, course: Course, exercise: str | None = None,
                   namespace: dict[str, Any] | None = None, notebook: str | Path | None = None) -> SelfCheck:
    """Run the public checks of `question` (or of the whole exercise) against `namespace`.

    `namespace` defaults to the IPython user namespace.
    """
    if namespace is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise UsageError("grader.check runs inside Jupyter; from a terminal use `grade check NOTEBOOK`")
        namespace = shell.user_ns
    loaded = course
    nb_path = Path(notebook) if notebook else notebook_path(namespace)
    nb = load_notebook(nb_path) if nb_path is not None else None
    exercise, questions = _resolve_exercise(loaded, question, exercise, nb_path, nb)
    rubric = loaded.rubrics[exercise]
    session = live_session(namespace, nb)
    plugin = _QuestionPlugin(questions=questions or {q.id for q in rubric.questions}, rubric=rubric,
                             student=session, reference_path=loaded.reference_notebook(exercise),
                             seeds=Seeds(PUBLIC_SECRET, PUBLIC_STUDENT))
    with _own_rng():
        run_checks([loaded.check_dir(exercise, "public")], plugin)
    answers = {m.answer: session.answer(m.answer) for q in rubric.questions for m in q.manual}
    from .exercise import answer_templates

    scored = score_questions(rubric, plugin.outcomes, answers, answer_templates(loaded))
    result = ExerciseResult(exercise, "graded", "graded", scored, nb_path.name if nb_path else None)
    return SelfCheck(result, rubric, unavailable_checks(plugin.outcomes.values()), questions,
                     nb_path.name if nb_path else "")


class SelfCheckDisplay:
    """A self-check result for IPython's display: HTML with a plain-text fallback."""

    def __init__(self, result: SelfCheck, course: Course | None, lang: str) -> None:
        self.result, self._course, self._lang = result, course, lang

    def _repr_html_(self) -> str:
        return render_html(self.result, self._course, self._lang)

    def __repr__(self) -> str:
        return render_text(self.result, self._course, self._lang)


def check(question: str | None = None, *, exercise: str | None = None, lang: str | None = None,
          course: str | Path | None = None, notebook: str | Path | None = None) -> None:
    """Run the public checks of one question (or the whole exercise) on this notebook and show the result.

    A problem with the request itself (unknown question, no course folder) is shown as one line, not a traceback.
    """
    from IPython.display import display

    try:
        lang = i18n.check_lang(lang or os.environ.get(LANG_ENV) or i18n.DEFAULT_LANG)
        loaded = live_course(course)
        result = run_live_check(question, course=loaded, exercise=exercise, notebook=notebook)
    except GraderError as exc:
        display(_ErrorDisplay(str(exc)))
        return
    display(SelfCheckDisplay(result, loaded, lang))


class _ErrorDisplay:
    def __init__(self, message: str) -> None:
        self.message = message

    def _repr_html_(self) -> str:
        return f'<p style="color:#c62828"><b>grader.check:</b> {escape(self.message)}</p>'

    def __repr__(self) -> str:
        return f"grader.check: {self.message}"
