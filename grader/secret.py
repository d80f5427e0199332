"""The instructor secret behind per-submission random inputs."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .errors import UsageError

SECRET_ENV = "GRADER_SECRET"


def resolve_secret(secret_file: Path | None, fallback: Path) -> tuple[bytes, str]:
    """The secret and where it came from: --secret-file, $GRADER_SECRET, or a file made once beside the reports."""
    if secret_file is not None:
        return read_secret_file(secret_file), str(secret_file)
    env = os.environ.get(SECRET_ENV)
    if env:
        return env.encode("utf-8"), f"${SECRET_ENV}"
    if not fallback.exists():
        fallback.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(fallback, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return fallback.read_bytes().strip(), str(fallback)


def read_secret_file(secret_file: Path) -> bytes:
    """The secret in `secret_file` (surrounding whitespace ignored), at least 16 characters."""
    try:
        value = secret_file.read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"cannot read the secret file {secret_file}: {exc.strerror}") from None
    if len(value) < 16:
        raise UsageError(f"the secret in {secret_file} is too short (at least 16 characters)")
    return value
