"""LMS intake: Canvas and Moodle submission zips become one folder per student (grader/intake.py)."""

from __future__ import annotations

import csv
import json
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.cli import EXIT_USAGE
from grader.errors import UsageError
from grader.intake import IntakeLimits, parse_entry, unpack_lms_zip
from conftest import invoke
from minicourse import REFERENCE, WRONG_ALPHA

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "submissions"
KNOWN = {"autograd": "01_autograd.ipynb", "logistic_regression": "02_logistic_regression.ipynb"}
EARLY, LATE = (2025, 3, 1, 10, 0, 0), (2025, 3, 2, 9, 30, 0)


def make_zip(path: Path, entries: list[tuple[str, bytes] | tuple[str, bytes, tuple[int, ...]]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, *when in entries:
            info = zipfile.ZipInfo(name, when[0] if when else EARLY)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def example(student: str, notebook: str) -> bytes:
    return (EXAMPLES / student / notebook).read_bytes()


def tagged(exercise: str, marker: str) -> bytes:
    """A tiny notebook of `exercise` whose one cell says which file it was."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {marker}")])
    nb.metadata["grader"] = {"exercise": exercise}
    return nbformat.writes(nb).encode()


def cell_of(path: Path) -> str:
    return nbformat.read(path, as_version=4).cells[0].source


# -- names ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry, lms, student, name, late", [
    ("smithjohn_12345_67890_01_autograd.ipynb", "canvas", "12345", "01_autograd.ipynb", False),
    ("smithjohn_LATE_12345_67891_01_autograd-1.ipynb", "canvas", "12345", "01_autograd.ipynb", True),
    ("anon_Xy3z9_555_01_autograd.ipynb", "canvas", "anon_Xy3z9", "01_autograd.ipynb", False),
    ("LATE_anon_Xy3z9_556_01_autograd.ipynb", "canvas", "anon_Xy3z9", "01_autograd.ipynb", True),
    ("smithjohn_late_12345_67892_01_autograd.ipynb", "canvas", "12345", "01_autograd.ipynb", True),  # older Canvas
    ("smithjohn_12345_text.html", "canvas", "12345", "text.html", False),
    ("Zhang Wei_1234567_assignsubmission_file_/01_autograd (1).ipynb", "moodle", "1234567", "01_autograd.ipynb", False),
    ("Zhang Wei_1234567_assignsubmission_file_/sub/02_logistic_regression.ipynb", "moodle", "1234567",
     "02_logistic_regression.ipynb", False),
    ("Zhang Wei_1234567_assignsubmission_file_01_autograd.ipynb", "moodle", "1234567", "01_autograd.ipynb", False),
])
def test_canvas_and_moodle_names(entry, lms, student, name, late):
    parsed = parse_entry(entry)
    assert (parsed.lms, parsed.student, parsed.name, parsed.late) == (lms, student, name, late)


@pytest.mark.parametrize("entry", ["notes.txt", "alice/01_autograd.ipynb", "12_34_56_x.ipynb",
                                   "Zhang Wei_1234567_assignsubmission_file_/", "__MACOSX/._smithjohn_1_2_x.ipynb"])
def test_names_that_follow_neither_convention(entry):
    assert parse_entry(entry) is None


# -- unpacking --------------------------------------------------------------------------------------------------
def test_canvas_zip_becomes_one_folder_per_user_id(tmp_path):
    zip_path = make_zip(tmp_path / "submissions.zip", [
        ("smithjohn_12345_67890_01_autograd.ipynb", example("alice", "01_autograd.ipynb")),
        ("smithjohn_12345_67892_02_logistic_regression.ipynb", example("alice", "02_logistic_regression.ipynb")),
        ("smithjohn_12345_67893_data.csv", b"x,y\n1,2\n"),
        ("doejane_LATE_23456_70001_01_autograd.ipynb", example("bob", "01_autograd.ipynb")),
    ])
    result = unpack_lms_zip(zip_path, tmp_path / "intake", KNOWN)
    assert result.lms == "canvas" and result.warnings == []
    folder = tmp_path / "intake" / "submissions"
    assert sorted(p.name for p in folder.iterdir()) == ["12345", "23456"]
    assert sorted(p.name for p in (folder / "12345").iterdir()) == ["01_autograd.ipynb", "02_logistic_regression.ipynb",
                                                                    "data.csv"]
    assert (folder / "23456" / "01_autograd.ipynb").read_bytes() == example("bob", "01_autograd.ipynb")
    manifest = json.loads((tmp_path / "intake" / "students.json").read_text(encoding="utf-8"))
    assert manifest["lms"] == "canvas"
    assert manifest["students"]["23456"]["name"] == "doejane" and manifest["students"]["23456"]["late"] is True
    assert manifest["students"]["12345"]["late"] is False


def test_canvas_latest_upload_wins_with_a_warning(tmp_path):
    # The zip's entry times are when Canvas built the zip; the attachment id says which upload came last.
    zip_path = make_zip(tmp_path / "s.zip", [
        ("smithjohn_LATE_12345_67891_01_autograd-1.ipynb", tagged("autograd", "second"), EARLY),
        ("smithjohn_LATE_12345_67890_01_autograd.ipynb", tagged("autograd", "first"), LATE),
        ("smithjohn_LATE_12345_67895_autograd_final.ipynb", tagged("autograd", "third"), EARLY),  # same exercise
        ("smithjohn_LATE_12345_67880_02_logistic_regression.ipynb", tagged("logistic_regression", "lr"), EARLY),
    ])
    result = unpack_lms_zip(zip_path, tmp_path / "intake", KNOWN)
    student = tmp_path / "intake" / "submissions" / "12345"
    assert sorted(p.name for p in student.iterdir()) == ["02_logistic_regression.ipynb", "autograd_final.ipynb"]
    assert cell_of(student / "autograd_final.ipynb") == "# third"
    [warning] = result.warnings
    assert warning.startswith("student 12345: ")
    assert "kept 'smithjohn_LATE_12345_67895_autograd_final.ipynb'" in warning
    assert "'smithjohn_LATE_12345_67891_01_autograd-1.ipynb', 'smithjohn_LATE_12345_67890_01_autograd.ipynb'" in warning
    manifest = json.loads((tmp_path / "intake" / "students.json").read_text(encoding="utf-8"))
    assert [d["entry"] for d in manifest["students"]["12345"]["dropped"]] == [
        "smithjohn_LATE_12345_67890_01_autograd.ipynb", "smithjohn_LATE_12345_67891_01_autograd-1.ipynb"]


def test_canvas_dash_suffix_breaks_a_tie(tmp_path):
    zip_path = make_zip(tmp_path / "s.zip", [
        ("smithjohn_12345_67890_notes-2.txt", b"two"),
        ("smithjohn_12345_67890_notes-1.txt", b"one"),
    ])
    result = unpack_lms_zip(zip_path, tmp_path / "intake", KNOWN)
    assert (tmp_path / "intake" / "submissions" / "12345" / "notes.txt").read_bytes() == b"two"
    assert "kept 'smithjohn_12345_67890_notes-2.txt'" in result.warnings[0]


def test_moodle_folders_and_flat_files_latest_time_wins(tmp_path):
    zip_path = make_zip(tmp_path / "moodle.zip", [
        ("张伟_1234567_assignsubmission_file_/01_autograd.ipynb", tagged("autograd", "later"), LATE),
        ("张伟_1234567_assignsubmission_file_/01_autograd (1).ipynb", tagged("autograd", "earlier"), EARLY),
        ("张伟_1234567_assignsubmission_onlinetext_onlinetext.html", b"<p>hi</p>"),
        ("Ada Lovelace_7654321_assignsubmission_file_02_logistic_regression.ipynb",
         example("alice", "02_logistic_regression.ipynb")),
    ])
    result = unpack_lms_zip(zip_path, tmp_path / "intake", KNOWN)
    folder = tmp_path / "intake" / "submissions"
    assert result.lms == "moodle"
    assert sorted(p.name for p in (folder / "1234567").iterdir()) == ["01_autograd.ipynb", "onlinetext.html"]
    assert cell_of(folder / "1234567" / "01_autograd.ipynb") == "# later"
    assert (folder / "7654321" / "02_logistic_regression.ipynb").is_file()
    [warning] = result.warnings
    assert "student 1234567" in warning and "dropped '张伟_1234567_assignsubmission_file_/01_autograd (1).ipynb'" in warning
    manifest = json.loads((tmp_path / "intake" / "students.json").read_text(encoding="utf-8"))
    assert manifest["students"]["1234567"]["name"] == "张伟"


@pytest.mark.parametrize("names, blind", [
    (["Participant", "Participant"], True),
    (["Group A-Participant", "Group B-Participant"], True),
    (["Participant"], True),
    (["参与者", "参与者", "参与者"], True),  # the site's language: the same word for everyone
    (["Wei Zhang", "Wei Zhang"], False),  # two students may share a name
    (["Ada Lovelace", "Bob Byte", "Cy Nobody"], False),
])
def test_moodle_blind_marking_carries_no_name(tmp_path, names, blind):
    from grader.roster import identities

    unpack_lms_zip(make_zip(tmp_path / "m.zip", [
        (f"{name}_{1000 + i}_assignsubmission_file_/01_autograd.ipynb", tagged("autograd", name))
        for i, name in enumerate(names)]), tmp_path / "intake", KNOWN)
    people = identities(tmp_path / "intake")
    assert [people[str(1000 + i)].lms_name for i in range(len(names))] == ([""] * len(names) if blind else names)


def test_names_stored_as_utf8_without_the_utf8_flag_are_read_as_utf8(tmp_path):
    class NoFlag(zipfile.ZipInfo):  # what some zip writers do: UTF-8 bytes, flag not set (zipfile assumes cp437)
        def _encodeFilenameFlags(self):
            return self.filename.encode("utf-8"), self.flag_bits & ~0x800

    with zipfile.ZipFile(tmp_path / "m.zip", "w") as archive:
        archive.writestr(NoFlag("张伟_1234567_assignsubmission_file_/01_autograd.ipynb", EARLY), tagged("autograd", "x"))
    result = unpack_lms_zip(tmp_path / "m.zip", tmp_path / "intake", KNOWN)
    assert result.students["1234567"][0].display == "张伟"


def test_other_files_are_ignored_with_one_warning(tmp_path):
    zip_path = make_zip(tmp_path / "s.zip", [
        ("smithjohn_12345_67890_01_autograd.ipynb", tagged("autograd", "x")),
        ("README.txt", b"hello"), ("__MACOSX/._smithjohn_12345_67890_01_autograd.ipynb", b"junk"),
    ])
    result = unpack_lms_zip(zip_path, tmp_path / "intake", KNOWN)
    assert result.warnings == ["s.zip: ignored 2 file(s) not named like a Canvas submission: 'README.txt', "
                               "'__MACOSX/._smithjohn_12345_67890_01_autograd.ipynb'"]
    assert [p.name for p in (tmp_path / "intake" / "submissions").iterdir()] == ["12345"]


def test_unpacking_again_replaces_the_previous_folder(tmp_path):
    make_zip(tmp_path / "a.zip", [("smithjohn_12345_67890_01_autograd.ipynb", tagged("autograd", "x"))])
    make_zip(tmp_path / "b.zip", [("doejane_23456_67890_01_autograd.ipynb", tagged("autograd", "y"))])
    unpack_lms_zip(tmp_path / "a.zip", tmp_path / "intake", KNOWN)
    unpack_lms_zip(tmp_path / "b.zip", tmp_path / "intake", KNOWN)
    assert [p.name for p in (tmp_path / "intake" / "submissions").iterdir()] == ["23456"]


# -- refusals -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../smithjohn_12345_67890_evil.ipynb", "/tmp/smithjohn_12345_67890_evil.ipynb",
                                  "a/../../smithjohn_12345_67890_evil.ipynb", "..\\smithjohn_12345_67890_evil.ipynb",
                                  "C:/smithjohn_12345_67890_evil.ipynb"])
def test_path_traversal_is_that_students_problem_only(tmp_path, name):
    zip_path = make_zip(tmp_path / "s.zip", [("doejane_23456_70001_01_autograd.ipynb", b"{}"), (name, b"{}")])
    result = unpack_lms_zip(zip_path, tmp_path / "out" / "intake", KNOWN)
    folder = tmp_path / "out" / "intake" / "submissions"
    assert sorted(p.name for p in folder.iterdir()) == ["12345", "23456"]
    assert list((folder / "12345").iterdir()) == []  # nothing of the unsafe entry was written anywhere
    assert (folder / "23456" / "01_autograd.ipynb").read_bytes() == b"{}"
    assert result.problems == {"12345": ["evil.ipynb: not unpacked from the submissions zip (an absolute path or "
                                         "'..' in its name)"]}
    assert any(line.startswith("student 12345: evil.ipynb: not unpacked") for line in result.warnings)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.zip"]
    assert not Path("/tmp/smithjohn_12345_67890_evil.ipynb").exists()


def test_an_unsafe_entry_of_no_one_is_ignored_with_a_warning(tmp_path):
    zip_path = make_zip(tmp_path / "s.zip", [("doejane_23456_70001_01_autograd.ipynb", b"{}"), ("../evil.ipynb", b"{}")])
    result = unpack_lms_zip(zip_path, tmp_path / "intake", KNOWN)
    assert set(result.students) == {"23456"} and result.problems == {}
    assert "'../evil.ipynb'" in result.warnings[0]


def test_symlink_entries_are_that_students_problem(tmp_path):
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as archive:
        info = zipfile.ZipInfo("smithjohn_12345_67890_link.ipynb", EARLY)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
        archive.writestr(zipfile.ZipInfo("doejane_23456_70001_01_autograd.ipynb", EARLY), b"{}")
    result = unpack_lms_zip(tmp_path / "s.zip", tmp_path / "intake", KNOWN)
    assert result.problems == {"12345": ["link.ipynb: not unpacked from the submissions zip (a symbolic link; "
                                         "links are not followed)"]}
    folder = tmp_path / "intake" / "submissions"
    assert list((folder / "12345").iterdir()) == [] and (folder / "23456" / "01_autograd.ipynb").is_file()


def test_too_many_files_or_bytes_refuse_the_zip(tmp_path):
    entries = [(f"s{i}_{100 + i}_{200 + i}_01_autograd.ipynb", b"{}") for i in range(5)]
    with pytest.raises(UsageError, match="5 files, over the limit of 4"):
        unpack_lms_zip(make_zip(tmp_path / "many.zip", entries), tmp_path / "i1", KNOWN, IntakeLimits(max_files=4))
    bomb = make_zip(tmp_path / "bomb.zip", [("smithjohn_12345_67890_big.ipynb", b"\0" * 3 * 1024**2)])
    assert bomb.stat().st_size < 64 * 1024  # compresses ~1000:1
    with pytest.raises(UsageError, match="unpacks to 3 MiB, over the limit of 1 MiB"):
        unpack_lms_zip(bomb, tmp_path / "i2", KNOWN, IntakeLimits(max_total_bytes=1024**2))
    assert not (tmp_path / "i2" / "submissions").exists()


def test_sizes_that_lie_are_caught_while_unpacking(tmp_path):
    real = 3 * 1024**2 + 7
    bomb = make_zip(tmp_path / "bomb.zip", [("smithjohn_12345_67890_big.ipynb", b"\0" * real)])
    data = bomb.read_bytes()
    assert data.count(real.to_bytes(4, "little")) == 2  # local header and central directory
    bomb.write_bytes(data.replace(real.to_bytes(4, "little"), (100).to_bytes(4, "little")))
    with pytest.raises(UsageError, match="bomb.zip: not a readable zip file"):
        unpack_lms_zip(bomb, tmp_path / "intake", KNOWN, IntakeLimits(max_total_bytes=1024**2))


def test_garbage_empty_and_mixed_zips_are_usage_errors(tmp_path):
    (tmp_path / "garbage.zip").write_bytes(b"this is not a zip at all")
    with pytest.raises(UsageError, match=r"garbage.zip: not a readable zip file \(File is not a zip file\)"):
        unpack_lms_zip(tmp_path / "garbage.zip", tmp_path / "i", KNOWN)
    with pytest.raises(UsageError, match="no Canvas or Moodle submission files"):
        unpack_lms_zip(make_zip(tmp_path / "plain.zip", [("alice/01_autograd.ipynb", b"{}")]), tmp_path / "i", KNOWN)
    mixed = make_zip(tmp_path / "mixed.zip", [("smithjohn_12345_67890_a.ipynb", b"{}"),
                                              ("Ada_1_assignsubmission_file_a.ipynb", b"{}")])
    with pytest.raises(UsageError, match="mixes Canvas and Moodle"):
        unpack_lms_zip(mixed, tmp_path / "i", KNOWN)
    with pytest.raises(UsageError, match="submissions zip not found"):
        unpack_lms_zip(tmp_path / "nope.zip", tmp_path / "i", KNOWN)


# -- the grade command --------------------------------------------------------------------------------------------
def test_grade_cli_refuses_a_bad_zip_in_one_line_with_exit_2(mini_course, tmp_path):
    (tmp_path / "subs.zip").write_bytes(b"PK\x03\x04 truncated")
    result = invoke(str(tmp_path / "subs.zip"), "--course", str(mini_course), "--out", str(tmp_path / "out"),
                    "--isolation", "none")
    assert result.exit_code == EXIT_USAGE
    errors = [line for line in result.output.splitlines() if "error" in line]
    assert len(errors) == 1 and "subs.zip: not a readable zip file" in errors[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # no stray OUT/.instructor/secret after a failed run


def _notebook(exercise: str, wrong: bool = False) -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in REFERENCE[exercise]])
    if wrong:
        nb.cells.append(nbformat.v4.new_code_cell(WRONG_ALPHA))
    nb.metadata["grader"] = {"exercise": exercise}
    return nbformat.writes(nb).encode()


@pytest.mark.slow
def test_grading_a_canvas_zip_end_to_end(mini_course, isolation, tmp_path):
    zip_path = make_zip(tmp_path / "submissions.zip", [
        ("smithjohn_12345_67890_alpha.ipynb", _notebook("alpha", wrong=True)),
        ("smithjohn_LATE_12345_67899_alpha-1.ipynb", _notebook("alpha")),  # the late fix wins
        ("smithjohn_12345_67891_beta.ipynb", _notebook("beta")),
        ("doejane_23456_70001_alpha.ipynb", _notebook("alpha", wrong=True)),
    ])
    out = tmp_path / "graded"
    result = invoke(str(zip_path), "--course", str(mini_course), "--out", str(out), "--isolation",
                    isolation.requested, "--workers", "1", "--format", "canvas")
    assert result.exit_code == 0, result.output
    assert "warning: student 12345: several files for alpha.ipynb; kept 'smithjohn_LATE_12345_67899_alpha-1.ipynb'" \
        in " ".join(result.output.split())
    rows = list(csv.DictReader((out / "gradebook.csv").open(encoding="utf-8")))
    assert [(r["student"], r["alpha.double"]) for r in rows] == [("12345", "5"), ("23456", "2")]  # x + 2 passes double(2) only
    assert rows[1]["beta.square"] == "0"  # Jane handed in no beta: missing
    canvas = list(csv.reader((out / "gradebook_canvas.csv").open(encoding="utf-8")))
    assert [row[:4] for row in canvas[2:]] == [["12345", "12345", "", ""], ["23456", "23456", "", ""]]
    assert (out / "students" / "12345" / "alpha.ipynb").is_file()  # the executed copy, under the student's own file name
    assert (out / ".instructor" / "intake" / "students.json").is_file()
