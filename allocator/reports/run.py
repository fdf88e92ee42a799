"""Read a run's output folder back, typed for reporting, and aggregate homes to areas.

The folder is the data contract's (section 8): ``allocation.csv``, ``summary.json`` and
``manifest.json``. Anything missing or unreadable is an :class:`InputError` naming the file,
so ``pdps report`` exits 2 with a message instead of a traceback.

Children's home locations are personal data (pseudonymised, at about postcode-district
resolution). The map therefore never shows a child: homes are pooled into cells of about
3.5 miles, placements into the local authority of the unit (drawn at the centre of that
authority's listed units, so no foster carer's address is drawn either), and each line is a
count of children from one cell to one authority.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.issues import InputError, Issue
from allocator.read import file_sha256, read_table

#: Columns of ``allocation.csv`` a report needs (contract section 8); the rest are optional.
REQUIRED_COLUMNS = ("child_id", "option", "provider_id", "setting", "route", "weekly_cost",
                    "objective_cost", "distance_miles", "in_borough", "approvals", "reason",
                    "next_best")
NUMBERS = ("weekly_cost", "objective_cost", "distance_miles", "next_best_extra")
SUMMARY_KEYS = ("status", "children", "placed", "unplaced", "total_weekly_cost",
                "against_greedy", "spend_by_route", "spend_by_setting", "approvals_needed")

#: Home cells: 0.05 degrees of latitude (3.5 miles) by 0.08 of longitude (3.3 miles at 53.5 N).
CELL_LAT, CELL_LON = 0.05, 0.08


@dataclass(frozen=True)
class Flows:
    """Children counted from home cell to placement authority; no row is one child."""

    lines: pd.DataFrame  # home_lat, home_lon, local_authority, lat, lon, children
    areas: pd.DataFrame  # local_authority, lat, lon, children (placed there)
    via_fallback: int    # placed through a purchasing system: location not yet known
    centres: pd.DataFrame  # local_authority, lat, lon of every authority with listed units


@dataclass(frozen=True)
class RunOutputs:
    """One run's outputs, typed: numbers as floats, ``in_borough`` as bool."""

    folder: Path
    allocation: pd.DataFrame
    summary: dict[str, Any]
    manifest: dict[str, Any]
    flows: Flows | None
    flows_note: str  # why the map is missing, or "" when it is drawn


def load_run(folder: str | Path, *, referrals: str | Path | None = None,
             units: str | Path | None = None) -> RunOutputs:
    """Read ``folder`` as written by ``pdps allocate``.

    ``referrals`` and ``units`` locate the run's inputs when they have moved since the run;
    by default the paths in ``manifest.json`` are used. The inputs are only used for the map,
    and only when their sha256 matches the manifest's, so a report never draws homes from a
    different list of children than the one allocated.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError([Issue(str(folder), None, None, "no such output folder", "file")])
    allocation = _read_allocation(folder / "allocation.csv")
    summary = _read_json(folder / "summary.json", SUMMARY_KEYS)
    manifest = _read_json(folder / "manifest.json", ())
    flows, note = None, ""
    try:
        home_table = _input(manifest, "referrals", referrals, folder)
        unit_table = _input(manifest, "units", units, folder)
        flows = home_to_placement(allocation, home_table, unit_table)
    except _NoMapError as missing:
        note = str(missing)
    return RunOutputs(folder, allocation, summary, manifest, flows, note)


class _NoMapError(Exception):
    """The inputs needed for the map cannot be used; the message says why, for the page."""


def _read_allocation(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError([Issue(str(path), None, None,
                                "file not found: is this a pdps allocate output folder?",
                                "file")])
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError([Issue(str(path), None, None, f"cannot be read: {exc}",
                                "file")]) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError([Issue(str(path), None, ", ".join(missing),
                                "missing column(s) the contract's allocation.csv has",
                                "file")])
    for name in NUMBERS:
        if name in frame.columns:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    frame["in_borough"] = frame["in_borough"].str.strip().str.lower().isin(
        ("true", "yes", "1", "y"))
    return frame


def _read_json(path: Path, required: tuple[str, ...]) -> dict[str, Any]:
    if not path.is_file():
        raise InputError([Issue(str(path), None, None, "file not found", "file")])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise InputError([Issue(str(path), None, None, f"not valid JSON: {exc}",
                                "file")]) from None
    if not isinstance(data, dict):
        raise InputError([Issue(str(path), None, None, "expected a JSON object", "file")])
    missing = [key for key in required if key not in data]
    if missing:
        raise InputError([Issue(str(path), None, None,
                                "missing key(s): " + ", ".join(missing), "file")])
    return data


def _input(manifest: dict[str, Any], role: str, given: str | Path | None,
           folder: Path) -> pd.DataFrame:
    """The run's ``role`` input as text cells, if it can be found and is unchanged."""
    entry = (manifest.get("inputs") or {}).get(role) or {}
    recorded, expected = entry.get("file"), entry.get("sha256")
    if given is None and not recorded:
        raise _NoMapError(f"the manifest names no {role} file, so homes cannot be mapped")
    if given is not None:
        candidates = [Path(given)]
    else:
        path = Path(str(recorded))
        candidates = [path] if path.is_absolute() else [
            path, folder / path, folder.parent / path, folder.parent.parent / path]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        shown = given if given is not None else recorded
        raise _NoMapError(f"the {role} file {shown} is no longer there; pass --{role} to "
                     "point at it")
    if expected and file_sha256(found) != expected:
        raise _NoMapError(f"the {role} file {found} has changed since the run (its sha256 "
                     "differs from the manifest's), so the map is left out")
    try:
        return read_table(found, role).frame
    except InputError as exc:
        raise _NoMapError(f"the {role} file {found} cannot be read: {exc.errors[0].message}"
                     ) from None


def home_to_placement(allocation: pd.DataFrame, referrals: pd.DataFrame,
                      units: pd.DataFrame) -> Flows:
    """Count children from each home cell to each placement authority.

    Authorities are drawn at the mean location of all their listed units (not of the units
    used), so the point says where the authority is, not where any one carer lives.
    """
    for table, columns, role in ((referrals, ("child_id", "home_lat", "home_lon"), "referrals"),
                                 (units, ("unit_id", "local_authority", "lat", "lon"), "units")):
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise _NoMapError(f"the {role} file has no {', '.join(missing)} column")
    unit_table = units.assign(lat=pd.to_numeric(units["lat"], errors="coerce"),
                              lon=pd.to_numeric(units["lon"], errors="coerce"))
    centres = unit_table.groupby("local_authority")[["lat", "lon"]].mean()
    where = unit_table.set_index("unit_id")["local_authority"]
    where = where[~where.index.duplicated()]
    homes = referrals.set_index("child_id")[["home_lat", "home_lon"]].apply(
        pd.to_numeric, errors="coerce")
    homes = homes[~homes.index.duplicated()]

    at_unit = allocation[allocation["option"].isin(where.index)]
    via_fallback = int(allocation["option"].str.startswith("fallback:").sum())
    placed = pd.DataFrame({
        "local_authority": where.reindex(at_unit["option"]).to_numpy(),
        "home_lat": homes["home_lat"].reindex(at_unit["child_id"]).to_numpy(),
        "home_lon": homes["home_lon"].reindex(at_unit["child_id"]).to_numpy(),
    }).dropna()
    if placed.empty:
        raise _NoMapError("no child placed in a listed unit has a known home, so there is "
                     "nothing to map")
    placed["home_lat"] = (np.floor(placed["home_lat"] / CELL_LAT) + 0.5) * CELL_LAT
    placed["home_lon"] = (np.floor(placed["home_lon"] / CELL_LON) + 0.5) * CELL_LON
    lines = (placed.groupby(["home_lat", "home_lon", "local_authority"]).size()
             .rename("children").reset_index())
    lines = lines.join(centres, on="local_authority")
    areas = (placed.groupby("local_authority").size().rename("children").to_frame()
             .join(centres).reset_index().sort_values(["children", "local_authority"],
                                                      ascending=[False, True]))
    return Flows(lines.reset_index(drop=True), areas.reset_index(drop=True), via_fallback,
                 centres.reset_index())
