"""What every bundle is made of: files by relative path, the grader's own source, and writing it all at once.

A bundle is a dict {relative path: bytes}; `write_bundle` writes it as a zip (OUT ends in .zip) or a folder,
atomically either way: a reader sees the previous bundle or the new one, never half of one.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import grader

from ..errors import UsageError
from ..files import write_atomic

MARKER = ".grader-bundle"  # in every bundle folder: a folder holding it may be replaced by a new bundle
SOURCE_DIR = "grader-src"  # the grader, pip-installable: `pip install ./grader-src`
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so that the same course gives the same zip
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}

SOURCE_README = """# grader

The grader of this course, as source: `pip install .` here installs it with its `grade` command.
"""


def tree_files(root: Path, prefix: str) -> dict[str, bytes]:
    """Every regular file under `root` (no caches, no hidden files, no symlinks) as `prefix/relative/path`."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in SKIP_DIRS or part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink() or not path.is_file() or path.suffix in (".pyc", ".pyo"):
            continue
        files[f"{prefix}/{relative.as_posix()}"] = path.read_bytes()
    return files


def grader_source() -> dict[str, bytes]:
    """The grader package with a pyproject.toml, under `grader-src/`: what `pip install ./grader-src` needs."""
    package = Path(grader.__file__).resolve().parent
    files = tree_files(package, f"{SOURCE_DIR}/grader")
    project = package.parent / "pyproject.toml"
    if project.is_file() and 'name = "grader"' in project.read_text(encoding="utf-8"):
        files[f"{SOURCE_DIR}/pyproject.toml"] = project.read_bytes()
    else:  # installed from a wheel: describe the package from its installed metadata
        files[f"{SOURCE_DIR}/pyproject.toml"] = generated_pyproject().encode("utf-8")
    files[f"{SOURCE_DIR}/README.md"] = SOURCE_README.encode("utf-8")
    return files


def generated_pyproject() -> str:
    """A pyproject.toml for the installed grader: its version and dependencies, the `grade` command."""
    meta = importlib.metadata.metadata("grader")
    requires = [r for r in importlib.metadata.requires("grader") or [] if "extra ==" not in r]
    return "\n".join([
        "[build-system]", 'requires = ["setuptools>=68"]', 'build-backend = "setuptools.build_meta"', "",
        "[project]", 'name = "grader"', f"version = {json.dumps(meta['Version'])}", 'readme = "README.md"',
        f"requires-python = {json.dumps(meta.get('Requires-Python') or '>=3.11')}",
        f"dependencies = {json.dumps(requires)}", "",
        "[project.scripts]", 'grade = "grader.cli:entry"', "",
        "[tool.setuptools.packages.find]", 'include = ["grader*"]', "",
        "[tool.setuptools.package-data]", 'grader = ["schemas/*.json", "sandboxed/*.py"]', "",
    ])


def write_bundle(files: dict[str, bytes], out: Path, executable: frozenset[str] = frozenset(),
                 private: frozenset[str] = frozenset()) -> Path:
    """Write `files` to OUT: a zip when OUT ends in .zip, else a folder. Returns OUT.

    `executable` files get mode 0755, `private` ones 0600, the rest 0644. An existing folder is replaced only
    when it is an earlier bundle (it holds the marker file) or empty.
    """
    if out.suffix.lower() == ".zip":
        if out.is_dir():
            raise UsageError(f"{out} is a folder; give a new .zip file name")
        write_atomic(out, _zip_bytes(files, executable, private))
        return out
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file; give a folder name, or a name ending in .zip")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError(f"{out} already exists and is not a bundle; remove it or choose another folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name, data in files.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(_mode(name, executable, private))
        tmp.chmod(0o755)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old.{os.getpid()}"
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _mode(name: str, executable: frozenset[str], private: frozenset[str]) -> int:
    return 0o755 if name in executable else 0o600 if name in private else 0o644


def _zip_bytes(files: dict[str, bytes], executable: frozenset[str], private: frozenset[str]) -> bytes:
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024**2) as buffer:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, ZIP_DATE)
                info.external_attr = (stat.S_IFREG | _mode(name, executable, private)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[name])
        buffer.seek(0)
        return buffer.read()
