"""Started placements as SSDA903-shaped episodes, for the DfE looked-after children return.

One row per placement the register started, in the 903 ``Episodes`` table's column names and
date format (``DD/MM/YYYY``), so the council's 903 tooling (a validator, a return builder)
reads it as a partial episodes file:

- ``CHILD``: the pseudonymous child id; ``DECOM``: the placement's start date.
- ``RNE``: ``P`` (change of placement and carer) when the register holds an earlier placement
  for the child, else ``S`` (started to be looked after). A child already looked after before
  the register was used starts with ``S`` here: correct such rows from the case system.
- ``LS``, ``CIN``: the legal status and category of need on the child's referral.
- ``PLACE``, ``PLACE_PROVIDER``: from the allocation (the policy's ``place_codes``); blank
  ``PLACE_PROVIDER`` for a fallback, whose provider the purchasing system chooses.
- ``URN``: the unit's Ofsted URN; ``XXXXXXX`` (903's "not applicable") when the unit has none
  or the placement came through a fallback.
- ``DEC``, ``REC``: the end date and SSDA903 reason code of an ended placement (``X1`` when
  the child moved to another placement the register started the same day).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from allocator.register.db import reading
from allocator.register.errors import RegisterError, check_period
from allocator.register.schema import placements, referrals
from allocator.register.store import _engine
from allocator.write import as_text_table, check_out_file, write_file_whole

COLUMNS = ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "URN", "DEC", "REC")
NOT_APPLICABLE_URN = "XXXXXXX"


def _903_date(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def episodes(target: str | Engine, start: date | None = None,
             end: date | None = None) -> pd.DataFrame:
    """Episodes of placements started on or after ``start`` and on or before ``end``."""
    check_period(start, end)
    engine = _engine(target)
    with reading(engine) as conn:
        rows = conn.execute(
            select(placements, referrals.c.legal_status, referrals.c.category_of_need)
            .join(referrals, referrals.c.child_id == placements.c.child_id, isouter=True)
            .order_by(placements.c.child_id, placements.c.start_date, placements.c.id)
        ).mappings().all()
    out = []
    seen: set[str] = set()
    for r in rows:
        earlier = r["child_id"] in seen
        seen.add(r["child_id"])
        if (start and r["start_date"] < start) or (end and r["start_date"] > end):
            continue
        out.append({
            "CHILD": r["child_id"], "DECOM": _903_date(r["start_date"]),
            "RNE": "P" if earlier else "S", "LS": r["legal_status"] or "",
            "CIN": r["category_of_need"] or "", "PLACE": r["place_code"] or "",
            "PLACE_PROVIDER": r["place_provider"] or "",
            "URN": (r["ofsted_urn"] or NOT_APPLICABLE_URN) if r["unit_id"]
            else NOT_APPLICABLE_URN,
            "DEC": _903_date(r["end_date"]), "REC": r["end_reason"] or ""})
    return pd.DataFrame(out, columns=list(COLUMNS))


def check_out_episodes(path: str | Path, force: bool = True) -> Path:
    """The ``--out`` file as a path, or exit 2 naming the option: a file that could be
    written (:func:`allocator.write.check_out_file`) and, without ``force``, new or an earlier
    export. Checked before the register is read."""
    out = check_out_file(path)
    if not force and out.is_file() and not _an_export(out):
        # Found in review: --out demo/units.csv replaced the council's units file.
        raise RegisterError(f"{path} exists and is not an earlier export (its first line is "
                            f"not {','.join(COLUMNS)}): choose another name, or pass --force "
                            "to replace it", "--out")
    return out


def _an_export(path: Path) -> bool:
    """Whether ``path`` starts with the header this export writes."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as handle:  # Excel adds a BOM
            return handle.readline().rstrip("\r\n") == ",".join(COLUMNS)
    except OSError:
        return False


def write_episodes(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the episodes as CSV (formula-safe), replacing the file whole
    (:func:`allocator.write.write_file_whole`): a failure leaves the earlier file, if any."""
    return write_file_whole(Path(path), lambda staging: as_text_table(frame).to_csv(
        staging, index=False, lineterminator="\n"))
