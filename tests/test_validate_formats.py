"""The same data as CSV, Excel and Parquet validates to the same tables, with the same messages.

The Excel and Parquet files hold typed cells, as councils' tools write them: Excel dates,
numbers and booleans; Parquet int, float, bool, date and list-of-string columns. Each is made
from the CSV fixture tables, so the validated tables must be equal cell for cell and dtype for
dtype.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from pandas.testing import assert_frame_equal

from allocator.columns import BOOLEANS
from allocator.issues import InputError
from allocator.validate import Inputs, load_inputs
from models.schema import ColumnSpec, table_schema

ROLES = ("referrals", "units", "offers", "conflicts")


def _spec(role: str, column: str) -> ColumnSpec | None:
    try:
        return table_schema(role)[column]
    except KeyError:
        return None


def _number(text: str) -> float:
    return float(text.replace("£", "").replace(",", ""))


def _excel_value(spec: ColumnSpec | None, text: str, row: int) -> Any:
    """The typed value an Excel user would have in this cell."""
    if text == "" or spec is None:
        return text or None
    if spec.kind == "date":
        # Alternate date and datetime cells: both are Excel dates, shown as dates.
        day = date.fromisoformat(text)
        return day if row % 2 else datetime(day.year, day.month, day.day)
    if spec.kind == "bool":
        return BOOLEANS[text.lower()]
    if spec.kind == "int":
        return int(text)
    if spec.kind == "float":
        if spec.money and row == 0:
            return text  # a price typed as text, '£5,200', next to numeric prices
        return _number(text)
    return text


def _write_sheet(book: Workbook, title: str, frame: pd.DataFrame, role: str) -> None:
    sheet = book.create_sheet(title)
    sheet.append(list(frame.columns))
    for row, record in enumerate(frame.to_dict("records")):
        sheet.append([_excel_value(_spec(role, c), str(v), row) for c, v in record.items()])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, date | datetime):
                cell.number_format = "yyyy-mm-dd"


def write_xlsx(path: Path, sheets: dict[str, tuple[str, pd.DataFrame]]) -> Path:
    """A workbook with one sheet per entry ``title: (role, frame)``, in the order given."""
    book = Workbook()
    book.remove(book.active)
    for title, (role, frame) in sheets.items():
        _write_sheet(book, title, frame, role)
    book.save(path)
    return path


def _arrow_column(spec: ColumnSpec | None, cells: list[str]) -> pa.Array:
    """A natively typed Parquet column: int, float, bool, date, list<string> or string."""
    blank = [c.strip() == "" for c in cells]
    kind = spec.kind if spec is not None else "text"
    if kind == "int":
        return pa.array([None if b else int(c) for b, c in zip(blank, cells, strict=True)],
                        pa.int64())
    if kind == "float":
        return pa.array([None if b else _number(c) for b, c in zip(blank, cells, strict=True)],
                        pa.float64())
    if kind == "bool":
        return pa.array([None if b else BOOLEANS[c.lower()]
                         for b, c in zip(blank, cells, strict=True)], pa.bool_())
    if kind == "date":
        return pa.array([None if b else date.fromisoformat(c)
                         for b, c in zip(blank, cells, strict=True)], pa.date32())
    if kind in ("code_list", "text_list"):
        return pa.array([None if b else c.split(";") for b, c in zip(blank, cells, strict=True)],
                        pa.list_(pa.string()))
    return pa.array([None if b else c for b, c in zip(blank, cells, strict=True)], pa.string())


def write_parquet(path: Path, frame: pd.DataFrame, role: str) -> Path:
    columns = {c: _arrow_column(_spec(role, c), [str(v) for v in frame[c]])
               for c in frame.columns}
    pq.write_table(pa.table(columns), path)
    return path


@pytest.fixture
def frames(referrals_frame: pd.DataFrame, units_frame: pd.DataFrame,
           offers_frame: pd.DataFrame, conflicts_frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"referrals": referrals_frame, "units": units_frame, "offers": offers_frame,
            "conflicts": conflicts_frame}


def _load(paths: dict[str, Path], as_of: date) -> Inputs:
    return load_inputs(paths["referrals"], paths["units"], offers=paths["offers"],
                       conflicts=paths["conflicts"], as_of=as_of)


def _assert_same_tables(left: Inputs, right: Inputs) -> None:
    for role in ROLES:
        assert_frame_equal(getattr(left, role), getattr(right, role), check_exact=True,
                           obj=role)


def test_csv_xlsx_and_parquet_validate_to_identical_tables(
        tmp_path: Path, frames: dict[str, pd.DataFrame], contract_files: dict[str, Path],
        as_of: date) -> None:
    xlsx = {r: write_xlsx(tmp_path / f"{r}.xlsx", {r: (r, f)}) for r, f in frames.items()}
    parquet = {r: write_parquet(tmp_path / f"{r}.parquet", f, r) for r, f in frames.items()}
    from_csv = _load(contract_files, as_of)
    _assert_same_tables(from_csv, _load(xlsx, as_of))
    _assert_same_tables(from_csv, _load(parquet, as_of))
    _assert_same_tables(from_csv, load_inputs(frames["referrals"], frames["units"],
                                              offers=frames["offers"],
                                              conflicts=frames["conflicts"], as_of=as_of))
    assert from_csv.units["weekly_price"].tolist() == [5200.0, 850.5, 1500.0]
    assert from_csv.referrals["date_of_birth"].dtype == "datetime64[ns]"


def test_the_parquet_file_really_is_typed(tmp_path: Path,
                                          frames: dict[str, pd.DataFrame]) -> None:
    """Guards the test above: the Parquet columns are native types, not text."""
    schema = pq.read_schema(write_parquet(tmp_path / "r.parquet", frames["referrals"],
                                          "referrals"))
    assert schema.field("date_of_birth").type == pa.date32()
    assert schema.field("home_lat").type == pa.float64()
    assert schema.field("expected_weeks").type == pa.int64()
    assert schema.field("therapy_need").type == pa.bool_()
    assert schema.field("needs").type == pa.list_(pa.string())


def test_the_workbook_really_is_typed(tmp_path: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Guards the test above: the Excel cells are dates, numbers and booleans, not text."""
    from openpyxl import load_workbook

    path = write_xlsx(tmp_path / "u.xlsx", {"units": ("units", frames["units"])})
    sheet = load_workbook(path)["units"]
    header = [c.value for c in sheet[1]]
    first = {h: c for h, c in zip(header, sheet[2], strict=True)}
    second = {h: c for h, c in zip(header, sheet[3], strict=True)}
    assert second["lat"].data_type == "n" and isinstance(second["lat"].value, float)
    assert second["vacancies"].data_type == "n" and second["vacancies"].value == 3
    assert first["accepts_emergency"].data_type == "b" and first["accepts_emergency"].value
    assert first["weekly_price"].value == "£5,200" and second["weekly_price"].value == 850.5
    assert second["admitted_date"].value is None
    assert sheet["H2"].is_date and sheet["U2"].is_date  # admitted_date, available_from


def test_one_workbook_may_hold_every_table_in_any_order(
        tmp_path: Path, frames: dict[str, pd.DataFrame], contract_files: dict[str, Path],
        as_of: date) -> None:
    book = write_xlsx(tmp_path / "inputs.xlsx", {
        "Read me": ("notes", pd.DataFrame({"note": ["exported from the case system"]})),
        "Units": ("units", frames["units"]),
        "Conflicts": ("conflicts", frames["conflicts"]),
        "referrals": ("referrals", frames["referrals"]),
        " Offers ": ("offers", frames["offers"]),
    })
    _assert_same_tables(_load(contract_files, as_of), _load(dict.fromkeys(ROLES, book), as_of))


def test_an_excel_error_names_the_sheet_row(tmp_path: Path, frames: dict[str, pd.DataFrame],
                                            as_of: date) -> None:
    frames["referrals"].loc[2, "sex"] = "unknown"
    book = write_xlsx(tmp_path / "inputs.xlsx", {
        "Cover": ("notes", pd.DataFrame({"note": ["x"]})),
        "Referrals": ("referrals", frames["referrals"]),
        "Units": ("units", frames["units"]),
    })
    with pytest.raises(InputError) as caught:
        load_inputs(book, book, as_of=as_of)
    assert [str(e) for e in caught.value.errors] == [
        f"{book}, row 4, column sex: expected one of M, F, found 'unknown'"]


def test_without_a_named_sheet_the_first_sheet_is_read(
        tmp_path: Path, frames: dict[str, pd.DataFrame], contract_files: dict[str, Path],
        as_of: date) -> None:
    book = write_xlsx(tmp_path / "export.xlsx", {"Sheet 1": ("units", frames["units"]),
                                                 "Sheet 2": ("notes", pd.DataFrame({"x": [1]}))})
    from_csv = load_inputs(contract_files["referrals"], contract_files["units"], as_of=as_of)
    from_book = load_inputs(contract_files["referrals"], book, as_of=as_of)
    assert_frame_equal(from_csv.units, from_book.units)


def test_numbers_in_text_columns_read_as_csv_writes_them(tmp_path: Path,
                                                         frames: dict[str, pd.DataFrame],
                                                         as_of: date) -> None:
    """An id typed as a number is '1001', never '1001.0', whatever the format."""
    referrals = frames["referrals"].assign(child_id=["1001", "1002", "1003", "1004"],
                                           sibling_group=["7", "7", "", ""])
    book = Workbook()
    sheet = book.active
    sheet.append(list(referrals.columns))
    for record in referrals.to_dict("records"):
        sheet.append([float(v) if c in ("child_id", "sibling_group") and v else
                      _excel_value(_spec("referrals", c), str(v), 1) for c, v in record.items()])
    book.save(tmp_path / "referrals.xlsx")
    typed = pa.table({c: pa.array([int(v) for v in referrals[c]]) if c == "child_id" else
                      _arrow_column(_spec("referrals", c), list(referrals[c]))
                      for c in referrals.columns})
    pq.write_table(typed, tmp_path / "referrals.parquet")
    for path in (tmp_path / "referrals.xlsx", tmp_path / "referrals.parquet"):
        inputs = load_inputs(path, frames["units"], as_of=as_of)
        assert inputs.referrals["child_id"].tolist() == ["1001", "1002", "1003", "1004"]
        assert inputs.referrals["sibling_group"].tolist()[:2] == ["7", "7"]


def test_a_pandas_parquet_file_with_an_index_has_no_extra_column(
        tmp_path: Path, frames: dict[str, pd.DataFrame], as_of: date) -> None:
    units = frames["units"].set_index("unit_id", drop=False)
    units.index.name = "row_label"
    units.to_parquet(tmp_path / "units.parquet")
    inputs = load_inputs(frames["referrals"], tmp_path / "units.parquet", as_of=as_of)
    assert inputs.warnings == () and list(inputs.units.columns) == table_schema("units").names


def test_a_typed_parquet_error_quotes_the_value_as_text(tmp_path: Path,
                                                        frames: dict[str, pd.DataFrame],
                                                        as_of: date) -> None:
    table = pa.table({c: _arrow_column(_spec("units", c), list(frames["units"][c]))
                      for c in frames["units"].columns})
    table = table.set_column(table.schema.get_field_index("vacancies"), "vacancies",
                             pa.array([2.0, 2.5, -1.0]))
    table = table.set_column(table.schema.get_field_index("lat"), "lat",
                             pa.array([53.48, float("nan"), 95.0]))
    pq.write_table(table, tmp_path / "units.parquet")
    with pytest.raises(InputError) as caught:
        load_inputs(frames["referrals"], tmp_path / "units.parquet", as_of=as_of)
    assert [(e.row, e.column, e.message) for e in caught.value.errors] == [
        (3, "lat", "required value is blank"),
        (3, "vacancies", "expected a whole number, found '2.5'"),
        (4, "lat", "must be at most 90, found 95"),
        (4, "vacancies", "must be at least 0, found -1"),
    ]


def test_a_parquet_column_arrow_cannot_write_as_text_is_an_unknown_column(
        tmp_path: Path, frames: dict[str, pd.DataFrame], as_of: date) -> None:
    """A struct or bytes column beside the contract's made the whole file "not a readable
    Parquet file"; CSV and xlsx with the same extra column only warned."""
    table = pa.table({c: _arrow_column(_spec("units", c), list(frames["units"][c]))
                      for c in frames["units"].columns})
    rows = len(frames["units"])
    table = table.append_column("notes", pa.array([{"a": 1}] * rows))
    table = table.append_column("photo", pa.array([b"\x89PNG\xff"] * rows, type=pa.binary()))
    pq.write_table(table, tmp_path / "units.parquet")
    inputs = load_inputs(frames["referrals"], tmp_path / "units.parquet", as_of=as_of)
    assert sorted(w.column for w in inputs.warnings) == ["notes", "photo"]
    assert list(inputs.units.columns) == table_schema("units").names


def _xlsxwriter_book(path: Path, frame: pd.DataFrame, formulas: dict[tuple[int, str], tuple]
                     ) -> Path:
    """``frame`` as text on a ``referrals`` sheet, with ``(row index, column) -> (formula,
    saved result)`` written as formulas (XlsxWriter saves the result, as Excel does)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("referrals")
    for k, name in enumerate(frame.columns):
        sheet.write_string(0, k, name)
        for row, value in enumerate(frame[name].astype(str), start=1):
            if (row - 1, name) in formulas:
                sheet.write_formula(row, k, *formulas[(row - 1, name)])
            elif value:
                sheet.write_string(row, k, value)
    book.close()
    return path


# Found in review: calamine reads an error cell as blank, so an avoid_authorities of =1/0
# silently dropped a child's safety exclusion and a max_distance_miles of #N/A its cap.
def test_an_excel_error_cell_is_refused_not_read_as_blank(
        tmp_path: Path, frames: dict[str, pd.DataFrame], contract_files: dict[str, Path],
        as_of: date) -> None:
    frame = frames["referrals"]
    book = _xlsxwriter_book(tmp_path / "referrals.xlsx", frame, {
        (1, "avoid_authorities"): ("=1/0", None, "#DIV/0!"),
        (2, "max_distance_miles"): ("=NA()", None, "#N/A"),
        (3, "child_id"): ("=NA()", None, "#N/A"),
        (0, "needs"): ('="SEMH"', None, "SEMH")})  # a formula with its result: read as SEMH
    with pytest.raises(InputError) as caught:
        load_inputs(book, contract_files["units"], as_of=as_of)
    assert [str(e) for e in caught.value.errors] == [
        f"{book}, row 3, column avoid_authorities: the cell holds a spreadsheet error "
        "(#DIV/0!): correct its formula or type the value",
        f"{book}, row 4, column max_distance_miles: the cell holds a spreadsheet error (#N/A): "
        "correct its formula or type the value",
        f"{book}, row 5, column child_id: the cell holds a spreadsheet error (#N/A): correct "
        "its formula or type the value"]


def _referrals_sheet(frame: pd.DataFrame) -> tuple[Workbook, Any]:
    """An openpyxl workbook whose ``referrals`` sheet holds ``frame`` as text."""
    book = Workbook()
    sheet = book.active
    sheet.title = "referrals"
    sheet.append(list(frame.columns))
    for record in frame.astype(str).to_dict("records"):
        sheet.append(list(record.values()))
    return book, sheet


def test_a_formula_saved_without_its_result_is_refused(
        tmp_path: Path, frames: dict[str, pd.DataFrame], contract_files: dict[str, Path],
        as_of: date) -> None:
    """openpyxl (and other programs) save formulas with no result; calamine reads them as
    blank, and a blank optional cell would take its default."""
    frame = frames["referrals"]
    book, sheet = _referrals_sheet(frame)
    column = list(frame.columns).index("expected_weeks") + 1
    sheet.cell(row=3, column=column, value="=20+6")
    path = tmp_path / "referrals.xlsx"
    book.save(path)
    with pytest.raises(InputError) as caught:
        load_inputs(path, contract_files["units"], as_of=as_of)
    assert [str(e) for e in caught.value.errors] == [
        f"{path}, row 3, column expected_weeks: a formula with no saved result: open and save "
        "the file in Excel, or paste values"]


def _rewritten(path: Path, change) -> Path:
    """``path`` with its first worksheet's XML passed through ``change``."""
    import zipfile

    out = path.with_name("rewritten-" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w",
                                                          zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            target.writestr(item, data)
    return out


@pytest.mark.parametrize("layout", ["as written", "no cell references", "prefixed tags"])
def test_error_cells_are_found_in_every_worksheet_layout(
        tmp_path: Path, frames: dict[str, pd.DataFrame], contract_files: dict[str, Path],
        as_of: date, layout: str) -> None:
    """Found in review: cells need no ``r`` reference, and the Open XML SDK writes tags with
    a namespace prefix (``<x:c>``); calamine reads both, and an error cell was again read
    as blank. A formatted (rich text) cell is not a formula."""
    import re

    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    frame = frames["referrals"]
    book, sheet = _referrals_sheet(frame)
    columns = list(frame.columns)
    sheet.cell(row=4, column=columns.index("avoid_authorities") + 1, value="#N/A")  # an error
    sheet.cell(row=2, column=columns.index("avoid_authorities") + 1,
               value=CellRichText([TextBlock(InlineFont(b=True, family=2), "Knowsley")]))
    path = tmp_path / "referrals.xlsx"
    book.save(path)
    main = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    if layout == "no cell references":
        path = _rewritten(path, lambda xml: re.sub(rb'(<c\b[^>]*?) r="[A-Z]+[0-9]+"', rb"\1",
                                                   xml))
    elif layout == "prefixed tags":
        path = _rewritten(path, lambda xml: re.sub(
            rb"<(/?)(?!\?)([A-Za-z]+)([ />])", rb"<\1x:\2\3",
            xml.replace(main, main.replace(b"xmlns=", b"xmlns:x="))))
    with pytest.raises(InputError) as caught:
        load_inputs(path, contract_files["units"], as_of=as_of)
    assert [str(e) for e in caught.value.errors] == [
        f"{path}, row 4, column avoid_authorities: the cell holds a spreadsheet error (#N/A): "
        "correct its formula or type the value"]
