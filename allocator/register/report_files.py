"""Writing a register report: one folder holding CSVs, a workbook and a printable HTML page.

The folder is written whole or not at all (staged beside it and renamed into place, as
``pdps allocate`` writes its results). Every text cell goes through the formula-safe writer
(:func:`allocator.write.as_text_table`), so a provider called ``=HYPERLINK(...)`` stays text in
Excel; HTML cells are escaped. Money columns (names ending ``_gbp``) are pounds to the penny:
text ``1234.50`` in CSV, numbers with a £ format in the workbook.
"""

from __future__ import annotations

import html
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from allocator.write import (
    _check_target,
    _swap_into_place,
    as_text_table,
    defuse,
    staging_prefix,
)


@dataclass
class Report:
    """A report's title, the facts under it, and its tables in display order."""

    title: str
    facts: dict[str, str]
    tables: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)


def money_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Money columns as exact 2-decimal text, the rest as the formula-safe writer gives it."""
    text = as_text_table(frame)
    for name in frame.columns:
        if str(name).endswith("_gbp"):
            text[name] = ["" if pd.isna(v) else f"{float(v):.2f}" for v in frame[name]]
    return text


def write_report(report: Report, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write ``<table>.csv`` per table, ``<stem>.xlsx`` and ``<stem>.html`` into ``out_dir``."""
    out = Path(out_dir)
    stem = report.title.split(":")[0].strip().lower().replace(" ", "_")
    # An earlier run of this report is replaced without --force; anything else is kept.
    _check_target(out, force, frozenset({*(f"{name}.csv" for name in report.tables),
                                         f"{stem}.xlsx", f"{stem}.html", "manifest.json"}))
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(out.name, "partial"), dir=parent))
    try:
        for name, frame in report.tables.items():
            money_text(frame).to_csv(staging / f"{name}.csv", index=False, lineterminator="\n")
        _workbook(staging / f"{stem}.xlsx", report)
        (staging / f"{stem}.html").write_text(page(report), encoding="utf-8")
        # manifest.json marks the folder as pdps output, so --force may replace it later.
        (staging / "manifest.json").write_text(
            pd.Series(report.facts).to_json(indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staging, out.resolve())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _workbook(path: Path, report: Report) -> None:
    facts = pd.DataFrame(list(report.facts.items()), columns=["fact", "value"]).map(defuse)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        facts.to_excel(writer, sheet_name="about", index=False)
        for name, frame in report.tables.items():
            sheet_name = name.replace("_", " ")[:31]
            typed = as_text_table(frame)
            money = [c for c in frame.columns if str(c).endswith("_gbp")]
            for column in [*money, *_counts(frame)]:
                typed[column] = pd.to_numeric(frame[column], errors="coerce")
            typed.to_excel(writer, sheet_name=sheet_name, index=False)
            sheet = writer.sheets[sheet_name]
            sheet.freeze_panes = "A2"
            for k, column in enumerate(typed.columns, start=1):
                letter = sheet.cell(1, k).column_letter
                width = max([len(str(column))] + [len(str(v)) for v in typed[column].head(200)])
                sheet.column_dimensions[letter].width = min(max(10, width + 2), 50)
                if column in money:
                    for cell in sheet[letter][1:]:
                        cell.number_format = "£#,##0.00"


def _counts(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns
            if pd.api.types.is_integer_dtype(frame[c]) and not str(c).endswith("_id")]


_CSS = """
body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 16pt; margin-bottom: 0.2em; } h2 { font-size: 12.5pt; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 9.5pt; }
th, td { border: 1px solid #999; padding: 2px 6px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #eee; } dl { display: grid; grid-template-columns: max-content auto; gap: 0 1em; }
dt { font-weight: 600; } p.note { font-size: 9pt; color: #444; }
@media print { body { margin: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; }
  @page { size: A4 landscape; margin: 12mm; } }
"""


def page(report: Report) -> str:
    """A self-contained printable HTML page: facts, then each table, every cell escaped."""
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(report.title)}</h1><dl>"]
    parts += [f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>"
              for k, v in report.facts.items()]
    parts.append("</dl>")
    for name, frame in report.tables.items():
        parts.append(f"<h2>{html.escape(name.replace('_', ' ').capitalize())}</h2>")
        parts.append(_table(frame))
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in report.notes]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>None.</p>"
    text = money_text(frame)
    numeric = {c for c in frame.columns
               if str(c).endswith("_gbp") or c in _counts(frame)}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in text.columns)
    rows = []
    for record in text.itertuples(index=False):
        cells = "".join(
            f"<td class='n'>{_pounds(v) if str(c).endswith('_gbp') else html.escape(v)}</td>"
            if c in numeric else f"<td>{html.escape(v)}</td>"
            for c, v in zip(text.columns, record, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _pounds(value: str) -> str:
    return f"£{float(value):,.2f}" if value else ""


def facts_text(facts: Mapping[str, object]) -> dict[str, str]:
    """Facts as the text shown on the page and in the workbook."""
    return {k: str(v) for k, v in facts.items()}
