"""Check any allocation against the data contract, without a solver.

This module and :mod:`allocator.checkrules` are the contract's sections 6-8 written out once
more, row by row in plain Python, so that a domain expert can read every rule and the tests
can use them as an oracle. They deliberately import nothing from the engine's eligibility,
costs, model, solve, arrays or explain steps: two independent readings of the contract that
agree are evidence, one reading checked against itself is not.

:func:`first_failing_rule` and :func:`option_cost` (in :mod:`allocator.checkrules`) judge one
child in one option; :func:`check_allocation` judges a whole ``allocation.csv`` (as
DataFrame, typed or text): every child once, every hard rule, every shared limit, the sibling
groups, the columns the contract defines, and the objective recomputed from scratch.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.checkrules import (
    CHECKED_COLUMNS,
    EARTH_RADIUS_MILES,
    RULES,
    UNPLACED,
    Option,
    Row,
    blank,
    expected_approvals,
    fallback_rule,
    first_failing_rule,
    home_miles,
    items,
    miles,
    option_cost,
    price_paid,
    to_pence,
    where,
)
from allocator.issues import InputError, Issue, quote_value, shorten
from allocator.validate import Inputs
from models.codes import STAFF_USE
from models.policy import Fallback

#: What tests and notebooks import from here; the one-option rules live in checkrules.
__all__ = ["EARTH_RADIUS_MILES", "RULES", "UNPLACED", "CheckReport", "Market", "Violation",
           "check_allocation", "expected_approvals", "first_failing_rule", "miles",
           "option_cost", "read_allocation", "shared_violations", "split_groups", "to_pence"]

# --------------------------------------------------------------------------- the whole market

@dataclass(frozen=True)
class Violation:
    """One broken rule: the child (or ``;``-joined children), the rule's name, and what."""

    child_id: str
    rule: str
    message: str


@dataclass(frozen=True)
class Market:
    """The validated inputs as plain rows keyed by id: what the whole-allocation checks read."""

    inputs: Inputs
    children: dict[str, dict[str, Any]]
    units: dict[str, dict[str, Any]]
    offers: dict[tuple[str, str], dict[str, Any]]
    conflicts: frozenset[frozenset[str]]
    fallbacks: dict[str, Fallback]
    groups: dict[str, tuple[str, ...]]
    kept: dict[str, bool]

    @classmethod
    def of(cls, inputs: Inputs) -> Market:
        children = {str(r["child_id"]): r for r in inputs.referrals.to_dict("records")}
        units = {str(r["unit_id"]): r for r in inputs.units.to_dict("records")}
        offers = {} if inputs.offers is None else {
            (str(r["child_id"]), str(r["unit_id"])): r for r in inputs.offers.to_dict("records")}
        conflicts = frozenset() if inputs.conflicts is None else frozenset(
            frozenset((str(r["child_a"]), str(r["child_b"])))
            for r in inputs.conflicts.to_dict("records"))
        groups: dict[str, list[str]] = defaultdict(list)
        kept: dict[str, bool] = defaultdict(bool)
        for cid, row in children.items():
            if not blank(row.get("sibling_group")):
                name = str(row["sibling_group"])
                groups[name].append(cid)
                # The group is kept if any member says so; blank means yes in a group.
                keep = row.get("keep_together")
                kept[name] |= True if blank(keep) else bool(keep)
        return cls(inputs, children, units, offers, conflicts,
                   {f.option: f for f in inputs.policy.fallbacks},
                   {g: tuple(m) for g, m in groups.items() if len(m) > 1}, dict(kept))

    def option(self, label: str) -> Option:
        """The unit row or fallback an ``option`` label names (None: unplaced)."""
        if label == UNPLACED:
            return None
        if label in self.fallbacks:
            return self.fallbacks[label]
        return self.units[label]

    def known(self, label: str) -> bool:
        return label == UNPLACED or label in self.fallbacks or label in self.units

    def offer(self, child_id: str, label: str) -> Row | None:
        return self.offers.get((child_id, label))

    def rule(self, child_id: str, label: str) -> str | None:
        """The hard rule that forbids this child this option on its own, if any."""
        option = self.option(label)
        child = self.children[child_id]
        if option is None:
            return None
        if isinstance(option, Fallback):
            return fallback_rule(child, option, self.inputs)
        return first_failing_rule(child, option, self.offer(child_id, label), self.inputs)

    def cost(self, child_id: str, label: str) -> int:
        return option_cost(self.children[child_id], self.option(label),
                           self.offer(child_id, label), self.inputs)

    def options(self, child_id: str) -> list[str]:
        """Every option this child may take on its own: units, fallbacks, and unplaced."""
        labels = [*self.units, *self.fallbacks, UNPLACED]
        return [label for label in labels if self.rule(child_id, label) is None]

    def split_pence(self) -> int:
        return to_pence([self.inputs.policy.weights.sibling_split])


def split_groups(assignment: Mapping[str, str], market: Market) -> list[str]:
    """Sibling groups, every member assigned, whose members do not all share one option."""
    return [g for g, members in market.groups.items()
            if all(m in assignment for m in members)
            and len({assignment[m] for m in members}) > 1]


def shared_violations(assignment: Mapping[str, str], market: Market) -> list[Violation]:
    """Rules about children together: places, staff, admissions, fallbacks, conflicts, groups.

    ``assignment`` maps child ids to known option labels and may be partial (the brute-force
    oracle grows it child by child): every rule here can only break further as children are
    added, and a sibling group is judged once all its members are assigned.
    """
    found = []
    at: dict[str, list[str]] = defaultdict(list)
    for cid, label in assignment.items():
        at[label].append(cid)
    for label, who in at.items():
        option = market.option(label)
        names = ";".join(who)
        if isinstance(option, Fallback):
            if option.capacity is not None and len(who) > option.capacity:
                found.append(Violation(names, "fallback_capacity",
                                       f"{len(who)} children on {label}, capacity "
                                       f"{option.capacity}"))
            continue
        if option is None:
            continue
        use = sum(int(o["capacity_use"]) if (o := market.offer(c, label)) is not None
                  and not blank(o.get("capacity_use")) else 1 for c in who)
        staff = sum(STAFF_USE[market.children[c]["staffing"]] for c in who)
        max_new = option.get("max_new_admissions")
        for rule, used, limit in (
                ("vacancies", use, int(option["vacancies"])),
                ("staffing", staff, int(option.get("staff_capacity") or 0)),
                ("admissions_limit", len(who), None if blank(max_new) else int(max_new))):
            if limit is not None and used > limit:
                found.append(Violation(names, rule, f"{label} needs {used} for {rule}, "
                                                    f"has {limit}"))
        for pair in market.conflicts:
            if pair <= set(who):
                found.append(Violation(";".join(sorted(pair)), "conflict",
                                       f"conflicting children share unit {label}"))
    for group in split_groups(assignment, market):
        if market.kept[group]:
            found.append(Violation(";".join(market.groups[group]), "sibling_group",
                                   f"sibling group {group!r} must be kept together but "
                                   "takes more than one option"))
    return found


# ------------------------------------------------------------------------- the whole allocation

@dataclass
class CheckReport:
    """Every violation found, and the objective recomputed from the inputs (pence)."""

    violations: list[Violation] = field(default_factory=list)
    objective_pence: int = 0
    skipped_columns: tuple[str, ...] = ()  # contract columns the table lacks

    @property
    def ok(self) -> bool:
        return not self.violations

    def rules(self) -> set[str]:
        return {v.rule for v in self.violations}

    def text(self) -> str:
        pounds = f"£{self.objective_pence / 100:,.2f}"
        lines = [f"OK: every hard rule holds; objective {pounds}" if self.ok else
                 f"{len(self.violations)} violation(s); objective {pounds}"]
        lines += [f"{v.child_id}: {v.rule}: {v.message}" for v in self.violations]
        if self.skipped_columns:
            lines.append("not checked (column absent): " + ", ".join(self.skipped_columns))
        return "\n".join(lines)


def check_allocation(table: pd.DataFrame, inputs: Inputs,
                     label: str = "allocation") -> CheckReport:
    """Verify an allocation table (one row per child) against every rule of the contract.

    ``table`` may be the engine's typed DataFrame or a CSV read as text. ``child_id`` and
    ``option`` are required; the other contract columns are compared where present.
    Violations of the columns are named ``column:<name>``. ``label`` names the table in
    messages (the file it came from).
    """
    for column in ("child_id", "option"):
        if column not in table.columns:
            raise InputError([Issue(label, 1, column, "required column is missing",
                                    "missing_column")])
    market = Market.of(inputs)
    report = CheckReport(skipped_columns=tuple(c for c in CHECKED_COLUMNS
                                               if c not in table.columns))
    found = report.violations
    seen = Counter(_text(c) for c in table["child_id"])
    found += [Violation(c, "duplicate_child", f"appears {n} times") for c, n in seen.items()
              if n > 1 and c in market.children]
    found += [Violation(c, "missing_child", "referred but not in the allocation")
              for c in market.children if c not in seen]
    assignment: dict[str, str] = {}
    for row in table.to_dict("records"):
        cid, label = _text(row["child_id"]), _text(row["option"])
        if cid not in market.children:
            found.append(Violation(shorten(cid), "unknown_child", "not in the referrals"))
        elif not market.known(label):
            found.append(Violation(cid, "unknown_option",
                                   f"no unit or fallback {quote_value(label)}"))
        elif cid not in assignment:
            assignment[cid] = label
            rule = market.rule(cid, label)
            if rule is not None:
                found.append(Violation(cid, rule, f"{label} breaks the {rule} rule"))
            for name, want in expected_row(cid, label, market).items():
                if name in row and not _agrees(name, row[name], want):
                    shown = quote_value(_text(row[name]))
                    found.append(Violation(cid, f"column:{name}",
                                           f"{name} is {shown}, expected {_show(want)}"))
    found += shared_violations(assignment, market)
    report.objective_pence = sum(market.cost(c, o) for c, o in assignment.items()) + (
        market.split_pence() * len(split_groups(assignment, market)))
    return report


def expected_row(child_id: str, label: str, market: Market) -> dict[str, Any]:
    """What the contract says each of :data:`CHECKED_COLUMNS` holds in a child's row.

    Money is in pence; ``distance_miles`` and ``in_borough`` are None when unplaced, and a
    fallback's provider and ``place_provider`` are blank: the purchasing system finds them.
    """
    inputs, child, option = market.inputs, market.children[child_id], market.option(label)
    offer = market.offer(child_id, label)
    setting = route = provider = place_provider = ""
    distance: float | None = None
    in_borough: bool | None = None
    if isinstance(option, Fallback):
        setting, route = option.setting.value, option.route.value
        distance, in_borough = option.distance_miles, False
    elif option is not None:
        setting, route, provider = option["setting"], option["route"], option["provider_id"]
        place_provider = option.get("ownership") or "PR4"
        distance, in_borough = home_miles(child, option), not where(option, inputs)[0]
    return {
        "provider_id": provider, "setting": setting, "route": route,
        "place_code": getattr(inputs.policy.place_codes, setting).value if setting else "",
        "place_provider": place_provider,
        "weekly_cost": to_pence(price_paid(child, option, offer, inputs)),
        "objective_cost": option_cost(child, option, offer, inputs),
        "distance_miles": distance, "in_borough": in_borough,
        "approvals": expected_approvals(child, option, inputs),
    }


def _agrees(name: str, given: Any, want: Any) -> bool:
    """A cell against the expected value: money to the penny, miles to 2 decimals."""
    if name in ("weekly_cost", "objective_cost"):
        pounds = _number(given)
        return pounds is not None and abs(pounds * 100 - want) <= 0.5 + 1e-6
    if name == "distance_miles":
        value = _number(given)
        return value is None if want is None else (
            value is not None and abs(value - want) <= 0.005 + 1e-6)
    if name == "in_borough":
        return _flag(given) == want
    if name == "approvals":
        return items(_text(given)) == want
    return _text(given) == want


def _show(want: Any) -> str:
    """An expected value as allocation.csv writes it (found in review: a distance was shown
    as 2.9793909603644693, and an unplaced child's as None)."""
    if isinstance(want, set):
        return ";".join(sorted(want)) or "(none)"
    if want is None:
        return "blank"
    if isinstance(want, bool):
        return "true" if want else "false"
    if isinstance(want, int):
        return f"{want / 100:.2f}"
    if isinstance(want, float):
        return f"{want:.2f}"
    return repr(want)


def _text(value: Any) -> str:
    """A cell as text, undoing the apostrophe written before formula-like text."""
    text = "" if blank(value) else str(value).strip()
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        text = text[1:]
    return text


def _number(value: Any) -> float | None:
    """A number cell; None when blank, NaN when not a number (so it matches nothing and is
    reported as a column violation, never a crash)."""
    text = _text(value).replace("£", "").replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).casefold()
    return None if not text else text in ("true", "yes", "1", "y", "1.0")


def read_allocation(source: str | Path) -> pd.DataFrame:
    """Read an ``allocation.csv`` (or its ``.xlsx``/``.parquet`` twin) as text cells.

    Through the inputs' reader (found in review: a header naming ``option`` twice was read
    as ``option`` and ``option.1``, and the check then passed on the first copy; blank rows
    a spreadsheet leaves were unknown children with no row named). A repeated column is
    refused like an input's; blank rows are dropped; row numbers are the file's.
    """
    from allocator.read import read_table

    raw = read_table(source, "allocation")
    # An error cell reads as blank (a workbook's '#N/A' option was reported as "no unit or
    # fallback ''", with no word of the error); it is refused by row and column, as in the
    # inputs.
    errors = [issue for issue in raw.issues if issue.severity == "error"]
    errors += raw.error_cell_issues()
    if errors:
        raise InputError(errors)
    return raw.frame
