"""Parse and check one text column against its :class:`~models.schema.ColumnSpec`, vectorised.

Each parser takes the whole column at once (pandas string and numeric operations, no Python
loop over rows) and returns the typed values plus a mask of cells that failed, so a file with
100,000 rows is checked in well under a second per column and every bad cell is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.schema import ColumnSpec

TRUE_WORDS = ("true", "yes", "y", "1", "t")
FALSE_WORDS = ("false", "no", "n", "0", "f")
BOOLEANS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}


@dataclass
class Parsed:
    """A typed column, which of its cells were blank, and which failed (with why)."""

    values: pd.Series
    blank: np.ndarray
    bad: np.ndarray
    why: str


def parse_column(text: pd.Series, spec: ColumnSpec) -> Parsed:
    """Parse stripped text cells; blank cells take the spec's default (checked elsewhere)."""
    # pandas' ``str`` dtype (Arrow-backed where pyarrow is installed) strips, splits and
    # lower-cases in compiled code; object dtype would call Python once per cell.
    text = text.astype("str").str.strip()
    blank = (text == "").to_numpy(dtype=bool, copy=True)
    parser = _PARSERS[spec.kind]
    values, bad, why = parser(text, blank, spec)
    return Parsed(values, blank, np.asarray(bad, dtype=bool) & ~blank, why)


#: The contract's one date shape, YYYY-MM-DD (strptime and fromisoformat take looser ones).
ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
#: Control characters no cell needs (a NUL byte was copied into outputs, and into the
#: workbook as ``_x0000_``); ids and codes also may not hold tabs or line breaks.
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
LINE_BREAK_OR_CONTROL = r"[\x00-\x1f\x7f]"
#: Free-text columns, where a line break typed in a spreadsheet cell is text.
FREE_TEXT = ("reason", "provider_name")


def _controls(text: pd.Series, spec: ColumnSpec) -> np.ndarray:
    pattern = CONTROL if spec.name in FREE_TEXT else LINE_BREAK_OR_CONTROL
    return text.str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=bool)


def _text(text: pd.Series, blank: np.ndarray, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray,
                                                                           str]:
    values = pd.Series(text.to_numpy(dtype=object), index=text.index, dtype=object)
    values[blank] = None
    return values, _controls(text, spec), "contains a control character or line break"


def _bool(text: pd.Series, blank: np.ndarray, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray,
                                                                           str]:
    mapped = text.str.lower().map(BOOLEANS)
    bad = mapped.isna().to_numpy()
    if spec.default is None:
        # No default: a blank stays unknown (``keep_together`` then follows ``sibling_group``).
        values = pd.Series(pd.array(mapped.where(~(bad | blank), None).to_numpy(dtype=object),
                                    dtype="boolean"), index=text.index)
    else:
        values = mapped.where(~(bad | blank), bool(spec.default)).astype(bool)
    return values, bad, f"expected {spec.expected()}"


def _number(text: pd.Series, spec: ColumnSpec) -> tuple[np.ndarray, np.ndarray]:
    misgrouped = np.zeros(len(text), dtype=bool)
    if spec.money:
        text = text.str.replace(r"^£\s*", "", regex=True)
        # Commas only as thousands separators: "1,2" or "1.200,50" is not a price to guess at.
        grouped = text.str.contains(",", regex=False).to_numpy(dtype=bool)
        if grouped.any():
            misgrouped = grouped & ~text.str.fullmatch(r"\d{1,3}(,\d{3})+(\.\d*)?").to_numpy(
                dtype=bool, na_value=False)
            text = text.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers) | misgrouped
    return numbers, bad


def _float(text: pd.Series, blank: np.ndarray, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray,
                                                                            str]:
    numbers, bad = _number(text, spec)
    default = np.nan if spec.default is None else float(spec.default)
    numbers = np.where(bad | blank, default, numbers)
    return pd.Series(numbers, index=text.index, dtype=float), bad, f"expected {spec.expected()}"


def _int(text: pd.Series, blank: np.ndarray, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray,
                                                                          str]:
    numbers, bad = _number(text, spec)
    bad |= np.isfinite(numbers) & (np.mod(np.where(np.isfinite(numbers), numbers, 0), 1) != 0)
    bad |= np.abs(np.where(np.isfinite(numbers), numbers, 0)) > 2**52
    ok = ~(bad | blank)
    if spec.default is None:
        values = pd.array(np.where(ok, numbers, 0).astype(np.int64), dtype="Int64")
        values[~ok] = pd.NA
        series = pd.Series(values, index=text.index)
    else:
        series = pd.Series(np.where(ok, numbers, spec.default).astype(np.int64), index=text.index)
    return series, bad, f"expected {spec.expected()}"


def _date(text: pd.Series, blank: np.ndarray, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray,
                                                                           str]:
    # Excel writes a date cell as a timestamp; the reader made it ISO already. Accept a
    # trailing midnight time some exports add, nothing looser: 01/02/2010 is ambiguous.
    cleaned = text.str.replace(r"[T ]00:00(:00(\.0+)?)?$", "", regex=True)
    # strptime's %m and %d also take one digit (2012-1-5): the contract says YYYY-MM-DD.
    shaped = cleaned.str.fullmatch(ISO_DATE).fillna(False).to_numpy(dtype=bool)
    # Each distinct date parsed once, by the standard library: any year 1-9999, whatever
    # pandas' version parses (pandas 2 turned a year past 2262 into a blank, pandas 3 does
    # not). Found in review: a unit's available_from of 9999-12-31, a usual "never", was
    # refused although written exactly as the contract asks.
    codes, distinct = pd.factorize(cleaned.where(~blank & shaped, None), use_na_sentinel=True)
    days = np.array([_iso_day(value) for value in distinct], dtype="datetime64[D]")
    stamps = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[D]")
    stamps[codes >= 0] = days[codes[codes >= 0]]
    why = f"expected {spec.expected()}"
    if spec.sensitive:
        # A birth date is held in nanoseconds, as ages are computed: 1677-2262. Outside it
        # is a slip of the keyboard, refused.
        stamps[(stamps < FIRST_DAY) | (stamps > LAST_DAY)] = np.datetime64("NaT")
        why += f" between {FIRST_DAY} and {LAST_DAY}"
        values = pd.Series(stamps.astype("datetime64[ns]"), index=text.index)
    else:
        # Other dates are only compared with --as-of, held in seconds (any year 1-9999).
        values = pd.Series(stamps.astype("datetime64[s]"), index=text.index)
    return values, np.isnat(stamps), why


def _iso_day(value: str) -> np.datetime64:
    try:
        return np.datetime64(date.fromisoformat(value), "D")
    except ValueError:  # 2026-02-30, year 0
        return np.datetime64("NaT")


#: The first and last whole days a nanosecond timestamp holds.
FIRST_DAY = np.datetime64("1677-09-22", "D")
LAST_DAY = np.datetime64("2262-04-11", "D")


def _code(text: pd.Series, blank: np.ndarray, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray,
                                                                           str]:
    assert spec.codes is not None
    # Codes are ASCII, for which lower() is casefold(), and lower() runs in compiled code.
    mapped = text.str.lower().map(spec.codes.lookup()).astype(object)
    bad = mapped.isna().to_numpy()
    values = mapped.where(~(bad | blank), spec.default).astype(object)
    return values, bad, f"expected {spec.expected()}"


def _split(text: pd.Series) -> pd.Series:
    """One row per list item, indexed by the cell's row; items stripped, blank items dropped."""
    cells = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    lists = pc.split_pattern(cells, ";")
    items = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    rows = pc.list_parent_indices(lists)
    keep = pc.fill_null(pc.not_equal(items, ""), False)
    items, rows = items.filter(keep), rows.filter(keep)
    return pd.Series(items.to_numpy(zero_copy_only=False).astype(object),
                     index=text.index[rows.to_numpy(zero_copy_only=False)], dtype=object)


def _join(text: pd.Series, items: pd.Series, rank: np.ndarray | None = None) -> pd.Series:
    """``;``-join each row's distinct items, in ``rank`` order if given, else as written.

    ``items`` is indexed by row (as :func:`_split` gives it); rows with no item become ``""``.
    Vectorised: a sort, a de-duplication and one Arrow join, whatever the number of rows.
    """
    position = text.index.get_indexer(items.index)
    order = np.arange(len(items)) if rank is None else rank
    frame = pd.DataFrame({"row": position, "order": order, "item": items.to_numpy(dtype=object)})
    frame = frame.sort_values(["row", "order"], kind="stable").drop_duplicates(["row", "item"])
    counts = np.bincount(frame["row"].to_numpy(), minlength=len(text))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    lists = pa.LargeListArray.from_arrays(pa.array(offsets),
                                          pa.array(frame["item"].to_numpy(), type=pa.string()))
    joined = pc.binary_join(lists, ";").to_numpy(zero_copy_only=False).astype(object)
    return pd.Series(joined, index=text.index, dtype=object)


def _code_list(text: pd.Series, blank: np.ndarray, spec: ColumnSpec) -> tuple[pd.Series,
                                                                                np.ndarray, str]:
    assert spec.codes is not None
    items = _split(text)
    mapped = items.str.lower().map(spec.codes.lookup())
    bad_rows = mapped.index[mapped.isna().to_numpy()].unique()
    bad = text.index.isin(bad_rows)
    good = mapped.dropna()
    order = {code: i for i, code in enumerate(spec.codes.values())}
    values = _join(text, good, good.map(order).to_numpy(dtype=np.int64))
    if spec.min_items:
        counts = good.groupby(level=0).size().reindex(text.index, fill_value=0).to_numpy()
        bad = bad | (counts < spec.min_items)
    values[bad] = ""
    return values, bad, f"expected {spec.expected()}"


def _text_list(text: pd.Series, blank: np.ndarray, spec: ColumnSpec) -> tuple[pd.Series,
                                                                                np.ndarray, str]:
    return (_join(text, _split(text)), _controls(text, spec),
            "contains a control character or line break")


_PARSERS = {
    "text": _text,
    "bool": _bool,
    "float": _float,
    "int": _int,
    "date": _date,
    "code": _code,
    "code_list": _code_list,
    "text_list": _text_list,
}


def list_items(column: pd.Series) -> pd.Series:
    """The items of a validated ``;``-list column, one per row, indexed by the cell's row."""
    return _split(column.astype(object))
