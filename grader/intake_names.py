"""LMS file names: which student and which file a Canvas or Moodle zip entry stands for.

Canvas names every file `<name>[_LATE]_<user id>_<attachment id>_<file name>`. Canvas's own zipper
(canvas-lms lib/content_zipper.rb, `get_filename` and `add_upload_submission`) joins the user's sortable
name (lowercased, non-word characters removed, `_<digits>_` squeezed out), `LATE` when the submission
was late, and the user id with `_`, then appends `_<attachment id>_<display name>`; with anonymous
grading the name and user id become `anon_<anonymous id>` (a late one: `LATE_anon_<id>_...`). Older Canvas
versions lowercased that whole prefix, `LATE` included (`smithjohn_late_12345_...`): both
spellings count as LATE. Text and URL submissions are
`<name>_<user id>_text.html` / `_link.html`. Canvas reads such names back (re-uploaded submissions,
app/models/assignment.rb `infer_comment_context_from_filename`) by taking the first two all-digit parts
between underscores as user id and attachment id; so do we. A resubmitted file whose name the student
already used gets `-1`, `-2`, ... before its extension (scripts that sort Canvas downloads undo this,
e.g. github.com/TimHanneman/Canvas_submission_sort); we undo it too. The third number is the attachment
(file) id, not the submission id: ids grow with every upload.

Moodle (mod/assign/locallib.php `download_submissions`) prefixes each file with
`clean_filename(<group name>-<full name>_<participant id>_)` (underscores in the name become spaces;
with blind marking the name is "Participant") then `<subtype>_<plugin>_`: with "download submissions
in folders" (the default since Moodle 3.1) a folder `<Full Name>_<participant id>_assignsubmission_file_/`
holding the files under their own paths, else flat files `..._assignsubmission_file_<file name>`.
Moodle's file picker renames a second upload of the same name `name (1).ext`; we undo that too.

Student ids (the folder names, hence the gradebook's `student` column):
- Canvas: the Canvas user id (numeric, unique, and what the `ID` column of Canvas's gradebook import
  matches; `--format canvas` writes it there for students that came from a Canvas zip). The name part is
  neither unique nor a login, so it is only recorded in students.json. Anonymous grading: `anon_<id>`.
- Moodle: the participant id (the number Moodle shows as "Participant 1234567" and that its offline
  grading worksheet uses as `Identifier`). Moodle does not put usernames or emails in the zip. The
  participant id belongs to one Moodle assignment (table assign_user_mapping: "an assignment specific id
  number"): the same student has another id in the next assignment, so each assignment's zip is graded
  into its own OUT, with that assignment's worksheet, late list and extensions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

_MOODLE = re.compile(r"^(?P<name>.*?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)_(?P<rest>.*)$", re.S)
_DIGITS = re.compile(r"^\d+$")
_CANVAS_SUFFIX = re.compile(r"^(?P<stem>.+)-(?P<n>\d+)$")
_MOODLE_SUFFIX = re.compile(r"^(?P<stem>.+) \((?P<n>\d+)\)$")


@dataclass(frozen=True)
class LmsFile:
    """One student file named by an LMS: who handed it in and under which name."""

    lms: str  # canvas | moodle
    student: str
    name: str  # the student's own file name, the LMS's -N / (N) suffix removed
    entry: str  # the zip entry it came from
    display: str = ""  # the LMS's name for the student (Canvas sortable name, Moodle full name)
    late: bool = False
    attachment_id: int = 0  # Canvas: grows with every upload
    copy: int = 0  # the -N / (N) suffix, 0 without one
    mtime: float = 0.0


def parse_entry(entry: str) -> LmsFile | None:
    """The student and file an entry name stands for, or None when it follows neither convention."""
    parts = [p for p in entry.split("/") if p]
    if "__MACOSX" in parts or (parts and parts[-1].startswith("._")):  # macOS resource forks, not student files
        return None
    for index, part in enumerate(parts):
        match = _MOODLE.match(part)
        if match is None:
            continue
        rest = [match["rest"]] if match["rest"] else []
        tail = [*rest, *parts[index + 1:]]
        if not tail:
            return None  # the folder itself
        name, copy = _strip_copy(tail[-1], _MOODLE_SUFFIX)
        return LmsFile("moodle", match["id"], name, entry, display=match["name"], copy=copy)
    return _parse_canvas(entry, parts[-1]) if parts else None


def _parse_canvas(entry: str, base: str) -> LmsFile | None:
    parts = base.split("_")
    lead = 1 if parts and parts[0] == "LATE" else 0  # anonymous: `LATE_anon_<id>` (no name before it)
    if len(parts) >= lead + 4 and parts[lead] == "anon" and _DIGITS.match(parts[lead + 2]):  # anonymous grading
        name, copy = _strip_copy("_".join(parts[lead + 3:]), _CANVAS_SUFFIX)
        return LmsFile("canvas", f"anon_{parts[lead + 1]}", name, entry, late=bool(lead),
                       attachment_id=int(parts[lead + 2]), copy=copy)
    for i, part in enumerate(parts):
        if not _DIGITS.match(part):
            continue
        if i == 0:
            return None  # Canvas always puts the name first
        names = parts[:i]
        late = names[-1].upper() == "LATE" and len(names) > 1  # older Canvas lowercased it with the name
        display = "_".join(names[:-1] if late else names)
        rest = parts[i + 1:]
        if len(rest) >= 2 and _DIGITS.match(rest[0]):
            name, copy = _strip_copy("_".join(rest[1:]), _CANVAS_SUFFIX)
            return LmsFile("canvas", part, name, entry, display, late, int(rest[0]), copy)
        if rest in (["text.html"], ["link.html"]):  # a text entry or URL submission
            return LmsFile("canvas", part, rest[0], entry, display, late)
        return None
    return None


def _strip_copy(name: str, suffix: re.Pattern[str]) -> tuple[str, int]:
    """`01_autograd-2.ipynb` -> (`01_autograd.ipynb`, 2) for Canvas; `x (1).ipynb` -> (`x.ipynb`, 1) for Moodle."""
    path = PurePosixPath(name)
    match = suffix.match(path.stem) if path.suffix else suffix.match(name)
    if match is None:
        return name, 0
    return match["stem"] + (path.suffix if path.suffix else ""), int(match["n"])
