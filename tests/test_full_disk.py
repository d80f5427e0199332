"""A full or read-only OUT disk: one student's volume costs only that student; a disk with no room left stops
the batch with exit 3 naming it, keeps what was written, and a rerun resumes; a read-only OUT is exit 2."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

import grader.files
from grader.batch import grade_batch
from grader.cli import main
from grader.course import load_course
from grader.errors import EXIT_INTERNAL, EXIT_USAGE, DiskFull, ReadOnlyOut
from grader.files import write_atomic
from grader.jobs import JobResult
from grader.layout import OutLayout
from grader.models import ExerciseRun
from grader.options import GradingOptions
from grader.sandbox import Limits

from minicourse import make_batch, make_course

SECRET = b"full-disk-test-secret"
QUOTA = 2 * 1024**2


@contextlib.contextmanager
def tmpfs(folder: Path, size: int, read_only: bool = False) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a tmpfs")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def inject_quota(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """Files above `limit` bytes fail at write_atomic's fsync with ENOSPC, as on a disk with `limit` left."""
    real = os.fsync

    def fsync(fd: int) -> None:
        if os.fstat(fd).st_size > limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(grader.files.os, "fsync", fsync)


@pytest.fixture(params=["tmpfs", "injected"])
def small_out(request, tmp_path, monkeypatch) -> Iterator[Path]:
    """An OUT folder with about 2 MiB of room: a real tmpfs (root) or ENOSPC injected at the write boundary."""
    if request.param == "tmpfs":
        with tmpfs(tmp_path / "small", QUOTA) as folder:
            yield folder / "out"
    else:
        inject_quota(monkeypatch, QUOTA)
        yield tmp_path / "out"


class FakeExecutor:
    """Returns every job graded at once, no kernel; `hog`'s executed notebook is `hog_bytes` long, and
    `after_first` runs once the first result is handed back."""

    def __init__(self, hog: str = "", hog_bytes: int = 0, after_first=None) -> None:
        self.hog, self.hog_bytes, self.after_first = hog, hog_bytes, after_first
        self.ran: list[tuple[str, str]] = []

    def prepare(self, options, notebooks):
        pass

    def run(self, jobs, options):
        for n, job in enumerate(jobs):
            self.ran.append((job.student, job.exercise))
            text = "x" * self.hog_bytes if job.student == self.hog else '{"cells": []}'
            yield JobResult(job.student, job.exercise, ExerciseRun(job.exercise, "graded", "graded",
                                                                   job.notebook_name), text)
            if n == 0 and self.after_first:
                self.after_first()


@pytest.fixture
def course_and_subs(tmp_path, isolation):
    course = make_course(tmp_path / "course")
    subs = make_batch(course, tmp_path / "subs", 3)
    return GradingOptions(load_course(course), isolation, Limits(), SECRET), subs


def test_write_atomic_names_the_full_disk_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old")
    inject_quota(monkeypatch, 10)
    with pytest.raises(DiskFull) as caught:
        write_atomic(target, "a much longer new text")
    assert caught.value.exit_code == EXIT_INTERNAL and "disk holding" in str(caught.value)
    assert str(tmp_path) in str(caught.value) and "full" in str(caught.value)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_write_atomic_on_a_read_only_folder_is_a_usage_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(grader.files.tempfile, "mkstemp", refuse)
    with pytest.raises(ReadOnlyOut) as caught:
        write_atomic(tmp_path / "x.json", "{}")
    assert caught.value.exit_code == EXIT_USAGE and "cannot be written" in str(caught.value)


def test_a_real_full_tmpfs_raises_disk_full(tmp_path):
    with tmpfs(tmp_path / "tiny", 64 * 1024) as folder:
        with pytest.raises(DiskFull):
            write_atomic(folder / "big.bin", b"x" * (256 * 1024))
        assert list(folder.iterdir()) == []  # the temporary file is gone, its space given back


def test_one_students_outputs_cost_only_that_student(course_and_subs, small_out):
    options, subs = course_and_subs
    executor = FakeExecutor(hog="s1", hog_bytes=3 * QUOTA)
    reports = {r["student"]: r for r in grade_batch(subs, small_out, options, executor=executor)}
    assert set(reports) == {"s0", "s1", "s2"}
    layout = OutLayout(small_out)
    for student in ("s0", "s2"):
        assert all(e["status"] == "graded" for e in reports[student]["exercises"])
        assert json.loads(layout.report(student).read_text()) == reports[student]
    hog = reports["s1"]["exercises"]
    assert {e["status"] for e in hog} == {"not_gradable"}
    assert all("disk is full" in e["message"] and str(small_out) not in e["message"] for e in hog)
    details = json.loads(layout.details("s1").read_text())
    assert "Traceback" in details["alpha"]["grader_error"] and "DiskFull" in details["alpha"]["grader_error"]
    rows = layout.gradebook().read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["s0", "s1", "s2"]
    assert not list(layout.partial_files())


def test_a_disk_with_no_room_left_stops_with_exit_3_and_a_rerun_resumes(course_and_subs, tmp_path, monkeypatch):
    options, subs = course_and_subs
    out = tmp_path / "out"
    full = {"on": False}
    real = os.fsync

    def fsync(fd: int) -> None:
        if full["on"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(grader.files.os, "fsync", fsync)
    first = FakeExecutor(after_first=lambda: full.update(on=True))  # another program fills the disk
    with pytest.raises(DiskFull) as caught:
        grade_batch(subs, out, options, executor=first)
    message = str(caught.value)
    assert "is full" in message and "run the same command again" in message and "graded and kept" in message
    assert caught.value.exit_code == EXIT_INTERNAL
    full["on"] = False  # the instructor frees some space
    second = FakeExecutor()
    reports = grade_batch(subs, out, options, executor=second)
    assert len(second.ran) < 6 and sorted(r["student"] for r in reports) == ["s0", "s1", "s2"]
    assert all(e["status"] == "graded" for r in reports for e in r["exercises"])


def test_a_read_only_out_is_a_usage_error_named_as_such(course_and_subs, tmp_path):
    options, subs = course_and_subs
    with tmpfs(tmp_path / "ro", 1024**2, read_only=True) as out:
        with pytest.raises(ReadOnlyOut) as caught:
            grade_batch(subs, out, options, executor=FakeExecutor())
        assert "Read-only file system" in str(caught.value)
        result = CliRunner().invoke(main, ["run", str(subs), "--out", str(out), "--course", str(tmp_path / "course"),
                                           "--isolation", "none"])
        assert result.exit_code == EXIT_USAGE, result.output
        assert "Read-only file system" in result.output and "internal error" not in result.output
