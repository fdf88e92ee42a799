"""Read a contract table from CSV, Excel or Parquet (or a DataFrame) into text columns.

Every format is brought to one form before any checking: a DataFrame whose cells are strings,
``""`` for a blank cell, with normalised column names. Validation then has one job and one
code path, and the same data gives the same validated table whatever format it came in.
Excel and Parquet hold typed cells (numbers, dates, booleans, lists); they are written as the
text a CSV of the same data would hold.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from allocator.issues import InputError, Issue, not_a_file

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
    #: CSV rows with fewer cells than the header: read with blanks at the end, never quoted
    short_rows: frozenset[int] = frozenset()
    #: Excel cells holding an error (``#DIV/0!``, ``#N/A``): (row, column) -> the error.
    #: They are read as blank; validation refuses them in contract columns.
    error_cells: dict[tuple[int, str], str] = field(default_factory=dict)

    def error_cell_issues(self, column: str | None = None) -> list[Issue]:
        """An error for each error cell (in ``column``, or in any column), by row: read as
        blank, such a cell would silently take an optional column's default."""
        return [Issue(self.label, row, name,
                      value if value == UNCALCULATED else f"the cell holds a spreadsheet error "
                      f"({value}): correct its formula or type the value", "type")
                for (row, name), value in sorted(self.error_cells.items())
                if column is None or name == column]


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
    if path.is_dir():
        raise InputError([Issue(label, None, None, not_a_file(path), "file")])
    if kind is None:
        raise InputError([Issue(label, None, None,
                                "unknown file type: use .csv, .xlsx or .parquet", "file")])
    if not path.is_file():
        raise InputError([Issue(label, None, None, not_a_file(path), "file")])
    try:
        if kind == "csv":
            frame = _read_csv(path)
        elif kind == "xlsx":
            frame = _read_excel(path, role)
        else:
            frame = _read_parquet(path)
    except UnicodeDecodeError:
        raise InputError([Issue(label, None, None, "not UTF-8 text: save the CSV as UTF-8",
                                "file")]) from None
    except pd.errors.EmptyDataError:
        raise InputError([Issue(label, None, None, "the file is empty", "file")]) from None
    except pd.errors.ParserError as exc:
        raise InputError([_csv_parser_issue(label, str(exc))]) from None
    except RaggedRowError as exc:
        raise InputError([Issue(label, exc.row, None, exc.what, "file")]) from None
    except OSError as exc:  # found in review: a file without read permission was "not a
        # readable table", as if it were corrupt
        raise InputError([Issue(label, None, None, "cannot read this file "
                                f"({exc.strerror or type(exc).__name__})", "file")]) from None
    except Exception:  # any corrupt workbook or Parquet file
        what = {"xlsx": "Excel workbook", "parquet": "Parquet file"}.get(kind, "table")
        raise InputError([Issue(label, None, None,
                                f"cannot read this file: it is not a readable {what}",
                                "file")]) from None
    short = frozenset(frame.attrs.get("short_rows", ()))
    errors = {(row, normalise_column_name(column)): value
              for (row, column), value in frame.attrs.get("error_cells", {}).items()}
    return _finish(RawTable(role, label, frame, sha256=file_sha256(path), short_rows=short,
                            error_cells=errors))


class RaggedRowError(Exception):
    """A row that does not fit the header: its values would sit under the wrong columns."""

    def __init__(self, row: int, what: str):
        super().__init__(what)
        self.row = row
        self.what = what


def _csv_parser_issue(label: str, error: str) -> Issue:
    """Say what pandas' tokenizer found, at the file's line (which is the spreadsheet row)."""
    cells = re.search(r"Expected \d+ fields in line (\d+)", error)
    if cells:
        line = int(cells.group(1))
        title = ("; if row 1 is a title, delete it: the header row must be the first row"
                 if line == 2 else "")
        return Issue(label, line, None,
                     f"malformed CSV (a row has more cells than the header{title})", "file")
    quote = re.search(r"EOF inside string starting at row (\d+)", error)
    if quote:  # pandas counts these rows from 0
        return Issue(label, int(quote.group(1)) + 1, None,
                     "malformed CSV (a quote opened here is never closed)", "file")
    return Issue(label, None, None, "malformed CSV (cannot split it into cells)", "file")


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
    # A header cell left blank over blank cells is a spreadsheet's trailing comma, not a column.
    unnamed = [i for i, name in enumerate(names) if not name and (frame.iloc[:, i] == "").all()]
    if unnamed:
        frame = frame.iloc[:, [i for i in range(len(names)) if i not in unnamed]]
        names = [name for i, name in enumerate(names) if i not in unnamed]
    frame = frame.loc[:, ~pd.Index(names).duplicated()]
    frame = frame.reset_index(drop=True)
    # Rows a spreadsheet leaves behind when cells were cleared rather than deleted.
    blank = (frame == "").all(axis=1) if len(frame.columns) else pd.Series(dtype=bool)
    if blank.any():
        frame = frame.loc[~blank]
    table.frame = frame
    return table


def _read_csv(path: Path) -> pd.DataFrame:
    """Read every cell as text, keeping the header exactly as written.

    The header is read as a data row so that a repeated column name reaches :func:`_finish`
    as written (pandas would rename the second ``child_id`` to ``child_id.1``), and blank
    lines are kept (then dropped by :func:`_finish`) so row numbers stay the file's lines.
    """
    _first_row_not_blank(path)
    cells = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, na_filter=False,
                        encoding="utf-8-sig", skip_blank_lines=False, skipinitialspace=False)
    if cells.empty:
        raise pd.errors.EmptyDataError
    header = list(cells.iloc[0])
    while header and not str(header[-1]).strip():  # a trailing comma: not a column
        header.pop()
    body = cells.iloc[1:].reset_index(drop=True)
    body.columns = list(cells.iloc[0])
    body.attrs["short_rows"] = _short_rows(path, len(header))
    return body


#: Said of a blank first row above the header (found in review: "the file is empty").
BLANK_FIRST_ROW = ("blank: the header row (the contract's column names) must be the "
                   "first row; delete the blank rows above it")


def _first_row_not_blank(path: Path) -> None:
    """Refuse blank lines above the header by name: pandas read them as an empty file."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        if first.strip(" \t\r\n,;") or not first:
            return
        if any(line.strip(" \t\r\n,;") for line in handle):
            raise RaggedRowError(1, BLANK_FIRST_ROW)


def _short_rows(path: Path, width: int) -> frozenset[int]:
    """Rows (spreadsheet numbering) with fewer cells than the header.

    Such a row is read with blanks at its end, as Excel writes a CSV whose last cells are
    blank (it leaves their commas off). But if a cell was left out mid-row, every value
    after it sits one column left (a needs list under settings, a latitude under a flag),
    and an error message quoting them would repeat a child's details under the wrong
    names: validation never quotes a cell of such a row, and says why it may be wrong.
    A blank or spaces-only line is a blank line, not a short row. Counted with the
    standard library's C reader, its cell-size limit lifted to what pandas reads.
    """
    import csv

    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return frozenset(
                number for number, record in enumerate(csv.reader(handle), start=1)
                if 0 < len(record) < width and any(cell.strip() for cell in record))
    finally:
        csv.field_size_limit(limit)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read()  # not read_table: its dataset API rejects repeated names
    metadata = table.schema.pandas_metadata or {}
    index_columns = [c for c in metadata.get("index_columns", []) if isinstance(c, str)]
    return _arrow_to_text(table.drop_columns(index_columns))


def _read_excel(path: Path, role: str) -> pd.DataFrame:
    """The sheet named like the role (any case), else the first sheet, as text cells.

    Read with calamine (Rust): about 20 times faster than openpyxl on a 20,000-row sheet,
    which matters for councils' full provider lists.
    """
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        names = workbook.sheet_names
        by_role = {name.strip().lower(): name for name in names}
        chosen = by_role.get(role, names[0])
        sheet = workbook.get_sheet_by_name(chosen)
        rows = sheet.to_python(skip_empty_area=False)
    finally:
        workbook.close()
    if not rows:
        raise pd.errors.EmptyDataError
    if all(_cell_text(v).strip() == "" for v in rows[0]):
        if any(_cell_text(v).strip() for row in rows[1:] for v in row):
            raise RaggedRowError(1, BLANK_FIRST_ROW)
        raise pd.errors.EmptyDataError
    header = rows[0]
    width = len(header)
    while width and header[width - 1] in (None, ""):
        width -= 1
    for number, row in enumerate(rows[1:], start=2):
        if any(_cell_text(v).strip() for v in row[width:]):
            raise RaggedRowError(number, "a row has cells to the right of the header, under no "
                                         "column name")
    body = [[_cell_text(v) for v in row[:width]] + [""] * (width - len(row)) for row in rows[1:]]
    columns = [_cell_text(h) or f"column_{i + 1}" for i, h in enumerate(header[:width])]
    frame = pd.DataFrame(body, columns=columns, dtype=object)
    # Read from A1 (skip_empty_area=False), so the XML's references are rows and columns.
    frame.attrs["error_cells"] = {(row, columns[col]): value
                                  for (row, col), value in _error_cells(path, chosen).items()
                                  if row >= 2 and col < width}
    return frame


#: A formula's tag, with any namespace prefix (not ``<filterColumn>`` or ``<family>``).
FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _may_hold_errors(data: bytes) -> bool:
    """Whether a worksheet's XML may hold an error cell or a formula: the usual sheet has
    neither and is not parsed. Plain byte searches first (a 50,000-row sheet is 60 MB;
    a regular expression over all of it took half a second)."""
    if b't="e"' in data or b"t='e'" in data:
        return True
    if b"<f" in data or b":f>" in data or b":f " in data:
        return FORMULA_TAG.search(data) is not None
    return False


def _error_cells(path: Path, sheet_name: str) -> dict[tuple[int, int], str]:
    """Cells holding an Excel error, by (spreadsheet row, column index from 0).

    calamine reads an error cell (``#DIV/0!``, ``#N/A``) as blank, and a blank optional cell
    takes its default: found in review, an ``avoid_authorities`` of ``=1/0`` silently
    dropped a child's safety exclusion. The worksheet's XML says which cells are errors
    (``t="e"``), and which hold a formula with no saved result (read as blank too).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet_name)
            if part is None:
                return {}
            data = archive.read(part)
        if not _may_hold_errors(data):
            return {}
        return _scan_cells(data)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):  # calamine read it
        return {}


def _scan_cells(data: bytes) -> dict[tuple[int, int], str]:
    """Error and unsaved-formula cells of a worksheet's XML, by position. Tags are matched
    by local name (the Open XML SDK writes ``<x:c>``), and a row or cell without its
    optional ``r`` reference follows the one before it."""
    found: dict[tuple[int, int], str] = {}
    row, col = 0, -1
    for event, element in ElementTree.iterparse(io.BytesIO(data), events=("start", "end")):
        name = _local(element.tag)
        if event == "start":
            if name == "row":
                row, col = int(element.get("r") or row + 1), -1
            elif name == "c":
                reference = element.get("r")
                col = _column_index(reference.rstrip("0123456789")) if reference else col + 1
            continue
        if name == "c":
            parts = {_local(child.tag): child.text for child in element}
            if element.get("t") == "e":
                found[(row, col)] = parts.get("v") or "#ERROR"
            elif "f" in parts and not parts.get("v"):  # openpyxl writes an empty <v/>
                found[(row, col)] = UNCALCULATED
            element.clear()
        elif name == "row":
            element.clear()
    return found


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


#: A formula saved without its result (written by a program, never opened in Excel).
UNCALCULATED = "a formula with no saved result: open and save the file in Excel, or paste values"


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip member holding the worksheet called ``sheet_name``."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    ids = [value for sheet in book.iter() if _local(sheet.tag) == "sheet"
           and sheet.get("name") == sheet_name
           for key, value in sheet.attrib.items() if _local(key) == "id"]
    if not ids:
        return None
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter():
        if _local(rel.tag) == "Relationship" and rel.get("Id") == ids[0]:
            target = rel.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join("xl", target))
    return None


def _column_index(letters: str) -> int:
    """``A`` -> 0, ``Z`` -> 25, ``AA`` -> 26."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


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
    """Write each typed column of a caller's DataFrame as the text a CSV would hold."""
    import pyarrow as pa

    texts = []
    for position in range(frame.shape[1]):  # by position: names may repeat
        column = frame.iloc[:, position]
        try:
            array = pa.array(column, from_pandas=True)  # Arrow-backed columns: chunked
        except (pa.ArrowException, TypeError, ValueError):
            # Mixed Python objects in one column: rare, and only from a notebook's frame.
            text = np.array([_cell_text(v) for v in column.to_numpy(dtype=object)], dtype=object)
            text[column.isna().to_numpy()] = ""
            texts.append(text)
            continue
        texts.append(_arrow_column_text(array))
    return _text_frame(texts, [str(name) for name in frame.columns], len(frame))


def _arrow_to_text(table: Any) -> pd.DataFrame:
    """Every column of a pyarrow table as text cells, vectorised with pyarrow compute."""
    texts = [_arrow_text_or_python(table.column(i)) for i in range(table.num_columns)]
    return _text_frame(texts, [str(name) for name in table.column_names], table.num_rows)


def _arrow_text_or_python(column: Any) -> np.ndarray:
    """:func:`_arrow_column_text`, or each value's Python text for a type Arrow cannot cast to
    text (a struct, a map, bytes). Such a column is no contract column's, so validation then
    ignores it with a warning, or names the contract column its text does not fit; the whole
    file was refused as unreadable before."""
    import pyarrow as pa

    try:
        return _arrow_column_text(column)
    except (pa.ArrowException, TypeError, ValueError):
        return np.array([_cell_text(value) for value in column.to_pylist()], dtype=object)


def _text_frame(texts: list[np.ndarray], names: list[str], rows: int) -> pd.DataFrame:
    frame = pd.DataFrame(dict(enumerate(texts)), index=pd.RangeIndex(rows), dtype=object)
    frame.columns = names
    return frame


def _arrow_column_text(column: Any) -> np.ndarray:
    """One typed column as CSV text: dates ISO, whole floats without ``.0``, lists ``;``-joined.

    ``""`` stands for a null (and a float NaN). Arrow's cast to string writes the shortest
    text that reads back to the same float, as Python's ``repr`` does.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_null(kind):
        return np.full(len(column), "", dtype=object)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or \
            pa.types.is_fixed_size_list(kind):
        items = pc.list_flatten(column)
        item_text = pa.array(_arrow_column_text(items), type=pa.string())
        offsets = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
        starts = np.concatenate([[0], np.cumsum(offsets)]).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(starts), item_text)
        text = pc.binary_join(lists, ";")
        text = pc.if_else(pc.is_null(column), "", text)
    elif pa.types.is_timestamp(kind):
        day = pc.cast(column, pa.date32(), safe=False)
        midnight = pc.equal(pc.cast(day, kind), column)
        text = pc.if_else(midnight, pc.cast(day, pa.string()),
                          pc.strftime(column, format="%Y-%m-%dT%H:%M:%S"))
    elif pa.types.is_floating(kind):
        text = pc.if_else(pc.is_nan(column), None, pc.cast(column, pa.string()))
    else:
        text = pc.cast(column, pa.string())
    return pc.fill_null(text, "").to_numpy(zero_copy_only=False).astype(object)
