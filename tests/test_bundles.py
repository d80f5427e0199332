"""`grade export gradescope|student`: the Gradescope autograder zip and the students' bundle (issue 7)."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.bundles.autograder import stage_submission, student_id
from grader.bundles.files import MARKER, generated_pyproject
from grader.bundles.student import HIDDEN_HINT
from grader.cli import EXIT_USAGE
from grader.course import load_course
from grader.rubric import load_rubrics
from grader.selfcheck import check_notebook

from conftest import invoke

SECRET = "bundle-test-secret-0123456789abcdef"
TORCH = "2.13.0"
STUDENT = "ada@example.edu"
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def normalized(text: str) -> str:
    """Lines stripped, blank lines dropped: code compares equal whatever its indentation."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def bundle_texts(root: Path) -> dict[str, str]:
    """Every file's text by path; a notebook's cell sources are added as plain text (JSON escapes them)."""
    texts = {}
    for path in (p for p in root.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace")
        if path.suffix == ".ipynb":
            text += "\n" + "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        texts[str(path.relative_to(root))] = text
    return texts


def pythonpath_env(**extra: str) -> dict[str, str]:
    """This environment, with the grader under test importable from anywhere (as `pip install -e .` makes it)."""
    package_root = str(Path(__import__("grader").__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SECRET"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return {**env, **extra}


# ------------------------------------------------------------------------------------ what must never leak
def hidden_material(project: Path) -> dict[str, str]:
    """Texts of hidden material, by what they are: hidden checks, solutions, known-wrong code, hidden hints."""
    found: dict[str, str] = {}
    for path in sorted((project / "rubrics" / "checks").glob("*/hidden/*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        found[f"{path.name} docstring"] = normalized(ast.get_docstring(tree) or "")
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[f"{path.name}:{node.name}"] = normalized(ast.get_source_segment(source, node))
    for path in sorted((project / "reference").glob("*.ipynb")):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            pattern = r"### BEGIN SOLUTION\n(.*?)### END SOLUTION|<!-- BEGIN SOLUTION -->(.*?)<!-- END SOLUTION -->"
            for k, match in enumerate(re.finditer(pattern, cell.source, re.S)):
                found[f"{path.name} cell {index} solution {k}"] = normalized(match.group(1) or match.group(2))
    for path in sorted((project / "reference" / "wrong").glob("*/*.py")):
        source = path.read_text(encoding="utf-8")
        first = ast.parse(source).body[0]
        docstring_end = first.end_lineno if isinstance(first, ast.Expr) else 0
        found[f"wrong {path.name}"] = normalized("\n".join(source.splitlines()[docstring_end:]))
        found[f"wrong {path.name} name"] = path.stem
    for rubric in load_rubrics(project / "rubrics").values():
        for question in rubric.questions:
            for spec in question.checks:
                if spec.visibility != "public":
                    found[f"hint of {spec.id}"] = spec.hint
                    if spec.hint_zh:
                        found[f"hint_zh of {spec.id}"] = spec.hint_zh
    assert all(len(text) >= 12 for text in found.values()), "a short text would match by chance"
    return found


@pytest.fixture(scope="module")
def student_bundle(project, tmp_path_factory):
    root = tmp_path_factory.mktemp("student")
    result = invoke("export", "student", str(root / "bundle"), "--course", str(project),
                    env={"GRADER_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    return root / "bundle"


def test_the_student_bundle_holds_no_hidden_check_solution_wrong_solution_secret_or_hidden_hint(project, course,
                                                                                                student_bundle):
    texts = bundle_texts(student_bundle)
    flat = {name: normalized(text) for name, text in texts.items()}
    leaks = [(what, name) for what, secret in hidden_material(project).items()
             for name, text in flat.items() if normalized(secret) in text]
    assert leaks == []
    assert not any(SECRET in text for text in texts.values())
    assert not any(part in ("hidden", "reference", "wrong") for name in texts for part in Path(name).parts)
    for exercise in ("autograd", "logistic_regression", "tensors"):
        assert (student_bundle / "rubrics" / "checks" / exercise / "public").is_dir()
        assert (student_bundle / "exercises" / course.rubrics[exercise].notebook).is_file()
    assert (student_bundle / "grader-src" / "pyproject.toml").is_file()
    assert (student_bundle / "grader-src" / "grader" / "cli.py").is_file()
    readme = texts["README.md"]
    assert f"pip install torch=={TORCH}" in readme and "pip install ./grader-src" in readme
    assert "grade check exercises/01_autograd.ipynb" in readme
    assert "pip install jupyterlab" in readme and "jupyter lab exercises/" in readme  # how to work on them
    hand_in = readme[readme.index("## Hand in your work"):]
    assert "Restart Kernel and Run All Cells" in hand_in and "`01_autograd.ipynb`" in hand_in
    assert "under their own names" in hand_in


def test_student_rubrics_keep_points_and_hidden_counts_but_no_hidden_names_or_hints(project, student_bundle):
    full, reduced = load_rubrics(project / "rubrics"), load_rubrics(student_bundle / "rubrics")
    assert full.keys() == reduced.keys()
    for exercise, rubric in full.items():
        mine = reduced[exercise]
        assert (mine.title, mine.notebook, mine.max_score) == (rubric.title, rubric.notebook, rubric.max_score)
        for q, r in zip(rubric.questions, mine.questions):
            without_notes = tuple(dataclasses.replace(m, note="") for m in q.manual)  # notes are the instructor's
            assert (q.id, q.title, q.title_zh, without_notes) == (r.id, r.title, r.title_zh, r.manual)
            assert [c for c in r.checks if c.visibility == "public"] == [
                c for c in q.checks if c.visibility == "public"]
            hidden = [c for c in r.checks if c.visibility != "public"]
            assert [c.name for c in hidden] == [f"hidden_{i}" for i in range(1, len(hidden) + 1)]
            assert [(c.points, c.visibility) for c in hidden] == [
                (c.points, c.visibility) for c in q.checks if c.visibility != "public"]
            assert {c.hint for c in hidden} <= {HIDDEN_HINT} and not any(c.hint_zh for c in hidden)


def test_the_student_bundle_as_a_zip_holds_the_same_files(project, student_bundle, tmp_path):
    result = invoke("export", "student", str(tmp_path / "student.zip"), "--course", str(project))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "student.zip") as archive:
        names = set(archive.namelist())
        assert archive.read("README.md") == (student_bundle / "README.md").read_bytes()
    assert names == {str(p.relative_to(student_bundle)) for p in student_bundle.rglob("*") if p.is_file()}


def test_a_bundle_replaces_an_earlier_bundle_but_never_another_folder(project, tmp_path):
    target = tmp_path / "out"
    assert invoke("export", "student", str(target), "--course", str(project)).exit_code == 0
    (target / "exercises" / "stale.ipynb").write_text("{}")
    assert invoke("export", "student", str(target), "--course", str(project)).exit_code == 0
    assert not (target / "exercises" / "stale.ipynb").exists() and (target / MARKER).is_file()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    result = invoke("export", "student", str(other), "--course", str(project))
    assert result.exit_code == EXIT_USAGE and "is not a bundle" in result.output
    assert (other / "mine.txt").read_text() == "keep me" and len(list(other.iterdir())) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def test_export_without_a_subcommand_still_rewrites_the_reports(project, tmp_path):
    result = invoke("export", str(tmp_path / "nothing-here"), "--course", str(project))
    assert result.exit_code == EXIT_USAGE and "reports folder not found" in result.output
    result = invoke("export", "reports", str(tmp_path / "nothing-here"), "--course", str(project))
    assert result.exit_code == EXIT_USAGE and "reports folder not found" in result.output


def test_a_generated_pyproject_installs_the_grade_command_with_the_dependencies():
    data = tomllib.loads(generated_pyproject())
    assert data["project"]["name"] == "grader" and data["project"]["scripts"]["grade"] == "grader.cli:entry"
    assert any(dep.startswith("torch") for dep in data["project"]["dependencies"])


# ------------------------------------------------------------------------------------ the Gradescope zip
@pytest.fixture(scope="module")
def gradescope_zip(project, tmp_path_factory):
    root = tmp_path_factory.mktemp("gradescope")
    (root / "secret.txt").write_text(SECRET + "\n")
    result = invoke("export", "gradescope", str(root / "autograder.zip"), "--course", str(project),
                    "--secret-file", str(root / "secret.txt"))
    assert result.exit_code == 0, result.output
    return root / "autograder.zip"


def test_the_gradescope_zip_has_setup_run_autograder_the_grader_and_the_whole_course(project, gradescope_zip):
    with zipfile.ZipFile(gradescope_zip) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 & 0o777 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        assert archive.read("secret").strip() == SECRET.encode()
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755 and modes["secret"] == 0o600
    for folder in ("rubrics", "reference", "exercises"):
        course_files = {f"course/{p.relative_to(project).as_posix()}" for p in (project / folder).rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts}
        assert course_files <= names
    assert "course/rubrics/checks/autograd/hidden/test_autograd_hidden.py" in names
    assert "grader-src/pyproject.toml" in names and "grader-src/grader/bundles/autograder.py" in names
    assert f"torch=={TORCH}" in setup and "--index-url https://download.pytorch.org/whl/cpu" in setup
    assert "bubblewrap" in setup
    script = gradescope_zip.parent / "setup-check.sh"
    script.write_bytes(setup.encode())
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


def test_the_gradescope_secret_comes_from_the_environment_or_is_made_for_the_bundle(project, tmp_path):
    made = []
    for name, env in (("env.zip", {"GRADER_SECRET": SECRET}), ("a.zip", {"GRADER_SECRET": ""}),
                      ("b.zip", {"GRADER_SECRET": ""})):
        assert invoke("export", "gradescope", str(tmp_path / name), "--course", str(project), env=env).exit_code == 0
        with zipfile.ZipFile(tmp_path / name) as archive:
            made.append(archive.read("secret").strip())
    assert made[0] == SECRET.encode() and len(made[1]) == 64 and made[1] != made[2]


def test_the_gradescope_bundle_must_be_a_zip_and_the_secret_readable(project, tmp_path):
    result = invoke("export", "gradescope", str(tmp_path / "folder"), "--course", str(project))
    assert result.exit_code == EXIT_USAGE and "ending in .zip" in result.output
    result = invoke("export", "gradescope", str(tmp_path / "a.zip"), "--course", str(project),
                    "--secret-file", str(tmp_path / "missing"))
    assert result.exit_code == EXIT_USAGE and "cannot read the secret file" in result.output
    assert not (tmp_path / "a.zip").exists()


def test_a_submission_is_staged_from_any_depth_without_system_folders(tmp_path):
    submission = tmp_path / "submission"
    (submission / "hw" / "__MACOSX").mkdir(parents=True)
    (submission / "hw" / "01_autograd.ipynb").write_text("{}")
    (submission / "hw" / "data.csv").write_text("1,2")
    (submission / "hw" / "__MACOSX" / "02_logistic_regression.ipynb").write_text("junk")
    (submission / "01_autograd.ipynb").write_text('{"top": 1}')
    staged = tmp_path / "staged"
    assert stage_submission(submission, staged) == ["01_autograd.ipynb"]
    assert (staged / "01_autograd.ipynb").read_text() == '{"top": 1}'  # the shallowest of two namesakes
    assert sorted(p.name for p in staged.iterdir()) == ["01_autograd.ipynb"]  # hw/ had no notebook kept
    assert stage_submission(tmp_path / "absent", tmp_path / "s2") == []


def test_the_student_id_is_the_submitters_email(tmp_path):
    assert student_id(tmp_path) == "student"
    (tmp_path / "submission_metadata.json").write_text(json.dumps({"users": [{"email": STUDENT, "id": 7}]}))
    assert student_id(tmp_path) == STUDENT
    (tmp_path / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "../x"}]}))
    assert student_id(tmp_path) == "student"


def fake_autograder(tmp_path: Path, gradescope_zip: Path, notebooks: dict[str, bytes]) -> Path:
    """A /autograder tree: source/ is the unpacked zip, submission/ the student's files."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(gradescope_zip) as archive:
        archive.extractall(root / "source")
    for info in zipfile.ZipFile(gradescope_zip).infolist():  # extractall drops the modes
        (root / "source" / info.filename).chmod(info.external_attr >> 16 & 0o777)
    for name, data in notebooks.items():
        (root / "submission" / name).write_bytes(data)
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": STUDENT, "name": "Ada"}]}))
    return root


def run_autograder(root: Path, **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                          timeout=600, cwd=root,
                          env=pythonpath_env(**{"GRADER_AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable,
                                                **env}))
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    return done, results


def assert_gradescope_results(results: dict) -> None:
    """The fields and types of Gradescope's results.json specification."""
    assert isinstance(results["score"], (int, float)) and isinstance(results["output"], str)
    assert results["stdout_visibility"] in GRADESCOPE_VISIBILITY
    assert isinstance(results["tests"], list)
    for test in results["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["visibility"] in GRADESCOPE_VISIBILITY and test.get("status", "passed") in ("passed", "failed")


def test_run_autograder_without_notebooks_or_with_a_broken_one_still_writes_results(gradescope_zip, tmp_path):
    root = fake_autograder(tmp_path / "empty", gradescope_zip, {})
    done, results = run_autograder(root)
    assert done.returncode == 0, done.stderr
    assert_gradescope_results(results)
    assert results["score"] == 0 and "No notebook (.ipynb) found in your submission" in results["output"]
    assert "01_autograd.ipynb" in results["output"] and len(results["tests"]) > 20
    root = fake_autograder(tmp_path / "broken", gradescope_zip, {"01_autograd.ipynb": b"{ not json"})
    done, results = run_autograder(root)
    assert done.returncode == 0, done.stderr
    assert_gradescope_results(results)
    assert results["score"] == 0 and "not valid JSON" in results["output"] and "No notebook" not in results["output"]


def test_run_autograder_reports_a_grader_failure_in_results_json(gradescope_zip, tmp_path):
    root = fake_autograder(tmp_path / "a", gradescope_zip, {})
    shutil.rmtree(root / "source" / "course" / "rubrics")
    done, results = run_autograder(root)
    assert done.returncode == 0 and "Traceback" in done.stderr
    assert results["score"] == 0 and results["tests"] == []
    assert "could not grade this submission" in results["output"] and "no rubrics/" in results["output"]
    root = fake_autograder(tmp_path / "b", gradescope_zip, {})
    done, results = run_autograder(root, GRADER_PYTHON="/bin/false")  # the grader cannot even start
    assert done.returncode == 0
    assert_gradescope_results(results)
    assert results["score"] == 0 and "could not start (exit status 1)" in results["output"]


@pytest.mark.slow
def test_run_autograder_scores_as_grade_run_and_hides_hidden_values(project, isolation, gradescope_zip, tmp_path):
    notebook = (project / "examples" / "submissions" / "bob" / "01_autograd.ipynb").read_bytes()  # partly wrong
    root = fake_autograder(tmp_path, gradescope_zip, {"01_autograd.ipynb": notebook})
    done, results = run_autograder(root)
    assert done.returncode == 0, done.stderr
    assert_gradescope_results(results)

    batch = tmp_path / "batch" / STUDENT
    batch.mkdir(parents=True)
    (batch / "01_autograd.ipynb").write_bytes(notebook)
    (tmp_path / "secret.txt").write_text(SECRET)
    graded = invoke("run", str(tmp_path / "batch"), "--out", str(tmp_path / "graded"), "--course", str(project),
                    "--secret-file", str(tmp_path / "secret.txt"), "--isolation", "auto", "--workers", "1")
    assert graded.exit_code == 0, graded.output
    report = json.loads((tmp_path / "graded" / "students" / STUDENT / "report.json").read_text(encoding="utf-8"))
    written = {m.id: m.points for r in load_rubrics(project / "rubrics").values() for q in r.questions for m in q.manual}
    assert written and not any(t["name"].split(" · ")[0] in written for t in results["tests"])
    assert 0 < results["score"] == report["score"] < report["max_score"]  # no written answer scored yet
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(report["score"])
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(
        report["max_score"] - sum(written.values()))  # written answers: Gradescope questions

    hidden = {c["id"]: c for e in report["exercises"] for q in e["questions"] for c in q["checks"]
              if c["visibility"] != "public"}
    failed_hidden = [t for t in results["tests"] if t["name"].split(" · ")[0] in hidden and t["status"] == "failed"]
    assert failed_hidden, "bob fails some hidden check: the test below must have something to look at"
    for test in failed_hidden:
        check = hidden[test["name"].split(" · ")[0]]
        assert test["output"] == f"failed\nHint: {check['hint']}"
    details = json.loads((tmp_path / "graded" / ".instructor" / "students" / f"{STUDENT}.json").read_text(encoding="utf-8"))
    text = json.dumps(results, ensure_ascii=False)
    hidden_details = [d["detail"].strip().splitlines()[-1] for check_id, d in details["autograd"]["checks"].items()
                      if check_id in hidden and d.get("detail")]
    assert hidden_details  # what the instructor sees of the failures (values included) ...
    assert not any(line in text for line in hidden_details)  # ... and Gradescope never shows


# ------------------------------------------------------------------------------------ the bundle, used
@pytest.mark.slow
def test_every_public_check_runs_from_the_student_bundle_without_the_reference(project, isolation, student_bundle,
                                                                             tmp_path):
    notebook = shutil.copy(project / "reference" / "02_logistic_regression.ipynb", tmp_path / "solved.ipynb")
    result = check_notebook(Path(notebook), load_course(student_bundle), isolation.requested)
    statuses = {c.id.rsplit(".", 2)[1] + "." + c.id.rsplit(".", 1)[1]: c.status for c in result.automatic}
    assert "unavailable" not in statuses.values()
    for was_reference in ("make_data.lesson_data", "model.lesson_model", "train.lesson_run", "convergence.lesson_data",
                          "experiments.lesson_configs"):
        assert statuses[was_reference] == "passed", statuses


@pytest.mark.slow
def test_grade_check_works_from_the_student_bundle_in_a_fresh_virtual_environment(project, student_bundle,
                                                                                 tmp_path):
    """A new venv (no system site-packages): torch, then the grader from the bundle, then `grade check`."""
    bundle = tmp_path / "bundle"
    shutil.copytree(student_bundle, bundle)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRADER_SECRET", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"torch=={TORCH}", "./grader-src"],
                          cwd=bundle, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    where = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(env_dir)), where  # the bundle's grader, not this checkout's

    shutil.copy(project / "reference" / "01_autograd.ipynb", bundle / "exercises" / "solved.ipynb")
    checks = {name: subprocess.Popen([str(env_dir / "bin" / "grade"), "check", f"exercises/{name}.ipynb"], cwd=bundle,
                                     env={**env, "COLUMNS": "300"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True) for name in ("solved", "01_autograd")}  # both at once: 2 cores
    (solved, solved_err), (blank, blank_err) = (checks[name].communicate(timeout=300) for name in checks)
    assert checks["solved"].returncode == 0, solved + solved_err
    assert "6/6 public checks pass" in solved and "unavailable" not in solved
    assert checks["01_autograd"].returncode == 1 and "0/6 public checks pass" in blank, blank + blank_err


def test_the_leak_scan_finds_all_hidden_material_in_the_gradescope_zip(project, gradescope_zip, tmp_path):
    """The scan above is only as good as its detector: the Gradescope zip holds everything, so it must hit it all."""
    with zipfile.ZipFile(gradescope_zip) as archive:
        archive.extractall(tmp_path / "all")
    flat = [normalized(text) for text in bundle_texts(tmp_path / "all").values()]
    missed = [what for what, text in hidden_material(project).items()
              if not what.endswith(" name") and not any(normalized(text) in f for f in flat)]
    assert missed == []
