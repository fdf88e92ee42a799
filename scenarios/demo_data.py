"""A deterministic synthetic market: Sefton's referred children and North West placement units.

:func:`generate` gives the same tables for the same arguments on any machine, so a demo, a
test or a benchmark can be re-created from four numbers. The figures it is calibrated to are
in :mod:`scenarios.calibration` and explained in ``docs/data.md``. :func:`write` puts the
tables on disk as the contract's CSV files, all at once or not at all.

The data is synthetic: no child, carer, home or provider in it is real.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.write import staging_prefix
from models.schema import table_schema
from scenarios.demo_referrals import generate_conflicts, generate_referrals
from scenarios.demo_units import generate_units

#: File names, in the order they are written, by table.
FILES: dict[str, str] = {
    "referrals": "referrals.csv", "units": "units.csv", "conflicts": "conflicts.csv",
}


@dataclass(frozen=True)
class DemoMarket:
    """The generated tables with the arguments that made them.

    Columns are the contract's names in the contract's order. Lists are ``;``-joined text,
    dates ISO ``YYYY-MM-DD`` text, booleans ``bool`` (``None`` where the contract default
    applies), blanks ``NaN``/``None``/``<NA>``: passed to ``load_inputs`` as DataFrames they
    read exactly as the written files do.
    """

    referrals: pd.DataFrame
    units: pd.DataFrame
    conflicts: pd.DataFrame
    seed: int
    as_of: date

    def summary(self) -> str:
        """One line of counts, for the CLI and notebooks."""
        referrals, units = self.referrals, self.units
        grouped = int(referrals["sibling_group"].notna().sum())
        emergencies = int((referrals["urgency"] == "emergency").sum())
        return (f"{len(referrals)} children ({grouped} in sibling groups, {emergencies} "
                f"emergencies), {len(units)} units ({int(units['vacancies'].sum())} vacancies, "
                f"{units['provider_id'].nunique()} providers), {len(self.conflicts)} conflicts; "
                f"seed {self.seed}, as of {self.as_of.isoformat()}")


class OutputFolderError(FileExistsError):
    """The output folder already holds files; its message is one line a CLI can print."""


def generate(children: int, units: int, seed: int, as_of: date) -> DemoMarket:
    """A synthetic market of ``children`` referrals and ``units`` units, valid at ``as_of``.

    One ``numpy.random.default_rng(seed)`` is split into independent streams for units,
    referrals and conflicts, so the children do not change when only ``units`` does.

    Raises
    ------
    ValueError
        If ``children`` or ``units`` is below one, or ``seed`` is negative.
    """
    if children < 1 or units < 1:
        raise ValueError("a demo market needs at least one child and one unit")
    if seed < 0:
        raise ValueError("the seed must be zero or more")
    unit_rng, referral_rng, conflict_rng = np.random.default_rng(seed).spawn(3)
    unit_table = generate_units(unit_rng, units, as_of)
    referral_table = generate_referrals(referral_rng, children, as_of)
    conflict_table = generate_conflicts(conflict_rng, referral_table, as_of)
    return DemoMarket(referral_table, unit_table, conflict_table, seed, as_of)


def write(market: DemoMarket, out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """Write the three CSV files into ``out_dir``; return their paths.

    A new folder is filled beside its final place and renamed into it, so it appears whole
    or not at all. An existing empty folder is replaced the same way. A folder with files in
    it is refused unless ``force``: then only the three demo files are replaced (each by an
    atomic rename), and nothing else in the folder is touched.

    Raises
    ------
    OutputFolderError
        If ``out_dir`` is a file, or a folder with files in it and ``force`` is false.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{out} exists and is not a folder: choose another --out")
    occupied = out.is_dir() and any(out.iterdir())
    if occupied and not force:
        raise OutputFolderError(f"{out} is not empty: choose a new --out folder, or pass --force "
                           "to replace the demo files in it")
    out.parent.mkdir(parents=True, exist_ok=True)
    # A short name (found in review: a 250-character --out broke the 255-byte limit here).
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(out.name, "partial"), dir=out.parent))
    staging.chmod(_folder_mode())  # mkdtemp makes it private; the result is an ordinary folder
    try:
        for role, name in FILES.items():
            _write_csv(getattr(market, role), role, staging / name)
        if occupied:
            for name in FILES.values():
                os.replace(staging / name, out / name)
            staging.rmdir()
        else:
            if out.is_dir():
                out.rmdir()
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / name for name in FILES.values()]


def _folder_mode() -> int:
    """The permissions ``mkdir`` would give a new folder under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def _write_csv(frame: pd.DataFrame, role: str, path: Path) -> None:
    """CSV as the contract reads it: ``true``/``false``, blank for missing, short numbers.

    Cells are formatted a column at a time and joined by C iterators (``map``/``zip``):
    pandas' row-by-row CSV writer takes seconds for the 100,000-child benchmark market.
    """
    schema = table_schema(role)
    columns = [_cell_text(frame[name], schema[name].kind == "bool").tolist()
               for name in frame.columns]
    rows = map(",".join, zip(*columns, strict=True))
    body = "\n".join([",".join(frame.columns), *rows]) + "\n"
    path.write_text(body, encoding="utf-8", newline="")


def _cell_text(column: pd.Series, boolean: bool) -> np.ndarray:
    """One column as CSV cells: the same text the contract's readers parse back."""
    values = column.to_numpy(dtype=object, na_value=None)
    known = pd.notna(values)
    if boolean:
        truth = np.zeros(len(values), dtype=bool)
        truth[known] = values[known].astype(bool)
        text = np.where(truth, "true", "false").astype(object)
    elif pd.api.types.is_float_dtype(column.dtype):
        numbers = np.where(known, column.to_numpy(dtype=float), 0.0)
        text = numbers.astype(str).astype(object)  # shortest text that reads back exactly
        whole = (numbers == np.round(numbers)) & (np.abs(numbers) < 1e15)
        text[whole] = numbers[whole].astype(np.int64).astype(str)
    elif pd.api.types.is_integer_dtype(column.dtype):
        text = np.full(len(values), "", dtype=object)
        text[known] = values[known].astype(np.int64).astype(str)
    else:
        text = np.where(known, values, "").astype(object)
        codes, distinct = pd.factorize(text)
        fixed = np.asarray(distinct, dtype=str)
        special = np.zeros(len(fixed), dtype=bool)
        for mark in (",", '"', "\n", "\r"):
            special |= np.strings.find(fixed, mark) >= 0
        quoted = special[codes]
        if quoted.any():
            inner = pd.Series(text[quoted], dtype=object).str.replace('"', '""', regex=False)
            text[quoted] = ('"' + inner + '"').to_numpy(dtype=object)
    text[~known] = ""
    return text

