"""Scenario results on disk: tables as CSV and one workbook, plots as PNG.

A folder is filled beside its final place and renamed into it, so it appears whole or not
at all, as ``pdps allocate``'s output does. Plots use matplotlib's Figure API with the Agg
canvas (no display, no pyplot state), so they draw the same in a terminal, a worker or CI.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from allocator.write import defuse, staging_prefix
from scenarios.montecarlo import Comparison, RunResult


class OutputExistsError(FileExistsError):
    """The output folder already holds files; the message is one line for the CLI."""


def write_run(result: RunResult, out: str | Path, *, force: bool = False,
              about: dict[str, Any] | None = None) -> list[Path]:
    """``summary``, ``weekly``, ``replications``, ``distance`` (CSV and one xlsx) and the
    plots ``spend.png``, ``distance.png``, ``fallback.png``."""
    tables = {"summary": result.summary().reset_index(),
              "weekly": result.weekly_table(),
              "replications": result.totals().reset_index(),
              "distance": result.distance_table()}

    def fill(folder: Path) -> None:
        _tables(folder, tables)
        _plot_weekly(folder / "spend.png", [result], "spend", "Weekly spend (£)")
        _plot_weekly(folder / "fallback.png", [result], "fallback_active",
                     "Children placed through a fallback")
        _plot_distance(folder / "distance.png", [result])
        _about(folder, result, about)

    return _publish(Path(out), force, fill)


def write_comparison(comparison: Comparison, out: str | Path, *, force: bool = False,
                     about: dict[str, Any] | None = None) -> list[Path]:
    """``differences`` (B - A with intervals), each scenario's summary and weekly table,
    and plots with both scenarios and their interval bands."""
    a, b = comparison.a, comparison.b
    tables = {"differences": comparison.differences().reset_index(),
              "summary_a": a.summary().reset_index(), "summary_b": b.summary().reset_index(),
              "weekly_a": a.weekly_table(), "weekly_b": b.weekly_table(),
              "distance_a": a.distance_table(), "distance_b": b.distance_table()}

    def fill(folder: Path) -> None:
        _tables(folder, tables)
        _plot_weekly(folder / "spend.png", [a, b], "spend", "Weekly spend (£)")
        _plot_weekly(folder / "fallback.png", [a, b], "fallback_active",
                     "Children placed through a fallback")
        _plot_distance(folder / "distance.png", [a, b])
        _about(folder, a, {**(about or {}), "compared_with": b.scenario})

    return _publish(Path(out), force, fill)


def write_tables(out: str | Path, tables: dict[str, pd.DataFrame], *, force: bool = False,
                 plots: Callable[[Path], None] | None = None,
                 about: dict[str, Any] | None = None) -> list[Path]:
    """Any named tables (plan-growth's), with optional plots and a ``run.json``."""
    def fill(folder: Path) -> None:
        _tables(folder, tables)
        if plots is not None:
            plots(folder)
        if about is not None:
            (folder / "run.json").write_text(json.dumps(about, indent=2, default=str) + "\n")

    return _publish(Path(out), force, fill)


def _tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    tables = {name: _defused(table) for name, table in tables.items()}
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False, float_format="%.6g")
    with pd.ExcelWriter(folder / "results.xlsx", engine="openpyxl") as book:
        for name, table in tables.items():
            table.to_excel(book, sheet_name=name[:31], index=False)


def _defused(table: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would evaluate get a leading apostrophe, as allocation.csv's.

    Found in review: a candidate id ``=HYPERLINK(...)`` was a live formula in results.xlsx
    and choice.csv. Numbers stay numbers; a plain number written as text (``-101``) stays.
    """
    text = [name for name in table.columns
            if pd.api.types.is_object_dtype(table[name])
            or pd.api.types.is_string_dtype(table[name])]
    if not text:
        return table
    table = table.copy()
    for name in text:
        table[name] = table[name].map(defuse)
    return table


def _about(folder: Path, result: RunResult, about: dict[str, Any] | None) -> None:
    info = {"scenario": result.scenario, "seed": result.seed,
            "replications": len(result.replications),
            "weeks_settled_by": dict(zip(("own_choice", "assignment", "engine"),
                                         result.methods.sum(axis=0).tolist(), strict=True)),
            **(about or {})}
    (folder / "run.json").write_text(json.dumps(info, indent=2, default=str) + "\n")


def _plot_weekly(path: Path, results: list[RunResult], measure: str, label: str) -> None:
    fig = Figure(figsize=(8, 4), dpi=100)
    ax = fig.add_subplot()
    for result in results:
        table = result.weekly_table()
        rows = table[table["measure"] == measure]
        ax.plot(rows["week"], rows["mean"], label=result.scenario)
        if rows["low"].notna().any():
            ax.fill_between(rows["week"], rows["low"], rows["high"], alpha=0.25)
    ax.set_xlabel("week of the horizon")
    ax.set_ylabel(label)
    ax.set_title(f"{label}: mean and 95% interval over replications")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def _plot_distance(path: Path, results: list[RunResult]) -> None:
    fig = Figure(figsize=(8, 4), dpi=100)
    ax = fig.add_subplot()
    width = 0.8 / len(results)
    for k, result in enumerate(results):
        table = result.distance_table()
        x = [i + k * width for i in range(len(table))]
        ax.bar(x, table["share"], width=width, label=result.scenario)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(table))], table["miles"],
                  rotation=30)
    ax.set_xlabel("miles from home")
    ax.set_ylabel("share of placements made")
    ax.set_title("Distance of placements made during the horizon")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def _publish(out: Path, force: bool, fill: Callable[[Path], None]) -> list[Path]:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder: choose another --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} is not empty: choose a new --out folder, or pass --force "
                           "to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    # A short name (found in review: a 250-character --out broke the 255-byte limit here).
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(out.name, "partial"), dir=out.parent))
    try:
        fill(staging)
        mask = os.umask(0)
        os.umask(mask)
        staging.chmod(0o777 & ~mask)
        if out.exists():
            shutil.rmtree(out)
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(out.iterdir())
