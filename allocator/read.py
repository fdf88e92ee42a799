"""Read a contract table from CSV, Excel or Parquet (or a DataFrame) into text columns.

Every format is brought to one form before any checking: a DataFrame whose cells are strings,
``""`` for a blank cell, with normalised column names. Validation then has one job and one
code path, and the same data gives the same validated table whatever format it came in.
Excel and Parquet hold typed cells (numbers, dates, booleans, lists); they are written as the
text a CSV of the same data would hold.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.issues import InputError, Issue

SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet",
            ".pq": "parquet"}


@dataclass
class RawTable:
    """A table as read: text cells, plus where it came from for messages and the manifest."""

    role: str
    label: str
    frame: pd.DataFrame
    sha256: str | None = None
    issues: list[Issue] = field(default_factory=list)


def normalise_column_name(name: object) -> str:
    """``" Child ID "`` and ``"child-id"`` both become ``child_id``."""
    text = str(name).strip().lower()
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(source: str | Path | pd.DataFrame, role: str) -> RawTable:
    """Read one input table; raise :class:`InputError` if the file cannot be read at all."""
    if isinstance(source, pd.DataFrame):
        return _finish(RawTable(role, role, _typed_frame_to_text(source)))
    path = Path(source)
    label = str(source)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError([Issue(label, None, None,
                                "unknown file type: use .csv, .xlsx or .parquet", "file")])
    if not path.is_file():
        raise InputError([Issue(label, None, None, "file not found", "file")])
    try:
        if kind == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                                encoding="utf-8-sig", skipinitialspace=False)
        elif kind == "xlsx":
            frame = _read_excel(path, role)
        else:
            frame = _typed_frame_to_text(pd.read_parquet(path))
    except UnicodeDecodeError:
        raise InputError([Issue(label, None, None, "not UTF-8 text: save the CSV as UTF-8",
                                "file")]) from None
    except pd.errors.EmptyDataError:
        raise InputError([Issue(label, None, None, "the file is empty", "file")]) from None
    except pd.errors.ParserError as exc:
        where = re.search(r"line (\d+)", str(exc))
        row = int(where.group(1)) if where else None
        raise InputError([Issue(label, row, None,
                                "malformed CSV (a row has more cells than the header)",
                                "file")]) from None
    except Exception as exc:
        raise InputError([Issue(label, None, None,
                                f"cannot read this {kind} file ({type(exc).__name__})",
                                "file")]) from None
    return _finish(RawTable(role, label, frame, sha256=file_sha256(path)))


def _finish(table: RawTable) -> RawTable:
    frame = table.frame
    names = [normalise_column_name(c) for c in frame.columns]
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    for name, count in seen.items():
        if count > 1 and name:
            table.issues.append(Issue(table.label, 1, name,
                                      f"the column appears {count} times", "header"))
    frame = frame.copy()
    frame.columns = names
    frame = frame.loc[:, ~pd.Index(names).duplicated()]
    frame = frame.reset_index(drop=True)
    # Rows a spreadsheet leaves behind when cells were cleared rather than deleted.
    blank = (frame == "").all(axis=1) if len(frame.columns) else pd.Series(dtype=bool)
    if blank.any():
        frame = frame.loc[~blank]
    table.frame = frame
    return table


def _read_excel(path: Path, role: str) -> pd.DataFrame:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = {name.strip().lower(): name for name in workbook.sheetnames}
        sheet = workbook[sheets.get(role, workbook.sheetnames[0])]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise pd.errors.EmptyDataError
        width = len(header)
        while width and header[width - 1] in (None, ""):
            width -= 1
        body = [[_cell_text(v) for v in row[:width]] + [""] * (width - len(row)) for row in rows]
    finally:
        workbook.close()
    columns = [_cell_text(h) or f"column_{i + 1}" for i, h in enumerate(header[:width])]
    return pd.DataFrame(body, columns=columns, dtype=object)


def _cell_text(value: Any) -> str:
    """How a typed cell reads as CSV text: dates ISO, whole floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, datetime | pd.Timestamp):
        if pd.isna(value):
            return ""
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(
            float(value))
    if isinstance(value, list | tuple | np.ndarray):
        return ";".join(_cell_text(v) for v in value)
    return str(value)


def _typed_frame_to_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Write each typed column as text, vectorised for the common dtypes."""
    out: dict[str, pd.Series] = {}
    for name in frame.columns:
        column = frame[name]
        dtype = column.dtype
        missing = column.isna().to_numpy()
        if pd.api.types.is_bool_dtype(dtype):
            text = np.where(column.fillna(False).to_numpy(dtype=bool), "true", "false")
        elif pd.api.types.is_integer_dtype(dtype):
            text = column.astype("Int64").astype(str).to_numpy(dtype=object)
        elif pd.api.types.is_float_dtype(dtype):
            values = column.to_numpy(dtype=float)
            whole = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) < 1e15)
            text = np.array([repr(float(v)) for v in values], dtype=object) if not whole.all() \
                else np.zeros(len(values), dtype=object)
            if whole.any():
                text[whole] = values[whole].astype(np.int64).astype(str)
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            stamps = pd.to_datetime(column)
            midnight = (stamps.dt.normalize() == stamps) | stamps.isna()
            text = np.where(midnight.to_numpy(), stamps.dt.strftime("%Y-%m-%d").to_numpy(),
                            stamps.astype(str).to_numpy())
        else:
            text = np.array([_cell_text(v) for v in column.to_numpy(dtype=object)],
                            dtype=object)
        text = np.asarray(text, dtype=object)
        text[missing] = ""
        out[str(name)] = pd.Series(text, dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
