"""Grade the adversarial corpus as one mixed batch and hold the grader to every promise of issue #4."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import nbformat
import psutil
import pytest

from grader.options import GradingOptions
from grader.batch import grade_batch
from grader.course import load_course
from grader.layout import OutLayout
from grader.reporters.json_report import report_schema
from grader.sandbox import FIRST_SANDBOX_UID, SANDBOX_MARKER, SANDBOX_UIDS, Limits

from .corpus import CASES, HOSTILE_IDS, QUESTIONS, STORED_OUTPUTS, Case, with_stored_images

pytestmark = pytest.mark.slow

SECRET = b"corpus-secret-value"
# notebook_timeout covers start-up, checks and restarts too (issue 14): room for the re-runs after kernel deaths
LIMITS = Limits(cell_timeout=5, notebook_timeout=150, call_timeout=10, memory_bytes=2 * 1024**3)
CLEAN = ("clean_a", "clean_b")


@dataclass
class Batch:
    submissions: Path
    out: Path
    reports: dict[str, dict]
    cases: list[Case]
    extra: dict[str, str]
    options: GradingOptions
    memory_before: int
    disk_before: int
    processes_before: set[int]
    folders_before: set[Path]


def reference_nb(project: Path) -> nbformat.NotebookNode:
    return nbformat.read(project / "reference" / "01_autograd.ipynb", as_version=4)


def hostile(project: Path, case: Case, paths: dict) -> nbformat.NotebookNode:
    nb = reference_nb(project)
    cells = [nbformat.v4.new_code_cell(c.replace("{paths}", json.dumps(paths).replace("'", "\\'"))) for c in case.cells]
    nb.cells = cells + nb.cells if case.at_start else nb.cells + cells
    return nb


def sandbox_processes() -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "uids", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue  # already dead, waiting for init to reap it
            uid = proc.info["uids"].real if proc.info["uids"] else -1
            if FIRST_SANDBOX_UID <= uid < FIRST_SANDBOX_UID + SANDBOX_UIDS or SANDBOX_MARKER in proc.environ():
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory, project, isolation) -> Batch:
    root = tmp_path_factory.mktemp("corpus")
    subs, out = root / "submissions", root / "graded"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    paths = {
        "hidden": str(project / "rubrics" / "checks" / "autograd" / "hidden" / "test_autograd_hidden.py"),
        "reference": str(project / "reference" / "01_autograd.ipynb"),
        "rubric": str(project / "rubrics" / "autograd.toml"),
        "other_student": str(subs / "clean_a" / "01_autograd.ipynb"),
        "reports": str(out / "students" / "clean_a"),
        "port": listener.getsockname()[1],
    }
    cases = [c for c in CASES if isolation.level == "bwrap" or not c.bwrap_only]
    for case in cases:
        folder = subs / case.name
        folder.mkdir(parents=True)
        if case.raw is not None:
            (folder / "01_autograd.ipynb").write_bytes(case.raw)
        else:
            nbformat.write(hostile(project, case, paths), folder / "01_autograd.ipynb")
    for name in CLEAN:
        (subs / name).mkdir()
        nbformat.write(reference_nb(project), subs / name / "01_autograd.ipynb")
    extra = _extra_file_cases(project, subs)
    extra.update(_name_cases(project, subs, root))
    processes_before = set(sandbox_processes())  # another grader on this machine is not ours to judge
    folders_before = set(Path("/tmp").glob("grd-*"))
    memory_before = psutil.virtual_memory().available
    disk_before = shutil.disk_usage("/tmp").free
    options = GradingOptions(load_course(project), isolation, LIMITS, SECRET)
    os.environ["GRADER_SECRET"] = SECRET.decode()
    try:
        reports = {r["student"]: r for r in grade_batch(subs, out, options)}
    finally:
        os.environ.pop("GRADER_SECRET", None)
        listener.close()
    time.sleep(3)  # give any process that escaped time to act before the checks below look
    return Batch(subs, out, reports, cases, extra, options, memory_before, disk_before, processes_before,
                 folders_before)


def _extra_file_cases(project: Path, subs: Path) -> dict[str, str]:
    """Cases that need files built here: expected exercise status by student."""
    ref = reference_nb(project)
    (subs / "nbformat_3").mkdir()
    nbformat.write(nbformat.convert(reference_nb(project), 3), subs / "nbformat_3" / "01_autograd.ipynb", version=3)
    (subs / "source_as_lists").mkdir()
    data = json.loads(nbformat.writes(ref))
    for cell in data["cells"]:
        if isinstance(cell["source"], str):
            cell["source"] = cell["source"].splitlines(keepends=True)
    assert any(isinstance(cell["source"], list) and len(cell["source"]) > 1 for cell in data["cells"])
    (subs / "source_as_lists" / "01_autograd.ipynb").write_text(json.dumps(data))
    magic = reference_nb(project)
    magic.cells.insert(0, nbformat.v4.new_code_cell("!echo shell escape\n%time x = 1"))
    magic.cells.append(nbformat.v4.new_code_cell("%%bash\necho from bash; ls /"))
    magic.metadata["kernelspec"] = {"name": "julia-1.9", "display_name": "Julia", "language": "julia"}
    (subs / "magics_and_foreign_kernel").mkdir()
    nbformat.write(magic, subs / "magics_and_foreign_kernel" / "01_autograd.ipynb")
    (subs / "hundreds_of_mb").mkdir()
    with open(subs / "hundreds_of_mb" / "01_autograd.ipynb", "wb") as handle:
        handle.truncate(300 * 1024**2)  # sparse: costs no disk, still 300 MB to the grader
    (subs / "no_notebook").mkdir()
    (subs / "no_notebook" / "notes.txt").write_text("I forgot the notebook")
    (subs / "single_file_student.ipynb").write_text(nbformat.writes(ref))
    blank = nbformat.read(project / "exercises" / "02_logistic_regression.ipynb", as_version=4)
    (subs / STORED_OUTPUTS).mkdir()
    nbformat.write(with_stored_images(blank)[0], subs / STORED_OUTPUTS / "02_logistic_regression.ipynb")
    for student in HOSTILE_IDS:
        (subs / student).mkdir()
        nbformat.write(ref, subs / student / "01_autograd.ipynb")
    return {"nbformat_3": "graded", "source_as_lists": "graded", "magics_and_foreign_kernel": "graded",
            "hundreds_of_mb": "not_gradable", "no_notebook": "missing", "single_file_student": "graded",
            STORED_OUTPUTS: "missing",
            **{student: "graded" for student in HOSTILE_IDS}}


GBK_ID = "作业"
LONG_ID = "l" * 240
NAME_CASES = {"gradebook.csv": "graded", "summary.html": "graded", "students": "graded", ".instructor": "not_gradable",
              LONG_ID: "graded", "long_notebook_name": "graded", GBK_ID: "graded", "folder_and_file": "not_gradable",
              "linked_folder": "not_gradable", "linked_notebook": "not_gradable", "\u00e9mile": "graded",
              "e\u0301mile": "graded"}


def _name_cases(project: Path, subs: Path, root: Path) -> dict[str, str]:
    """Issue 14: names that collide with the grader's files, long, not UTF-8, one student's problems."""
    text = nbformat.writes(reference_nb(project))
    plain = ["gradebook.csv", "summary.html", "students", ".instructor", LONG_ID, "folder_and_file", "\u00e9mile",
             "e\u0301mile"]
    for name in plain:
        (subs / name).mkdir()
        (subs / name / "01_autograd.ipynb").write_text(text, encoding="utf-8")
    (subs / "folder_and_file.ipynb").write_text(text, encoding="utf-8")
    (subs / "long_notebook_name").mkdir()
    (subs / "long_notebook_name" / ("n" * 239 + ".ipynb")).write_text(text, encoding="utf-8")
    gbk = Path(os.fsdecode(os.fsencode(subs) + b"/" + GBK_ID.encode("gbk")))
    gbk.mkdir()
    (gbk / os.fsdecode("作业1.ipynb".encode("gbk"))).write_text(text, encoding="utf-8")
    (gbk / os.fsdecode("数据.csv".encode("gbk"))).write_bytes(b"1,2\n")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "01_autograd.ipynb").write_text(text, encoding="utf-8")
    (subs / "linked_folder").symlink_to(elsewhere)
    (subs / "linked_notebook").mkdir()
    (subs / "linked_notebook" / "01_autograd.ipynb").symlink_to(elsewhere / "01_autograd.ipynb")
    for not_a_student in (".git", "__MACOSX", ".ipynb_checkpoints"):
        (subs / not_a_student).mkdir()
        (subs / not_a_student / "01_autograd.ipynb").write_text(text, encoding="utf-8")
    (subs / "old_graded" / ".instructor").mkdir(parents=True)  # an OUT folder inside SUBMISSIONS
    (subs / "old_graded" / "gradebook.csv").write_text("student,score\n")
    return dict(NAME_CASES)


def autograd(report: dict) -> dict:
    return next(e for e in report["exercises"] if e["id"] == "autograd")


def test_the_corpus_is_big_enough(batch):
    families = {c.family for c in CASES}
    assert len(CASES) + len(batch.extra) >= 30
    assert families == {"kernel killer", "resources", "escape", "forgery", "malformed"}


def test_every_submission_gets_a_valid_report(batch):
    expected = {c.name for c in batch.cases} | set(CLEAN) | set(batch.extra)
    assert set(batch.reports) == expected
    for student in expected:
        on_disk = json.loads(OutLayout(batch.out).report(student).read_text(encoding="utf-8"))
        jsonschema.validate(on_disk, report_schema())
        assert on_disk == batch.reports[student]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_outcome(batch, case):
    if case not in batch.cases:
        pytest.skip("this case runs only inside bubblewrap (outside it the attack would hit this machine)")
    exercise = autograd(batch.reports[case.name])
    assert exercise["status"] == case.status, exercise["message"]
    if case.message:
        assert case.message in exercise["message"]
    scores = {q["id"]: (q["score"], q["max_score"]) for q in exercise["questions"]}
    for question in case.zero:
        assert scores[question][0] == 0, (question, scores)
    if case.status == "graded":
        for question in case.keeps_full():
            assert scores[question][0] == scores[question][1], (question, exercise)
    else:
        assert exercise["score"] == 0
    if case.cell_note:
        wanted = {case.cell_note} if isinstance(case.cell_note, str) else set(case.cell_note)
        assert wanted & {c["kind"] for c in exercise["cells"]}, exercise["cells"]
    for name in case.note_names:
        assert any(name in c["message"] for c in exercise["cells"]), (name, exercise["cells"])
    if case.check_message:
        public = [c for q in exercise["questions"] if q["id"] in case.zero for c in q["checks"]
                  if c["visibility"] == "public"]
        assert public and all(case.check_message in c["message"] for c in public), public


@pytest.mark.parametrize("student", ["nbformat_3", "source_as_lists", "magics_and_foreign_kernel",
                                     "hundreds_of_mb", "no_notebook", "single_file_student"])
def test_file_cases(batch, student):
    exercise = autograd(batch.reports[student])
    assert exercise["status"] == batch.extra[student], exercise["message"]
    if exercise["status"] == "graded":
        assert exercise["score"] == exercise["max_score"] == 50, exercise
    elif student == "hundreds_of_mb":
        assert "300 MiB" in exercise["message"]


@pytest.mark.parametrize("student", list(NAME_CASES), ids=lambda s: s[:20].encode("unicode_escape").decode())
def test_name_cases(batch, student):
    exercise = autograd(batch.reports[student])
    assert exercise["status"] == NAME_CASES[student], exercise["message"]
    if exercise["status"] == "graded":
        assert exercise["score"] == exercise["max_score"] == 50, exercise
    elif student in ("linked_folder", "linked_notebook"):
        assert "links are not followed" in exercise["message"]
    elif student == "folder_and_file":
        assert "both a folder" in exercise["message"]
    if student == "long_notebook_name":
        assert exercise["notebook"] == "n" * 239 + ".ipynb"
    assert str(batch.out) not in json.dumps(batch.reports[student], ensure_ascii=False)


def test_stored_outputs_count_for_nothing(batch, tmp_path):
    """Issue 13: fake plots stored in the notebook (empty cell, skip-execution cells) score nothing, shown nowhere."""
    from grader.export import write_exports

    report = batch.reports[STORED_OUTPUTS]
    (exercise,) = [e for e in report["exercises"] if e["id"] == "logistic_regression"]
    assert exercise["status"] == "graded", exercise["message"]
    plots = {q["id"]: q for q in exercise["questions"]}["plots"]
    assert plots["score"] == 0, plots
    _, encoded = with_stored_images(nbformat.v4.new_notebook())
    executed = nbformat.read(OutLayout(batch.out).executed(STORED_OUTPUTS, exercise["notebook"]), as_version=4)
    assert not [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    layout = OutLayout(tmp_path / "feedback")  # feedback pages as `grade` writes them, beside the executed notebook
    shutil.copytree(OutLayout(batch.out).student_dir(STORED_OUTPUTS), layout.student_dir(STORED_OUTPUTS))
    write_exports(layout.root, [report], batch.options.course)
    page = layout.feedback_html(STORED_OUTPUTS).read_text(encoding="utf-8")
    assert encoded[:200] not in page and "data:image/png" not in page


def test_clean_students_are_graded_exactly_as_if_alone(batch, tmp_path):
    alone = tmp_path / "alone"
    for name in CLEAN:
        shutil.copytree(batch.submissions / name, alone / name)
    reports = {r["student"]: r for r in grade_batch(alone, tmp_path / "out", batch.options)}

    def verdicts(report: dict) -> list:
        return [(e["id"], e["status"], e["score"], [(c["id"], c["status"], c["points"], c["message"])
                                                   for q in e["questions"] for c in q["checks"]])
                for e in report["exercises"]]

    for name in CLEAN:
        assert verdicts(reports[name]) == verdicts(batch.reports[name])
        assert autograd(reports[name])["score"] == 50


def test_nothing_a_student_sees_holds_hidden_material(batch, project):
    hidden_dir = project / "rubrics" / "checks" / "autograd" / "hidden"
    hidden_lines = {line.strip() for path in hidden_dir.glob("*.py") for line in path.read_text().splitlines()
                    if len(line.strip()) > 30 and not line.strip().startswith(("#", "from ", "import "))}
    markers = {m for c in batch.cases for m in c.secret_markers} | {SECRET.decode()}
    for student_dir in (batch.out / "students").iterdir():
        for path in student_dir.iterdir():
            text = _student_visible_text(path)
            leaked = [line for line in hidden_lines if line in text] + [m for m in markers if m in text]
            assert not leaked, (path, leaked[:3])


def _student_visible_text(path: Path) -> str:
    """What a file shows the student beyond what they wrote: for a notebook, its outputs only (the test put
    the forbidden paths into the hostile cells' own source)."""
    if path.is_dir():
        return "".join(_student_visible_text(p) for p in path.rglob("*") if p.is_file() and p.suffix != ".png")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return text
    nb = nbformat.reads(text, as_version=4)
    return json.dumps([cell.get("outputs", []) for cell in nb.cells], ensure_ascii=False)


def test_no_process_survives_and_reports_stay_intact(batch):
    assert set(sandbox_processes()) - batch.processes_before == set()
    clean = json.loads((batch.out / "students" / "clean_a" / "report.json").read_text(encoding="utf-8"))
    assert clean == batch.reports["clean_a"] and clean["score"] == 50
    rows = (batch.out / "gradebook.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + len(batch.reports)


def test_memory_and_disk_are_as_before(batch):
    assert set(Path("/tmp").glob("grd-*")) - batch.folders_before == set(), "sandbox folders left behind"
    assert psutil.virtual_memory().available > batch.memory_before - 1024**3
    assert shutil.disk_usage("/tmp").free > batch.disk_before - 200 * 1024**2


def test_hidden_checks_show_no_student_text(batch):
    from grader.layout import OutLayout

    cases = [c for c in batch.cases if c.hidden_marker]
    assert cases
    for case in cases:
        hidden = [c for e in batch.reports[case.name]["exercises"] for q in e["questions"] for c in q["checks"]
                  if c["visibility"] == "hidden"]
        assert hidden and any(c["status"] == "failed" for c in hidden)
        assert all(case.hidden_marker not in c["message"] for c in hidden), hidden
        details = OutLayout(batch.out).details(case.name).read_text(encoding="utf-8")
        assert case.hidden_marker in details  # the instructor keeps the whole story


def test_hostile_ids_and_messages_are_data_in_every_output(batch, tmp_path):
    import csv
    import io

    from rich.console import Console

    from grader.cli import results_table
    from grader.export import ExportOptions, write_exports
    from grader.layout import OutLayout
    from grader.textsafe import csv_value

    for student in HOSTILE_IDS:
        assert autograd(batch.reports[student])["score"] == 50  # graded like anyone else
    formula = ("=", "+", "-", "@", "\t", "\r")
    rows = list(csv.reader((batch.out / "gradebook.csv").open(encoding="utf-8", newline="")))
    assert {csv_value(row[0]) for row in rows[1:]} == set(batch.reports)
    assert not [row[0] for row in rows[1:] if row[0].lstrip(" ").startswith(formula)]
    escapes = "terminal_escapes_in_exception_message"
    chosen = [batch.reports[s] for s in (*HOSTILE_IDS, escapes, "clean_a")]
    out = tmp_path / "exports"
    written = write_exports(out, chosen, batch.options.course, ExportOptions(formats=("canvas",)))
    canvas = list(csv.reader(written[-1].open(encoding="utf-8", newline="")))
    assert [row[0] for row in canvas].count("Points Possible") == 1
    assert not [cell for row in canvas[2:] for cell in row if cell.lstrip(" ").startswith(formula)]
    assert {csv_value(row[0]) for row in canvas[2:]} == {r["student"] for r in chosen}
    for report in chosen:
        text = OutLayout(out).feedback_md(report["student"]).read_text(encoding="utf-8")
        assert not [c for c in text if ord(c) < 32 and c != "\n"], (report["student"], text[:200])
    assert "\\[x\\]alice" in OutLayout(out).feedback_md("[x]alice").read_text(encoding="utf-8")
    console = Console(file=io.StringIO(), force_terminal=False, width=400)
    console.print(results_table(chosen, ["autograd"], out))
    shown = console.file.getvalue()
    assert "[x]alice" in shown and "\x1b" not in shown and "\x07" not in shown
