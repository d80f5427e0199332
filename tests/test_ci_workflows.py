"""The course CI workflow, the student-repository template, and `grade check --summary-md` they rely on."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import nbformat
import pytest
import yaml

from grader.cli import EXIT_FAILED, check_cmd

from conftest import PROJECT, invoke
from minicourse import REFERENCE

COURSE_CI = PROJECT / ".github" / "workflows" / "course-ci.yml"
STUDENT_CI = PROJECT / "templates" / "student-repo" / ".github" / "workflows" / "grade-check.yml"
TORCH_PIN = "torch==2.13.0"


def workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps(path: Path) -> list[dict]:
    [job] = workflow(path)["jobs"].values()
    return job["steps"]


def runs(path: Path) -> list[str]:
    """Every shell line of every step, in order."""
    return [line.strip() for step in steps(path) for line in step.get("run", "").splitlines() if line.strip()]


def index_of(lines: list[str], pattern: str) -> int:
    found = [i for i, line in enumerate(lines) if re.search(pattern, line)]
    assert found, f"no step runs {pattern!r}"
    return found[0]


def readme_test_command() -> str:
    """The second line of the README's first code block (its first two commands must stay as they are)."""
    block = re.search(r"```bash\n(.*?)```", (PROJECT / "README.md").read_text(encoding="utf-8"), re.S)[1]
    return block.splitlines()[1].strip()


def test_course_ci_installs_the_sandbox_and_pinned_torch_then_runs_the_readme_tests_and_verify():
    data = workflow(COURSE_CI)
    assert {"push", "pull_request"} <= set(data["on"])
    [job] = data["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert [s["with"]["python-version"] for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")] \
        == ["3.11"]
    lines = runs(COURSE_CI)
    bwrap = index_of(lines, r"apt-get install .*\bbubblewrap\b")
    userns = index_of(lines, r"sysctl -w kernel\.apparmor_restrict_unprivileged_userns=0 \|\| true$")
    torch = index_of(lines, r"^pip install torch==2\.13\.0 --index-url https://download\.pytorch\.org/whl/cpu$")
    grader = index_of(lines, r'^pip install -e "\.\[test\]"$')
    tests = lines.index(readme_test_command())
    verify = lines.index("grade verify")
    assert bwrap < userns < torch < grader < tests < verify
    assert "AppArmor" in COURSE_CI.read_text(encoding="utf-8")  # the comment says why the sysctl is there


def test_the_readme_and_ci_run_the_same_test_command():
    assert readme_test_command() == "python -m pytest"
    assert (PROJECT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1] == readme_test_command()
    assert readme_test_command() in runs(COURSE_CI)


def test_torch_pin_matches_the_package_bound():
    assert f"torch>=2.2,<={TORCH_PIN.split('==')[1]}" in (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
    assert workflow(STUDENT_CI)["env"]["TORCH_VERSION"] == TORCH_PIN.split("==")[1]


def test_student_template_installs_the_bundle_grader_from_one_variable_and_checks_every_notebook():
    data = workflow(STUDENT_CI)
    env = data["env"]
    assert env["GRADER_SRC"] == "./grader-src" and env["EXERCISES"] == "exercises"
    text = STUDENT_CI.read_text(encoding="utf-8")
    assert text.count("grader-src") == 1  # the path is written once, at the top
    lines = runs(STUDENT_CI)
    index_of(lines, r"apt-get install .*\bbubblewrap\b")
    index_of(lines, r"sysctl -w kernel\.apparmor_restrict_unprivileged_userns=0 \|\| true$")
    install = index_of(lines, r'^pip install "\$\{GRADER_SRC\}"$')
    loop = index_of(lines, r'^for notebook in "\$\{EXERCISES\}"/\*\.ipynb; do$')
    check = index_of(lines, r"^grade check ")
    assert install < loop < check
    assert '--summary-md "$GITHUB_STEP_SUMMARY"' in lines[check]


def test_options_the_student_template_uses_exist_on_grade_check():
    check_lines = [line for line in runs(STUDENT_CI) if line.startswith("grade check")]
    script = " ".join(line.rstrip("\\") for line in runs(STUDENT_CI)[runs(STUDENT_CI).index(check_lines[0]):][:2])
    used = {word for word in shlex.split(script, posix=False) if word.startswith("--")}
    assert used == {"--isolation", "--summary-md", "--junit"}
    known = {opt for param in check_cmd.params for opt in param.opts}
    assert used <= known
    help_text = invoke("check", "--help").output
    assert all(option in help_text for option in used)


def test_templates_readme_names_the_variables_and_the_bundle_command():
    text = (PROJECT / "templates" / "README.md").read_text(encoding="utf-8")
    assert "GRADER_SRC" in text and "EXERCISES" in text and "grade export student OUT_DIR" in text
    assert "templates/student-repo/.github/workflows/grade-check.yml" in text


# -- grade check --summary-md ----------------------------------------------------------------------------------
def _notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["grader"] = {"exercise": "alpha"}
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_grade_check_appends_points_as_markdown(mini_course, isolation, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("# Run\n", encoding="utf-8")
    good = _notebook(tmp_path / "good.ipynb", REFERENCE["alpha"][0])
    bad = _notebook(tmp_path / "bad.ipynb", "def double(x):\n    return 0")
    for notebook, code in ((good, 0), (bad, EXIT_FAILED)):
        result = invoke("check", str(notebook), "--course", str(mini_course), "--isolation", isolation.requested,
                        "--summary-md", str(summary))
        assert result.exit_code == code, result.output
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    result = invoke("check", str(tmp_path / "broken.ipynb"), "--course", str(mini_course), "--summary-md",
                    str(summary))
    assert result.exit_code == EXIT_FAILED
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# Run\n")  # appended, never overwritten
    sections = text.split("### ")[1:]
    assert [s.splitlines()[0] for s in sections] == ["✅ Self-check: alpha (good.ipynb)", "❌ Self-check: alpha (bad.ipynb)",
                                                     "❌ broken.ipynb"]
    assert "**Points: 2/2**" in sections[0] and "**Points: 0/2**" in sections[1]
    assert "| double | lesson | failed | 0/2 |" in sections[1] and "double(2) is 4" in sections[1]
    assert "law" not in text  # hidden check names never shown
    assert "not valid JSON" in sections[2]
