"""Write a run's output folder whole or not at all, safe to open in a spreadsheet.

Files are written into a hidden sibling folder and moved into place with one rename, so a
crash or a kill leaves either the previous folder or the new one, never half of either. Text
cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) are
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocator.issues import InputError, Issue

if TYPE_CHECKING:
    from allocator.api import AllocationResult

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MONEY_COLUMNS = ("weekly_cost", "objective_cost", "next_best_extra", "distance_miles",
                 "value_of_one_more_place")


#: A plain number, which a spreadsheet reads as that number and never evaluates: an id
#: such as ``-101`` is written as it is (found in review: ``'-101`` broke joins on ids).
PLAIN_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"


def defuse(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would otherwise evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_START) \
            and re.fullmatch(PLAIN_NUMBER, value) is None:
        return "'" + value
    return value


def as_text_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text written to CSV: 2-decimal numbers, true/false, no formulas."""
    return pd.DataFrame({name: _as_text(frame[name], _kind(name, frame[name]))
                         for name in frame.columns}, columns=list(frame.columns))


def _kind(name: str, column: pd.Series) -> str:
    """How a column is written, decided on the whole column: money, flag or text."""
    if name in MONEY_COLUMNS:
        return "money"
    return "flag" if column.dtype == bool or _all_booleans(column) else "text"


def _as_text(column: pd.Series, kind: str) -> np.ndarray:
    """The cells of ``column`` written as ``kind``; blank cells are empty text."""
    blank = column.isna().to_numpy(dtype=bool, copy=True)
    if kind == "money":
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        text = np.array([f"{v:.2f}" for v in np.nan_to_num(numbers)], dtype=object)
        blank |= np.isnan(numbers)
    elif kind == "flag":
        text = np.where(column.fillna(False).to_numpy(dtype=bool), "true", "false")
    else:
        strings = column.astype(object).where(~blank, "").astype(str)
        risky = (strings.str.startswith(FORMULA_START)
                 & ~strings.str.fullmatch(PLAIN_NUMBER)).to_numpy(dtype=bool)
        text = strings.to_numpy(dtype=object, copy=True)
        text[risky] = "'" + strings[risky].to_numpy(dtype=object)
    text = np.array(text, dtype=object)
    text[blank] = ""
    return text


#: Rows from which :func:`write_text_csv` builds the file itself (below, pandas is as fast).
FAST_CSV_ROWS = 5_000


def write_text_csv(frame: pd.DataFrame, path: Path) -> None:
    """``as_text_table(frame).to_csv(path, index=False)``, byte for byte, in a fraction of the
    time for columns of few distinct values.

    A national run's ``exclusions.csv`` has 850,000 rows (every unit for each unplaced child)
    but only a few thousand distinct cells; formatting and quoting every cell took 4.7 s of
    its 7.9 s write. Here each column's distinct values are made text and quoted once (by
    the ``csv`` module, as pandas does) and the rows are joined from them.
    """
    if len(frame) < FAST_CSV_ROWS or len(frame.columns) < 2:
        # Small tables gain nothing; and csv quotes a lone empty field, so a one-column table
        # is left to pandas too.
        as_text_table(frame).to_csv(path, index=False, lineterminator="\n")
        return
    columns: list[np.ndarray] = []
    for name in frame.columns:
        column = frame[name]
        codes, first = _distinct(column)
        text = _as_text(column.iloc[first], _kind(name, column))
        # Codes of blank cells are -1: the last entry, empty text.
        quoted = np.array([_csv_field(t) for t in text] + [""], dtype=object)
        columns.append(quoted[codes])
    header = ",".join(_csv_field(str(name)) for name in frame.columns)
    lines = [header, *map(",".join, zip(*columns, strict=True))]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("\n".join(lines) + "\n")


def _distinct(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for blanks, else 0..k-1) and the row of each code's first cell.

    Cells share a code only if they are written alike: floats are told apart by their bits
    (pandas writes -0.0 as -0.00, which equality would merge with 0.0), and mixed object
    cells by their text (1 and True are equal, yet written 1 and True).
    """
    blank = column.isna().to_numpy(dtype=bool)
    if column.dtype.kind == "f":
        key: pd.Series | np.ndarray = column.to_numpy(dtype=float,
                                                      na_value=np.nan).view(np.int64)
    elif column.dtype == object:
        key = column.astype(str)
    else:
        key = column
    codes, _ = pd.factorize(key)
    present = np.flatnonzero(~blank)
    # Renumbered 0..k-1 over the cells present, in the order of ``first``.
    _, first, inverse = np.unique(codes[present], return_index=True, return_inverse=True)
    out = np.full(len(codes), -1, dtype=np.int64)
    out[present] = inverse
    return out, present[first]


def _csv_field(text: str) -> str:
    """One field as ``csv.writer`` (QUOTE_MINIMAL) writes it within a row of several."""
    if not any(c in text for c in ',"\n\r'):  # nothing the writer would quote
        return text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([text])
    return buffer.getvalue()[:-1]


def _all_booleans(column: pd.Series) -> bool:
    """True for an object column holding only booleans (and blanks)."""
    if column.dtype != object:
        return False
    present = column.dropna()
    return len(present) > 0 and all(isinstance(v, bool | np.bool_) for v in present.iloc[:50]) \
        and present.isin([True, False]).all()


#: What a run (and ``pdps report allocation``) writes into ``--out``: a folder holding only
#: these may be replaced by a later run without ``--force``.
RESULT_FILES = frozenset({"allocation.csv", "exclusions.csv", "place_values.csv",
                          "summary.json", "manifest.json", "allocation.xlsx", "report.html"})


def write_outputs(result: AllocationResult, out_dir: Path, *, force: bool = False) -> Path:
    out_dir = Path(out_dir)
    _check_target(out_dir, force)
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(out_dir.name, "partial"),
                                    dir=parent))
    try:
        write_text_csv(result.allocation, staging / "allocation.csv")
        write_text_csv(result.exclusions, staging / "exclusions.csv")
        if result.place_values is not None:
            write_text_csv(result.place_values, staging / "place_values.csv")
        _json(staging / "summary.json", result.summary)
        _json(staging / "manifest.json", result.manifest)
        from allocator.workbook import write_workbook

        write_workbook(staging / "allocation.xlsx", result)
        _swap_into_place(staging, out_dir.resolve())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")


#: Files an operating system leaves in any folder it shows: never a user's work.
SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


#: Bytes in one file or folder name on Linux, macOS and Windows file systems.
NAME_MAX = 255


def check_name_lengths(path: Path, option: str = "--out") -> None:
    """Refuse a path with a file or folder name longer than its file system allows.

    Found in review: ``--out sub/<300 characters>/x`` passed every check (``exists()`` is
    simply false under a folder that cannot exist), failed only when the results were
    written, after the whole solve (exit 1), and left ``sub`` behind.
    """
    limit = _name_max(path)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > limit:
            shown = part if len(part) <= 40 else f"{part[:20]}...{part[-10:]}"
            raise InputError([Issue(option, None, None,
                                    f"a name in the path is too long, {size} bytes ({shown}); "
                                    f"the file system allows at most {limit}", "usage")])


def _name_max(path: Path) -> int:
    """The longest name the nearest existing folder above ``path`` allows."""
    folder = path.absolute().parent
    try:
        while not folder.is_dir() and folder != folder.parent:
            folder = folder.parent
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return NAME_MAX


def _check_target(out_dir: Path, force: bool, ours: frozenset[str] = RESULT_FILES) -> None:
    """Refuse an unusable ``--out`` before anything is read or solved."""
    check_name_lengths(out_dir)
    try:
        _check_folder(out_dir, force, ours)
    except OSError as exc:  # found in review: a name over 255 bytes, or a path over 4,096,
        # failed inside exists() with "File name too long" (exit 1)
        raise InputError([Issue("--out", None, None,
                                f"{out_dir} cannot be used ({exc.strerror or type(exc).__name__})",
                                "usage")]) from None


def _check_folder(out_dir: Path, force: bool, ours: frozenset[str]) -> None:
    # Resolved, as write_outputs stages beside the folder a symlinked --out points to
    # (found in review: the probe tested the link's own parent).
    target = out_dir.resolve()
    if not target.exists():
        _check_writable(out_dir, _creatable_under(target, out_dir, "--out"))
        return
    if not target.is_dir():
        raise InputError([Issue("--out", None, None, f"{out_dir} exists and is not a folder",
                                "usage")])
    _check_writable(out_dir, target.parent)
    if force:
        return
    contents = sorted(path.name for path in target.iterdir()
                      if path.name not in SYSTEM_FILES)
    if contents and "manifest.json" not in contents:
        raise InputError([Issue("--out", None, None,
                                f"{out_dir} is not empty and holds no earlier pdps results; "
                                "choose a new folder (or pass --force to replace it)",
                                "usage")])
    # An earlier run's folder is replaced whole: only when everything in it is ours, so
    # that inputs or notes kept beside the results are never deleted without --force.
    foreign = [name for name in contents if name not in ours]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3
                                           else "")
        raise InputError([Issue("--out", None, None,
                                f"{out_dir} holds earlier pdps results and also {shown}, "
                                "which replacing it would delete; choose a new folder (or "
                                "pass --force to replace it all)", "usage")])


def _creatable_under(target: Path, shown: str | Path, option: str) -> Path:
    """The nearest existing folder above the resolved ``target``, where it would be made;
    refused as usage when a file stands where a folder of its path would go."""
    ancestor = next(p for p in target.parents if p.exists())
    if not ancestor.is_dir():
        raise InputError([Issue(option, None, None, f"{shown} cannot be created: {ancestor} is "
                                "a file, not a folder", "usage")])
    return ancestor


def _check_writable(out_dir: Path, ancestor: Path) -> None:
    """Refuse a folder that cannot be written as usage.

    Found in review: a read-only ``--out`` was an internal fault (exit 1), and only after
    the whole solve. The probe is a folder made and removed at once in ``ancestor`` (where
    the results' staging folder will go), so nothing is left behind.
    """
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".pdps-probe-", dir=ancestor))
    except OSError as exc:
        raise InputError([Issue("--out", None, None,
                                f"{out_dir} cannot be written: {ancestor} is not writable "
                                f"({exc.strerror or type(exc).__name__})", "usage")]) from None


def check_out_file(path: str | Path, option: str = "--out") -> Path:
    """The file an ``option`` names, refused as usage (exit 2) unless it could be written: not
    blank, not a folder, every name within the file system's limit, and no file where a folder
    of its path would go. Checked before any work, as ``--out`` folders are."""
    text = str(path)
    if not text.strip():
        raise InputError([Issue(option, None, None, "give a file name", "usage")])
    out = Path(text)
    check_name_lengths(out, option)
    try:
        if out.is_dir() or text.endswith(("/", os.sep)):
            raise InputError([Issue(option, None, None, f"{text} is a folder: give a file name",
                                    "usage")])
        _creatable_under(out.resolve(), text, option)
    except OSError as exc:  # a path over the system's limit, say
        raise InputError([Issue(option, None, None, f"{text} cannot be used "
                                f"({exc.strerror or type(exc).__name__})", "usage")]) from None
    return out


def write_file_whole(path: Path, write: Callable[[Path], None], option: str = "--out") -> Path:
    """Write one file by ``write(staging)`` beside ``path`` and a rename over it: a reader
    never sees half a file, and a failure leaves the earlier file, no partial one and no
    folder made for it (found in review: a report's --out left its new folders behind, and
    ``missing/../ep.csv`` left ``missing``). A write the system refuses is usage, naming
    ``option``."""
    target = check_out_file(path, option).resolve()  # '..' taken, not made
    made = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    staging: Path | None = None
    done = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=staging_prefix(target.name, "partial"),
                                        dir=target.parent)
        os.close(handle)
        staging = Path(name)
        write(staging)
        os.chmod(staging, 0o644)
        staging.replace(target)
        done = True
    except OSError as exc:
        raise InputError([Issue(option, None, None, f"{path} cannot be written "
                                f"({exc.strerror or type(exc).__name__})", "usage")]) from None
    finally:
        if not done:
            if staging is not None:
                staging.unlink(missing_ok=True)
            for folder in made:  # deepest first; only what this call made, and only if empty
                try:
                    folder.rmdir()
                except OSError:
                    break
    return Path(path)


def staging_prefix(name: str, kind: str) -> str:
    """A hidden sibling's prefix, short enough for a name already near the limit."""
    return f".{name[:40]}.{kind}-"


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` by renames only."""
    if not target.exists():
        staging.rename(target)
        return
    if not any(target.iterdir()):
        target.rmdir()
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(prefix=staging_prefix(target.name, "old"), dir=target.parent))
    retired.rmdir()
    target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
