"""``allocation.xlsx``: the same results, one sheet per question a commissioner asks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from allocator.write import as_text_table, defuse
from models.codes import Approval

if TYPE_CHECKING:
    from allocator.api import AllocationResult

NUMERIC = ("weekly_cost", "objective_cost", "distance_miles", "next_best_extra",
           "eligible_options")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Text made formula-safe, money and distances kept as numbers a spreadsheet can sum."""
    text = as_text_table(frame)
    for name in NUMERIC:
        if name in frame.columns:
            text[name] = pd.to_numeric(frame[name], errors="coerce")
    return text


def approvals_sheet(allocation: pd.DataFrame) -> pd.DataFrame:
    placed = allocation[allocation["approvals"].fillna("") != ""]
    sheet = placed[["child_id", "option", "route", "weekly_cost"]].copy()
    for approval in Approval.values():
        sheet[approval] = placed["approvals"].str.split(";").map(
            lambda items, a=approval: "yes" if a in items else "")
    return sheet


def summary_sheet(summary: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for key, value in summary.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                rows.append((f"{key}.{sub}", inner if not isinstance(inner, dict)
                             else ", ".join(f"{k}: {v}" for k, v in inner.items())))
        elif isinstance(value, list):
            rows.append((key, len(value)))
        else:
            rows.append((key, value))
    return pd.DataFrame(rows, columns=["measure", "value"])


def write_workbook(path: Path, result: AllocationResult) -> None:
    allocation = result.allocation
    unplaced = allocation[allocation["option"] == "unplaced"][
        ["child_id", "reason", "excluded_by", "eligible_options"]]
    sheets = {
        "allocation": _typed(allocation),
        "unplaced": _typed(unplaced),
        "approvals needed": _typed(approvals_sheet(allocation)),
        "summary": summary_sheet(result.summary).map(defuse),
    }
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            for k, column in enumerate(frame.columns):
                width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
                sheet.column_dimensions[sheet.cell(1, k + 1).column_letter].width = min(
                    max(10, width + 2), 60)
