"""Near-copy pairs in `grade review`: queue rows, one pair in full, and a person's "noted" / "dismissed".

The pairs are the last export's (OUT/.instructor/near_copies.json, grader/similarity.py); the decision goes to
the score store's `pairs` section under the OUT lock. A decision is never a verdict: no report, feedback or
gradebook changes. It holds while both students' code is unchanged; after that the pair is to do again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..layout import OutLayout
from ..manual import ScoreRefused
from ..scorestore import DECISIONS, PairDecision, ScoreStore, out_lock
from ..similarity import NearCopy, read_near_copies

KIND, DECIDED = "near_copy", "near_copy_decided"


def pair_path(copy: NearCopy) -> str:
    """The item's API path: /api/pair/<exercise>/<first>/<second>."""
    return "/api/pair/" + "/".join(quote(part, safe="") for part in (copy.exercise, copy.first, copy.second))


def _current(decision: PairDecision | None, copy: NearCopy) -> bool:
    return decision is not None and decision.code == copy.fingerprint


def pair_rows(layout: OutLayout, store: ScoreStore, order: int) -> list[dict[str, Any]]:
    """A queue row per pair: kind near_copy (to do, or decided on code that changed since) or near_copy_decided."""
    rows = []
    for copy in read_near_copies(layout):
        decision = store.pairs.get(copy.key)
        rows.append({"student": copy.first, "other": copy.second, "check": copy.key, "exercise": copy.exercise,
                     "kind": DECIDED if _current(decision, copy) else KIND, "order": order, "item": pair_path(copy),
                     "similarity": copy.similarity, "decision": decision.decision if decision else None})
    return rows


def _find(layout: OutLayout, exercise: str, first: str, second: str) -> NearCopy:
    for copy in read_near_copies(layout):
        if (copy.exercise, copy.first, copy.second) == (exercise, first, second):
            return copy
    raise ScoreRefused(f"{exercise}/{first}/{second} is not a near-copy pair of this OUT folder "
                       "(the pairs are those of the last grade run or export)")


def pair_item(layout: OutLayout, exercise: str, first: str, second: str) -> dict[str, Any]:
    """One pair in full: both students, the similarity, the shared passages and the decision with its version."""
    copy = _find(layout, exercise, first, second)
    decision = ScoreStore.load(layout).pairs.get(copy.key)
    return {"kind": DECIDED if _current(decision, copy) else KIND, "check": copy.key, "exercise": exercise,
            "student": first, "other": second, "similarity": copy.similarity, "passages": list(copy.passages),
            "scorable": False, "version": decision.version if decision else 0,
            "stale": decision is not None and not _current(decision, copy),
            "decision": None if decision is None else {"decision": decision.decision, "comment": decision.comment,
                                                       "who": decision.who, "when": decision.when}}


def decide(layout: OutLayout, exercise: str, first: str, second: str, decision: object, comment: str = "",
           version: int | None = None, who: str = "") -> dict[str, Any]:
    """Record "noted" or "dismissed" for a pair; ScoreRefused, ScoreConflict or OutBusy as a score's save."""
    if decision not in DECISIONS:
        raise ScoreRefused(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    copy = _find(layout, exercise, first, second)
    with out_lock(layout, wait=10.0):
        store = ScoreStore.load(layout)
        store.put_pair(copy.key, PairDecision(str(decision), comment.strip(), who, code=copy.fingerprint), version)
        store.save()
    return pair_item(layout, exercise, first, second)
