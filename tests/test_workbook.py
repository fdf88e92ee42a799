"""``allocation.xlsx`` for people: one sheet per question, formatted, formula-safe, and
holding the same values as the CSV.

The formatting is read back with openpyxl; the values are checked by a program other than
the one that wrote them: LibreOffice converts each sheet to CSV *as a person sees it*
(formats applied), and every cell is compared with ``allocation.csv`` and ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from external import soffice
from openpyxl import load_workbook

from allocator.workbook import MONEY, write_workbook

SHEETS = ["allocation", "unplaced", "approvals needed", "spend", "summary"]


@pytest.fixture(scope="module")
def csv(demo_run) -> pd.DataFrame:
    return pd.read_csv(demo_run.out / "allocation.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def summary(demo_run) -> dict:
    return json.loads((demo_run.out / "summary.json").read_text())


def _column(sheet, name: str) -> list:
    header = [c.value for c in sheet[1]]
    k = header.index(name) + 1
    return [row[0] for row in sheet.iter_rows(min_row=2, min_col=k, max_col=k)]


def _width(sheet, column: int) -> float:
    """A column's width; writers may store neighbours of equal width as one range."""
    for dimension in sheet.column_dimensions.values():
        if dimension.min is not None and dimension.min <= column <= dimension.max:
            return int(dimension.width)  # XlsxWriter adds a fraction for cell padding
    raise AssertionError(f"column {column} has no width")


def test_one_sheet_per_question_with_frozen_bold_headers(demo_run) -> None:
    book = load_workbook(demo_run.out / "allocation.xlsx")
    assert book.sheetnames == SHEETS
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.bold for cell in sheet[1]), sheet.title
        assert sheet.auto_filter.ref, sheet.title


def test_money_distance_and_dates_are_formatted_numbers(demo_run, csv: pd.DataFrame) -> None:
    book = load_workbook(demo_run.out / "allocation.xlsx")
    sheet = book["allocation"]
    cells = _column(sheet, "weekly_cost")
    assert len(cells) == len(csv)
    for cell, text in zip(cells, csv["weekly_cost"], strict=True):
        assert cell.number_format == MONEY
        assert (cell.value is None) == (text == "")
        if text:
            assert isinstance(cell.value, int | float) and cell.value == pytest.approx(
                float(text))
    assert {c.number_format for c in _column(sheet, "distance_miles")} == {"#,##0.00"}
    assert all(c.alignment.wrap_text for c in _column(sheet, "reason"))
    header = [c.value for c in sheet[1]]
    assert _width(sheet, header.index("reason") + 1) == 60, "sentences wrap in a wide column"
    assert 10 <= _width(sheet, 1) <= 20, "ids get a column their own size"
    summary_sheet = book["summary"]
    rows = {r[0].value: r[1] for r in summary_sheet.iter_rows(min_row=2)}
    assert isinstance(rows["as_of"].value, datetime) and rows["as_of"].number_format == (
        "yyyy-mm-dd")
    assert rows["total_weekly_cost"].number_format == MONEY
    assert rows["spend_by_route.pdps"].number_format == MONEY
    assert book["spend"]["D2"].number_format == "0.0%"


def test_approvals_sheet_lines_up_with_each_child(demo_run, csv: pd.DataFrame) -> None:
    """The sheet is a slice of the allocation: each row's cost is its own child's."""
    sheet = load_workbook(demo_run.out / "allocation.xlsx")["approvals needed"]
    cost = dict(zip(csv["child_id"], csv["weekly_cost"], strict=True))
    approvals = dict(zip(csv["child_id"], csv["approvals"], strict=True))
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    header = [c.value for c in sheet[1]]
    assert len(rows) == sum(1 for a in csv["approvals"] if a)
    for row in rows:
        child = row[0]
        assert row[header.index("weekly_cost")] == pytest.approx(float(cost[child]))
        for k, name in enumerate(header[4:], start=4):
            assert (row[k] == "yes") == (name in approvals[child].split(";"))


def test_text_that_a_spreadsheet_would_run_is_defused(demo_run, tmp_path: Path) -> None:
    allocation = demo_run.result.allocation.copy()
    allocation.loc[allocation.index[0], "reason"] = "=HYPERLINK(\"http://x\",\"y\")"
    allocation.loc[allocation.index[0], "next_best"] = "+1+1"
    summary = {**demo_run.result.summary, "status": "@SUM(A1)"}
    result = dataclasses.replace(demo_run.result, allocation=allocation, summary=summary)
    write_workbook(tmp_path / "book.xlsx", result)
    book = load_workbook(tmp_path / "book.xlsx")
    first = {c.value: k for k, c in enumerate(book["allocation"][1])}
    row = [c for c in book["allocation"][2]]
    assert row[first["reason"]].value == "'=HYPERLINK(\"http://x\",\"y\")"
    assert row[first["reason"]].data_type == "s"
    assert row[first["next_best"]].value == "'+1+1"
    values = {r[0]: r[1] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert values["status"] == "'@SUM(A1)"
    for sheet in book.worksheets:
        for line in sheet.iter_rows():
            assert not any(cell.data_type == "f" for cell in line), sheet.title


def test_text_longer_than_excel_holds_is_cut_visibly(demo_run, tmp_path: Path) -> None:
    """XlsxWriter cut a 100,000-character cell to 32,767 without a word, so the sheet showed
    a different child_id from the CSV's as if it were the same (found in audit)."""
    allocation = demo_run.result.allocation.copy()
    long_text = "C" + "7" * 99_999
    allocation.loc[allocation.index[0], "child_id"] = long_text
    allocation.loc[allocation.index[0], "reason"] = "why " * 10_000  # 40,000 characters
    result = dataclasses.replace(demo_run.result, allocation=allocation)
    write_workbook(tmp_path / "book.xlsx", result)
    sheet = load_workbook(tmp_path / "book.xlsx")["allocation"]
    first = {c.value: k for k, c in enumerate(sheet[1])}
    row = [c.value for c in sheet[2]]
    for name in ("child_id", "reason"):
        shown = row[first[name]]
        assert len(shown) == 32_767 and shown.endswith("allocation.csv holds the whole text]")
    assert row[first["child_id"]].startswith("C777")


# ---------------------------------------------------------------- LibreOffice

#: CSV export of every sheet (token 12: -1), UTF-8 (76), cells as shown (token 9: true).
ALL_SHEETS_AS_SHOWN = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"


@pytest.fixture(scope="module")
def converted(demo_run, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """Every sheet as LibreOffice shows it, read back as text."""
    work = tmp_path_factory.mktemp("libreoffice")
    book = Path(shutil.copy(demo_run.out / "allocation.xlsx", work / "allocation.xlsx"))
    done = soffice(["--convert-to", ALL_SHEETS_AS_SHOWN, "--outdir", str(work / "csv"),
                    str(book)], work / "profile")
    sheets = {}
    for name in SHEETS:
        path = work / "csv" / f"allocation-{name}.csv"
        assert path.is_file(), f"{name}: {done.stdout[-1000:]} {done.stderr[-1000:]}"
        sheets[name] = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return sheets


def _pounds(shown: str) -> str:
    """``£1,450.00`` as the CSV writes it, ``1450.00``; asserts the money format showed."""
    if shown == "":
        return ""
    assert shown.startswith("£") or shown.startswith("-£"), shown
    return shown.replace("£", "").replace(",", "")


def test_libreoffice_sees_the_csvs_values_in_the_allocation_sheet(
        converted: dict[str, pd.DataFrame], csv: pd.DataFrame) -> None:
    sheet = converted["allocation"]
    assert list(sheet.columns) == list(csv.columns)
    assert len(sheet) == len(csv)
    for name in csv.columns:
        shown = sheet[name].tolist()
        if name in ("weekly_cost", "objective_cost", "next_best_extra"):
            shown = [_pounds(v) for v in shown]
        elif name == "distance_miles":
            shown = [v.replace(",", "") for v in shown]
        assert shown == csv[name].tolist(), name


def test_libreoffice_sees_unplaced_approvals_spend_and_summary(
        converted: dict[str, pd.DataFrame], csv: pd.DataFrame, summary: dict) -> None:
    unplaced = csv[csv["option"] == "unplaced"]
    sheet = converted["unplaced"]
    assert sheet["child_id"].tolist() == unplaced["child_id"].tolist()
    assert sheet["reason"].tolist() == unplaced["reason"].tolist()
    assert sheet["excluded_by"].tolist() == unplaced["excluded_by"].tolist()

    approvals = converted["approvals needed"]
    placed = csv[csv["approvals"] != ""]
    assert approvals["child_id"].tolist() == placed["child_id"].tolist()
    assert [_pounds(v) for v in approvals["weekly_cost"]] == placed["weekly_cost"].tolist()

    spend = converted["spend"]
    expected = [(by, name, f"{amount:.2f}") for by, key in (("route", "spend_by_route"),
                                                            ("setting", "spend_by_setting"))
                for name, amount in summary[key].items()]
    assert list(zip(spend["by"], spend["name"], map(_pounds, spend["weekly_spend"]),
                    strict=True)) == expected
    routes = spend[spend["by"] == "route"]["share"]
    assert sum(float(v.rstrip("%")) for v in routes) == pytest.approx(100, abs=0.3)

    values = dict(zip(converted["summary"]["measure"], converted["summary"]["value"],
                      strict=True))
    assert values["as_of"] == summary["as_of"]
    assert values["status"] == summary["status"]
    assert values["children"] == str(summary["children"])
    assert _pounds(values["total_weekly_cost"]) == f"{summary['total_weekly_cost']:.2f}"
    greedy_cost = summary["against_greedy"]["greedy"]["weekly_cost"]
    assert _pounds(values["against_greedy.greedy.weekly_cost"]) == f"{greedy_cost:.2f}"
