"""Validate the input tables, each on its own and against each other, collecting every error.

:func:`load_inputs` is the one door into the allocator: it reads every file, checks every cell
and every cross-file rule, and either returns :class:`Inputs` (typed tables, the policy, the
``--as-of`` date and the files' hashes) or raises :class:`InputError` carrying *all* problems,
each with its file, spreadsheet row and column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.columns import ISO_DATE, LINE_BREAK_OR_CONTROL, parse_column
from allocator.crosschecks import CROSS_CHECKS
from allocator.issues import InputError, Issue, errors_in, not_a_file, quote_value
from allocator.read import RawTable, file_sha256, read_table
from models.limits import outside_run_days
from models.policy import Policy, PolicyError, load_policy, parse_policy
from models.schema import ColumnSpec, TableSchema, table_schema

TableSource = str | Path | pd.DataFrame

#: Issue rules that mean a cell holds no usable value, so cross checks must not read it.
CONTROL_OR_BREAK = re.compile(LINE_BREAK_OR_CONTROL)
CELL_RULES = frozenset({"type", "required", "range"})


@dataclass(frozen=True)
class Inputs:
    """Validated inputs: what every later step of the pipeline reads, and nothing else.

    Tables keep the index of the rows they came from (spreadsheet row = index + 2), so later
    messages can still name the row.
    """

    referrals: pd.DataFrame
    units: pd.DataFrame
    offers: pd.DataFrame | None
    conflicts: pd.DataFrame | None
    policy: Policy
    as_of: date
    labels: Mapping[str, str] = field(default_factory=dict)
    hashes: Mapping[str, str | None] = field(default_factory=dict)
    warnings: tuple[Issue, ...] = ()
    #: Units whose vacancies a call-off register replaced (unit id -> vacancies), if any.
    register_vacancies: Mapping[str, int] = field(default_factory=dict)


def validate_table(raw: RawTable) -> tuple[pd.DataFrame, list[Issue]]:
    """Type every contract column of one table; unknown columns are dropped with a warning."""
    schema: TableSchema = table_schema(raw.role)
    frame = raw.frame
    issues = list(raw.issues)
    if len(frame.columns) and not any(name in schema.names for name in frame.columns):
        # Found in review: a file whose header row was missing had its first child's every
        # cell listed as "not a contract column". A first row naming no contract column is
        # said to be so, and none of its cells is repeated.
        issues = [i for i in issues if i.rule != "header"]
        issues.append(Issue(raw.label, 1, None,
                            f"the first row names none of the contract's columns (such as "
                            f"{schema.columns[0].name}): it must be the header row. Its cells "
                            "are not repeated here, as they may be a child's details",
                            "header"))
    else:
        for name in frame.columns:
            if name not in schema.names:
                issues.append(Issue(raw.label, 1, name or "(blank)",
                                    "not a contract column: ignored and never copied to "
                                    "outputs", "unknown_column", "warning"))
    typed: dict[str, pd.Series] = {}
    for spec in schema.columns:
        if spec.name not in frame.columns:
            if spec.required:
                issues.append(Issue(raw.label, 1, spec.name, "required column is missing",
                                    "missing_column"))
                continue
            text = pd.Series("", index=frame.index, dtype=object)
        else:
            text = frame[spec.name]
        parsed = parse_column(text, spec)
        typed[spec.name] = parsed.values
        blank = parsed.blank
        errors = {row: value for (row, column), value in raw.error_cells.items()
                  if column == spec.name}
        if errors:
            blank = blank & ~np.isin(text.index.to_numpy() + 2, list(errors))
            issues += raw.error_cell_issues(spec.name)
        issues += _cell_issues(raw, spec, text, parsed.bad, parsed.why, blank)
        issues += _range_issues(raw, spec, parsed.values, parsed.bad | parsed.blank)
    if any(i.rule == "missing_column" for i in issues):
        return pd.DataFrame(index=frame.index), issues
    return pd.DataFrame(typed, index=frame.index), issues


def _cell_issues(raw: RawTable, spec: ColumnSpec, text: pd.Series, bad: np.ndarray, why: str,
                 blank: np.ndarray) -> list[Issue]:
    issues = []
    rows = text.index.to_numpy() + 2
    if spec.required:
        for row in rows[blank]:
            issues.append(Issue(raw.label, int(row), spec.name,
                                "required value is blank" + _short(raw, row), "required"))
    if bad.any():
        cells = text.to_numpy(dtype=object)[bad]
        for row, cell in zip(rows[bad], cells, strict=True):
            # A cell holding a tab or line break is often several cells run together (a
            # tab-separated row under a comma header), and a cell of a short row may be the
            # next column's: never quoted back, like a sensitive one.
            quiet = spec.sensitive or CONTROL_OR_BREAK.search(str(cell)) is not None \
                or int(row) in raw.short_rows
            shown = why if quiet else f"{why}, found {quote_value(str(cell).strip())}"
            issues.append(Issue(raw.label, int(row), spec.name, shown + _short(raw, row),
                                "type"))
    return issues


QUOTED = re.compile(r"'[^']*'")


def _unquoted_if_short(issue: Issue, short_rows: dict[str, frozenset[int]]) -> Issue:
    """A cross-file message about a row short of cells quotes no value of it (its values may
    sit under the wrong columns: found in review, a need quoted as a sibling group)."""
    rows = short_rows.get(issue.file, frozenset())
    if issue.row is None or issue.row not in rows or SHORT_HINT in issue.message:
        return issue
    return replace(issue, message=QUOTED.sub("a value", issue.message) + SHORT_HINT)


SHORT_HINT = (" (this row has fewer cells than the header: if a cell was left out mid-row, "
              "the values after it sit under the wrong columns)")


def _short(raw: RawTable, row: int) -> str:
    """The likely cause of a bad cell in a row with fewer cells than the header."""
    return SHORT_HINT if int(row) in raw.short_rows else ""


def _range_issues(raw: RawTable, spec: ColumnSpec, values: pd.Series,
                  skip: np.ndarray) -> list[Issue]:
    if spec.kind not in ("int", "float") or (spec.ge is None and spec.le is None):
        return []
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    issues = []
    rows = values.index.to_numpy() + 2
    for bound, test, words in ((spec.ge, np.less, "at least"), (spec.le, np.greater, "at most")):
        if bound is None:
            continue
        with np.errstate(invalid="ignore"):
            out = test(numbers, bound) & ~skip & np.isfinite(numbers)
        shown = f"{bound:,.0f}" if float(bound).is_integer() else f"{bound:g}"
        for row, value in zip(rows[out], numbers[out], strict=True):
            detail = "" if spec.sensitive or int(row) in raw.short_rows else f", found {value:g}"
            issues.append(Issue(raw.label, int(row), spec.name, f"must be {words} {shown}{detail}",
                                "range"))
    return issues


def load_inputs(referrals: TableSource, units: TableSource, *,
                offers: TableSource | None = None, conflicts: TableSource | None = None,
                policy: Policy | str | Path | Mapping[str, Any] | None = None,
                as_of: date | str | None = None) -> Inputs:
    """Read and validate every input; raise :class:`InputError` with all errors found."""
    issues: list[Issue] = []
    policy_obj, policy_label, policy_hash = _policy(policy, issues)
    when = _as_of(as_of, issues)
    sources = {"referrals": referrals, "units": units, "offers": offers, "conflicts": conflicts}
    tables: dict[str, pd.DataFrame | None] = {}
    labels: dict[str, str] = {}
    hashes: dict[str, str | None] = {}
    short_rows: dict[str, frozenset[int]] = {}
    for role, source in sources.items():
        if source is None:
            tables[role] = None
            continue
        try:
            raw = read_table(source, role)
        except InputError as exc:
            issues += exc.issues
            tables[role] = None
            labels[role] = str(source)
            continue
        frame, found = validate_table(raw)
        issues += found
        complete = not any(i.rule == "missing_column" for i in found)
        tables[role] = frame if complete else None
        labels[role] = raw.label
        hashes[role] = raw.sha256
        short_rows[raw.label] = raw.short_rows
    if policy_label is not None:
        labels["policy"], hashes["policy"] = policy_label, policy_hash
    if when is not None:
        role_of = {label: role for role, label in labels.items()}
        failed = frozenset((role_of.get(i.file, i.file), i.row, i.column) for i in issues
                           if i.rule in CELL_RULES and i.row is not None and i.column)
        for check in CROSS_CHECKS:
            issues += check.run(tables, labels, policy_obj or Policy(), when, failed)
    issues = [_unquoted_if_short(issue, short_rows) for issue in issues]
    if errors_in(issues):
        raise InputError(issues)
    assert policy_obj is not None and when is not None
    referral_table = tables["referrals"]
    unit_table = tables["units"]
    assert referral_table is not None and unit_table is not None
    return Inputs(
        referrals=_resolve_referral_defaults(referral_table),
        units=unit_table,
        offers=tables["offers"],
        conflicts=tables["conflicts"],
        policy=policy_obj,
        as_of=when,
        labels=labels,
        hashes=hashes,
        warnings=tuple(sorted(issues, key=lambda i: (i.file, i.row or 0, i.column or ""))),
    )


def _resolve_referral_defaults(referrals: pd.DataFrame) -> pd.DataFrame:
    """``keep_together`` defaults to true when the child is in a sibling group."""
    frame = referrals.copy()
    in_group = frame["sibling_group"].notna().to_numpy()
    keep = frame["keep_together"]
    frame["keep_together"] = np.where(keep.isna().to_numpy(), in_group,
                                      keep.fillna(False).to_numpy(dtype=bool)) & in_group
    frame["keep_together"] = frame["keep_together"].astype(bool)
    return frame


def _policy(policy: Policy | str | Path | Mapping[str, Any] | None,
            issues: list[Issue]) -> tuple[Policy | None, str | None, str | None]:
    if policy is None or isinstance(policy, Policy):
        return policy or Policy(), None, None
    if isinstance(policy, Mapping):
        try:
            return parse_policy(dict(policy)), None, None
        except PolicyError as exc:
            issues += _policy_issues(exc)
            return None, None, None
    path = Path(policy)
    if not path.is_file():
        issues.append(Issue(str(policy), None, None, not_a_file(path), "file"))
        return None, str(policy), None
    try:
        return load_policy(path), str(policy), file_sha256(path)
    except PolicyError as exc:
        issues += _policy_issues(exc)
        return None, str(policy), None


def _policy_issues(exc: PolicyError) -> list[Issue]:
    """One issue per problem; a problem about one key names it as the issue's column."""
    issues = []
    for problem in exc.problems:
        key, _, message = problem.partition(": ")
        if not message or " " in key:  # a whole-file problem: "not valid YAML", "not UTF-8"
            key, message = "", problem
        issues.append(Issue(exc.path, None, key or None, message, "policy"))
    return issues




def _as_of(as_of: date | str | None, issues: list[Issue]) -> date | None:
    if as_of is None:
        return date.today()
    when = as_of
    if isinstance(when, datetime):  # and pandas' Timestamp: compared as the day they fall on
        when = when.date()
    if not isinstance(when, date):
        # Python's fromisoformat also takes 20261125 and week dates; the contract says
        # YYYY-MM-DD, nothing looser.
        text = str(when).strip()
        try:
            if not re.fullmatch(ISO_DATE, text):
                raise ValueError(text)
            when = date.fromisoformat(text)
        except ValueError:
            issues.append(Issue("--as-of", None, None, "expected a date written YYYY-MM-DD",
                                "usage"))
            return None
    if (outside := outside_run_days(when)) is not None:
        issues.append(Issue("--as-of", None, None, outside, "usage"))
        return None
    return when


def with_vacancies(inputs: Inputs, counts: Mapping[str, int]) -> Inputs:
    """``inputs`` with the vacancies of the units in ``counts`` replaced.

    A call-off register's counts are authoritative for the units it knows (a units file may
    predate placements that started or ended since). Only units whose count changes are
    kept in ``register_vacancies``, which ``manifest.json`` records and ``pdps check``
    applies again, so a register run can still be reproduced and checked from its files.
    """
    table = inputs.units
    held = table["unit_id"].astype(str).map(dict(counts))
    differs = (held.notna() & (held != table["vacancies"])).to_numpy(dtype=bool)
    if not differs.any():
        return inputs
    table = table.copy()
    table.loc[differs, "vacancies"] = held[differs].astype(table["vacancies"].dtype)
    changed = dict(zip(table.loc[differs, "unit_id"].astype(str),
                       table.loc[differs, "vacancies"].astype(int), strict=True))
    return replace(inputs, units=table, register_vacancies=changed)
