"""``allocation.xlsx``: the same results, one sheet per question a commissioner asks.

Sheets: ``allocation`` (who goes where: the CSV's rows, and the sheet ``pdps check`` reads),
``unplaced`` (who could not be placed, and why), ``approvals needed`` (who must sign what),
``spend`` (by route and by setting) and ``summary`` (the headline and the proof).

Formatted for people, not only for machines: a bold frozen header with filters, columns
sized to their contents, money as ``£#,##0.00``, miles to two decimals (so a cell shows what
the CSV holds), dates as dates, and sentences wrapped. Every text cell is formula-safe
(:func:`allocator.write.defuse`); numbers stay numbers a spreadsheet can sum.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocator.write import as_text_table, defuse
from models.codes import Approval

if TYPE_CHECKING:
    from allocator.api import AllocationResult

NUMERIC = ("weekly_cost", "objective_cost", "distance_miles", "next_best_extra",
           "eligible_options")

#: Excel number formats by column. The pound sign is quoted so every spreadsheet program
#: reads it as a literal; two decimals match the CSV's text exactly.
MONEY = '"£"#,##0.00'
FORMATS = {"weekly_cost": MONEY, "objective_cost": MONEY, "next_best_extra": MONEY,
           "weekly_spend": MONEY, "distance_miles": "#,##0.00", "eligible_options": "0",
           "share": "0.0%"}
DATE_FORMAT = "yyyy-mm-dd"
#: Sentences: wrapped in a wide column rather than one line 300 characters long.
WRAPPED = ("reason", "next_best", "excluded_by", "meaning")
#: Summary measures that are sums of money, shown in the money format.
MONEY_MEASURES = ("total_weekly_cost", "committed_cost", "objective", "bound", "gap_pounds",
                  "weekly_cost", "saving_objective", "saving_weekly_cost")
HEADER_COLOUR = "#DCE6EE"


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Text made formula-safe, money and distances kept as numbers a spreadsheet can sum."""
    text = as_text_table(frame)
    for name in NUMERIC:
        if name in frame.columns:
            # By position: ``frame`` may be a filtered slice whose index is not 0..n-1.
            text[name] = pd.to_numeric(frame[name], errors="coerce").to_numpy()
    return text


def approvals_sheet(allocation: pd.DataFrame) -> pd.DataFrame:
    placed = allocation[allocation["approvals"].fillna("") != ""]
    sheet = placed[["child_id", "option", "route", "weekly_cost"]].copy()
    for approval in Approval.values():
        sheet[approval] = placed["approvals"].str.split(";").map(
            lambda items, a=approval: "yes" if a in items else "")
    return sheet


def summary_sheet(summary: dict[str, Any]) -> pd.DataFrame:
    """``summary.json`` as one measure per row: nested keys dotted, lists shown by content.

    A list of ids (``sibling_groups_split``, ``adult_social_care``) is shown joined, a list
    of records (``unplaced_children``) by its length: the ``unplaced`` sheet has the rows.
    ``as_of`` becomes a date cell.
    """
    rows: list[tuple[str, Any]] = []

    def add(key: str, value: Any) -> None:
        if isinstance(value, dict):
            for sub, inner in value.items():
                add(f"{key}.{sub}", inner)
        elif isinstance(value, list):
            simple = all(not isinstance(v, dict | list) for v in value)
            rows.append((key, "; ".join(map(str, value)) if simple else len(value)))
        elif key == "as_of" and isinstance(value, str):
            rows.append((key, date.fromisoformat(value)))
        else:
            rows.append((key, value))

    for key, value in summary.items():
        add(key, value)
    return pd.DataFrame(rows, columns=["measure", "value"])


def spend_sheet(summary: dict[str, Any]) -> pd.DataFrame:
    """Weekly spend by purchasing route, then by setting, each with its share of the total."""
    total = float(summary.get("total_weekly_cost") or 0)
    rows = [(by, str(name), float(amount), float(amount) / total if total else 0.0)
            for by, key in (("route", "spend_by_route"), ("setting", "spend_by_setting"))
            for name, amount in summary.get(key, {}).items()]
    return pd.DataFrame(rows, columns=["by", "name", "weekly_spend", "share"])


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def write_workbook(path: Path, result: AllocationResult) -> None:
    """Write the five sheets with XlsxWriter, several times faster than openpyxl: a
    national run's 5,000-row workbook took about 20 s with openpyxl."""
    import xlsxwriter

    allocation = result.allocation
    unplaced = allocation[allocation["option"] == "unplaced"][
        ["child_id", "reason", "excluded_by", "eligible_options"]]
    sheets = {
        "allocation": _typed(allocation),
        "unplaced": _typed(unplaced),
        "approvals needed": _typed(approvals_sheet(allocation)),
        "spend": spend_sheet(result.summary).map(defuse),
        "summary": summary_sheet(result.summary).map(defuse),
    }
    # Text is written as text: no formulas, numbers or links are guessed from strings.
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                               "strings_to_numbers": False,
                                               "strings_to_urls": False})
    try:
        styles = _styles(workbook)
        for name, frame in sheets.items():
            _write_sheet(workbook.add_worksheet(name), frame, styles)
    finally:
        workbook.close()


def _styles(workbook: Any) -> dict[str, Any]:
    return {
        "header": workbook.add_format({"bold": True, "bg_color": HEADER_COLOUR,
                                       "valign": "top", "text_wrap": True}),
        "wrapped": workbook.add_format({"text_wrap": True, "valign": "top"}),
        "left": workbook.add_format({"align": "left"}),
        "date": workbook.add_format({"num_format": DATE_FORMAT, "align": "left"}),
        "money_left": workbook.add_format({"num_format": MONEY, "align": "left"}),
        **{fmt: workbook.add_format({"num_format": fmt}) for fmt in set(FORMATS.values())},
    }


def _write_sheet(sheet: Any, frame: pd.DataFrame, styles: dict[str, Any]) -> None:
    """Header, freeze, filter, widths and number formats, column by column.

    Widths follow the longest of the first 200 values (capped at 60 characters, where
    sentences wrap instead). Money and miles keep two decimals, so a cell shows what the
    CSV holds; the summary's value column is formatted row by row (money, dates, plain).
    """
    for k, name in enumerate(frame.columns):
        sheet.write_string(0, k, str(name), styles["header"])
        values = frame[name].to_numpy(dtype=object)
        longest = max([len(str(name))] + [len(_shown(v)) for v in values[:200]])
        wrapped = name in WRAPPED
        sheet.set_column(k, k, 60 if wrapped and longest > 60 else min(max(10, longest + 2),
                                                                         60))
        number_format = FORMATS.get(name)
        style = (styles[number_format] if number_format else
                 styles["wrapped"] if wrapped else None)
        if name == "value":
            for row, value in enumerate(values, start=1):
                _write_summary_value(sheet, row, k, value, str(frame.iat[row - 1, 0]), styles)
        elif _all_text(values):
            _write_text_column(sheet, k, values, style)
        else:
            for row, value in enumerate(values, start=1):
                _write_cell(sheet, row, k, value, style)
    if len(frame.columns):
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(frame), len(frame.columns) - 1)


def _all_text(values: np.ndarray) -> bool:
    return all(type(v) is str for v in values)


#: Excel's most characters in a cell; XlsxWriter cuts longer text without a mark.
EXCEL_CELL_CHARS = 32_767
CUT_MARK = " [cut at Excel's cell limit: allocation.csv holds the whole text]"


def _fits(value: str) -> str:
    """Text as Excel can hold it: a longer cell (in an audit, a 100,000-character child_id)
    is cut visibly, so the sheet never shows a different value as if it were the same."""
    if len(value) <= EXCEL_CELL_CHARS:
        return value
    return value[:EXCEL_CELL_CHARS - len(CUT_MARK)] + CUT_MARK


def _write_text_column(sheet: Any, col: int, values: np.ndarray, style: Any) -> None:
    """A column of text (most of every sheet), written as :func:`_write_cell` would, without
    its type tests per cell."""
    write = sheet.write_string
    for row, value in enumerate(values, start=1):
        write(row, col, _fits(value), style)


def _write_cell(sheet: Any, row: int, col: int, value: Any, style: Any) -> None:
    if value is None or (isinstance(value, float) and value != value):  # NaN: a blank cell
        if style is not None:
            sheet.write_blank(row, col, None, style)
        return
    if isinstance(value, bool | np.bool_):
        sheet.write_boolean(row, col, bool(value), style)
    elif isinstance(value, int | float | np.integer | np.floating):
        sheet.write_number(row, col, float(value), style)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, value, style)
    else:
        sheet.write_string(row, col, _fits(str(value)), style)


def _write_summary_value(sheet: Any, row: int, col: int, value: Any, measure: str,
                         styles: dict[str, Any]) -> None:
    money = measure.rsplit(".", 1)[-1] in MONEY_MEASURES or measure.startswith("spend_by_")
    if isinstance(value, date):
        style = styles["date"]
    elif money and isinstance(value, int | float) and not isinstance(value, bool):
        style = styles["money_left"]
    else:
        style = styles["left"]
    _write_cell(sheet, row, col, value, style)
