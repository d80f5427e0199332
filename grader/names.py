"""Student names are data: decoding names the filesystem holds, and safe file names for ids and notebooks.

A name on disk is bytes (Python hands them over as `str` with surrogate escapes). For file access the bytes
are kept (the `Path` from the directory listing); for ids and display they are decoded as UTF-8, else
GB18030 (zips made on Chinese Windows), else UTF-8 with backslash escapes for the bad bytes.

`safe_name` is the one escaping of an id or a notebook name into a file name of OUT: a name made of
printable characters in NFC form, at most `MAX_SAFE_BYTES` long, not hidden and free of `/ \\ % ~` is kept
as it is; anything else has those characters percent-escaped (`%2E` for a leading dot), and a name still too
long is cut and ends in `~` and a hash of the whole name. `%` and `~` never appear unescaped otherwise, so
two different names never share a file name.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata

MAX_SAFE_BYTES = 150  # leaves room under NAME_MAX (255) for suffixes and temporary names
_ESCAPED = frozenset("/\\%~")


def decode_name(name: str | bytes) -> str:
    """A file name as text: UTF-8, else GB18030, else UTF-8 with backslash escapes for the bad bytes."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("gb18030")
        if text.encode("gb18030") == raw and text.isprintable():
            return text
    except (UnicodeDecodeError, UnicodeEncodeError):
        pass
    return raw.decode("utf-8", "backslashreplace")


def escaped_name(name: str | bytes) -> str:
    """The bytes of a file name as unambiguous text (`\\xNN` for bytes that are not UTF-8); for messages."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    return raw.decode("utf-8", "backslashreplace")


def byte_escaped(name: str | bytes) -> str:
    """Every byte of a name outside printable ASCII (and the backslash) as `\\xNN`: reversible, unique."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in raw)


def _char_is_safe(char: str) -> bool:
    return char.isprintable() and char not in _ESCAPED and not 0xD800 <= ord(char) <= 0xDFFF


def is_safe_name(name: str) -> bool:
    """Whether `safe_name` keeps `name` as it is."""
    return (bool(name) and not name.startswith(".") and all(_char_is_safe(c) for c in name)
            and unicodedata.is_normalized("NFC", name) and len(name.encode("utf-8")) <= MAX_SAFE_BYTES)


def safe_name(name: str) -> str:
    """A file name for `name` that is safe in any folder and different for every different `name`."""
    if is_safe_name(name):
        return name
    nfc = unicodedata.is_normalized("NFC", name)
    out = []
    for index, char in enumerate(name):
        keep = _char_is_safe(char) and (nfc or char.isascii()) and not (index == 0 and char == ".")
        out.append(char if keep else "".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass")))
    text = "".join(out) or "%"
    if len(text.encode("utf-8")) > MAX_SAFE_BYTES:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:20]
        text = _cut(text, MAX_SAFE_BYTES - len(digest) - 1) + "~" + digest
    return text


def safe_file_name(name: str) -> str:
    """`safe_name` that keeps a short extension at the end (`.ipynb` stays `.ipynb`)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10 or not ext.isalnum() or not ext.isascii():
        return safe_name(name)
    if is_safe_name(name):
        return name
    return safe_name(stem) + "." + ext


def _cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes without splitting a character or a %XX escape."""
    while len(text.encode("utf-8")) > limit:
        text = text[:-1]
    cut = text.rfind("%")
    if cut != -1 and cut > len(text) - 3:
        text = text[:cut]
    return text
