"""Rules that look across rows and files: duplicate ids, unknown ids, impossible dates...

Each rule is a small registered :class:`CrossCheck` with a code, the tables it needs and a
function returning issues; a rule whose tables are absent (or unreadable) is skipped. The
functions skip cells that already failed their own column check (blank or NaN values), so a
bad cell is reported once, not again by every rule that reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from allocator.ages import age_years
from allocator.columns import list_items
from allocator.issues import Issue
from models.codes import Setting
from models.policy import Policy

Tables = Mapping[str, pd.DataFrame | None]


@dataclass(frozen=True)
class Context:
    tables: Tables
    labels: Mapping[str, str]
    policy: Policy
    as_of: date
    #: ``(role, spreadsheet row, column)`` of every cell that failed its own column check.
    failed: frozenset[tuple[str, int, str]] = frozenset()

    def table(self, role: str) -> pd.DataFrame:
        frame = self.tables[role]
        assert frame is not None
        return frame

    def unread(self, role: str, column: str) -> np.ndarray:
        """Which rows' ``column`` cell failed its column check (and so holds no value)."""
        index = self.table(role).index
        rows = {row - 2 for (r, row, c) in self.failed if r == role and c == column}
        return index.isin(list(rows)) if rows else np.zeros(len(index), dtype=bool)

    def issue(self, role: str, index: int | None, column: str | None, message: str, rule: str,
              severity: str = "error") -> Issue:
        row = None if index is None else int(index) + 2
        return Issue(self.labels.get(role, role), row, column, message, rule,
                     severity)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CrossCheck:
    code: str
    needs: tuple[str, ...]
    check: Callable[[Context], list[Issue]]

    def run(self, tables: Tables, labels: Mapping[str, str], policy: Policy, as_of: date,
            failed: frozenset[tuple[str, int, str]] = frozenset()) -> list[Issue]:
        if any(tables.get(role) is None for role in self.needs):
            return []
        return self.check(Context(tables, labels, policy, as_of, failed))


CROSS_CHECKS: list[CrossCheck] = []


def cross_check(code: str, *needs: str) -> Callable[[Callable[[Context], list[Issue]]],
                                                    Callable[[Context], list[Issue]]]:
    def register(func: Callable[[Context], list[Issue]]) -> Callable[[Context], list[Issue]]:
        CROSS_CHECKS.append(CrossCheck(code, needs, func))
        return func
    return register


def _duplicates(ctx: Context, role: str, column: str, code: str) -> list[Issue]:
    ids = ctx.table(role)[column]
    known = ids.notna()
    repeated = ids.duplicated(keep="first") & known
    if not repeated.any():
        return []
    first = ids[known & ~ids.duplicated(keep="first")]
    first_row = pd.Series(first.index.to_numpy(), index=first.to_numpy())
    return [ctx.issue(role, index, column, f"duplicate {column}: the same id is on row "
                                           f"{int(first_row[ids[index]]) + 2}", code)
            for index in ids.index[repeated.to_numpy()]]


@cross_check("duplicate_child_id", "referrals")
def _duplicate_children(ctx: Context) -> list[Issue]:
    return _duplicates(ctx, "referrals", "child_id", "duplicate_child_id")


@cross_check("duplicate_unit_id", "units")
def _duplicate_units(ctx: Context) -> list[Issue]:
    return _duplicates(ctx, "units", "unit_id", "duplicate_unit_id")


@cross_check("reserved_unit_id", "units")
def _reserved_units(ctx: Context) -> list[Issue]:
    """``allocation.csv``'s ``option`` is a unit id, ``fallback:<route>:<setting>`` or
    ``unplaced``: a unit named like the other two made its rows mean two things (found in
    review: a child placed in a unit called ``unplaced`` was counted unplaced, its spend
    left out of the totals). Case is ignored, as a spreadsheet's lookups ignore it."""
    ids = ctx.table("units")["unit_id"]
    folded = ids.astype("string").str.strip().str.casefold()
    reserved = ((folded == "unplaced") | folded.str.startswith("fallback:")).fillna(False)
    return [ctx.issue("units", index, "unit_id", "'unplaced' and ids starting 'fallback:' "
                      "name the other options in allocation.csv: give this unit another id",
                      "reserved_unit_id")
            for index in ids.index[reserved.to_numpy(dtype=bool)]]


@cross_check("impossible_age", "referrals")
def _ages(ctx: Context) -> list[Issue]:
    referrals = ctx.table("referrals")
    dob = referrals["date_of_birth"]
    ages = age_years(dob, ctx.as_of)
    known = dob.notna().to_numpy()
    issues = []
    future = known & (dob.to_numpy() > np.datetime64(ctx.as_of))
    for index in referrals.index[future]:
        issues.append(ctx.issue("referrals", index, "date_of_birth",
                                "date of birth is after --as-of", "impossible_age"))
    too_old = known & (ages > 25)
    for index in referrals.index[too_old]:
        issues.append(ctx.issue("referrals", index, "date_of_birth",
                                "date of birth makes the child over 25 at --as-of",
                                "impossible_age"))
    adult = known & (ages >= 18) & (ages <= 25)
    for index in referrals.index[adult]:
        issues.append(ctx.issue("referrals", index, "date_of_birth",
                                "aged 18 or over at --as-of: only units whose age_max allows "
                                "it (or a fallback) can take this referral", "adult",
                                "warning"))
    referred = referrals["referral_date"]
    early = known & referred.notna().to_numpy() & (referred.to_numpy() < dob.to_numpy())
    for index in referrals.index[early]:
        issues.append(ctx.issue("referrals", index, "referral_date",
                                "referral date is before the date of birth", "impossible_date"))
    return issues


@cross_check("under_16_supported", "referrals")
def _under_16_supported(ctx: Context) -> list[Issue]:
    referrals = ctx.table("referrals")
    ages = age_years(referrals["date_of_birth"], ctx.as_of)
    supported = referrals["settings"].str.contains("supported", regex=False).to_numpy()
    flagged = supported & (ages >= 0) & (ages < 16)
    return [ctx.issue("referrals", index, "settings",
                      "'supported' is never allowed for a child under 16 (2021 ban on "
                      "unregulated settings); only the other settings will be considered",
                      "under_16_supported", "warning")
            for index in referrals.index[flagged]]


@cross_check("distance_window", "referrals")
def _distance_window(ctx: Context) -> list[Issue]:
    referrals = ctx.table("referrals")
    cap = referrals["max_distance_miles"].to_numpy(dtype=float)
    floor = referrals["min_distance_miles"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        empty = np.isfinite(cap) & (cap < floor)
    empty &= ~(ctx.unread("referrals", "max_distance_miles")
               | ctx.unread("referrals", "min_distance_miles"))
    # A warning, not an error: the contract's fallbacks are not checked against a child's
    # caps, so such a child can still be placed (or left unplaced: a result, not an error).
    return [ctx.issue("referrals", index, "max_distance_miles",
                      "max_distance_miles is below min_distance_miles: no unit can qualify, "
                      "only a fallback", "distance_window", "warning")
            for index in referrals.index[empty]]


@cross_check("school_location", "referrals")
def _school_location(ctx: Context) -> list[Issue]:
    referrals = ctx.table("referrals")
    # A cell that failed its own check is not blank: it was reported there.
    lat = referrals["school_lat"].notna().to_numpy() | ctx.unread("referrals", "school_lat")
    lon = referrals["school_lon"].notna().to_numpy() | ctx.unread("referrals", "school_lon")
    issues = [ctx.issue("referrals", index, "school_lon",
                        "school_lat is given but school_lon is blank", "school_location")
              for index in referrals.index[lat & ~lon]]
    issues += [ctx.issue("referrals", index, "school_lat",
                         "school_lon is given but school_lat is blank", "school_location")
               for index in referrals.index[lon & ~lat]]
    return issues


@cross_check("sibling_groups", "referrals")
def _sibling_groups(ctx: Context) -> list[Issue]:
    """Groups of one, ``keep_together`` without a group, kept groups sharing no setting.

    A group is kept together when any member's ``keep_together`` is true or blank (blank
    defaults to true in a group). Vectorised per setting, so 100,000 children take no loop.
    """
    referrals = ctx.table("referrals")
    groups = referrals["sibling_group"]
    in_group = groups.notna().to_numpy()
    sizes = groups.map(groups.value_counts()).to_numpy(dtype=float, na_value=0)
    issues = [ctx.issue("referrals", index, "sibling_group",
                        "the only child in this sibling group", "sibling_groups", "warning")
              for index in referrals.index[in_group & (sizes == 1)]]
    keep = referrals["keep_together"]
    stray = keep.fillna(False).astype(bool).to_numpy() & ~in_group
    issues += [ctx.issue("referrals", index, "keep_together",
                         "keep_together has no effect without a sibling_group",
                         "sibling_groups", "warning") for index in referrals.index[stray]]
    members = referrals.loc[in_group & (sizes > 1), ["sibling_group", "settings"]]
    if members.empty:
        return issues
    kept = keep.loc[members.index]
    by_group = pd.DataFrame({
        "group": members["sibling_group"].to_numpy(dtype=object),
        "kept": (kept.isna() | kept.fillna(False).astype(bool)).to_numpy(dtype=bool),
        # A member whose settings failed their own check is reported there, not here.
        "unread": (members["settings"] == "").to_numpy(dtype=bool),
        "row": members.index.to_numpy(),
    })
    wrapped = ";" + members["settings"].astype(str) + ";"
    shared = []
    for setting in Setting.values():
        by_group[setting] = wrapped.str.contains(f";{setting};", regex=False).to_numpy()
        shared.append(setting)
    summary = by_group.groupby("group", sort=True).agg(
        kept=("kept", "any"), unread=("unread", "any"), row=("row", "min"),
        **{setting: (setting, "all") for setting in shared})
    apart = summary["kept"] & ~summary["unread"] & ~summary[shared].any(axis=1)
    for name, row in summary.loc[apart, "row"].items():
        issues.append(ctx.issue("referrals", row, "settings",
                                f"sibling group {name!r} is kept together but its members "
                                "share no setting, so it can only be left unplaced",
                                "sibling_groups", "warning"))
    return issues


@cross_check("unit_ages", "units")
def _unit_ages(ctx: Context) -> list[Issue]:
    units = ctx.table("units")
    low = units["age_min"].to_numpy(dtype=float)
    high = units["age_max"].to_numpy(dtype=float)
    read = ~(ctx.unread("units", "age_min") | ctx.unread("units", "age_max"))
    return [ctx.issue("units", index, "age_min", "age_min is above age_max", "unit_ages")
            for index in units.index[(low > high) & read]]


@cross_check("provider_names", "units")
def _provider_names(ctx: Context) -> list[Issue]:
    units = ctx.table("units")
    names = units.groupby("provider_id", sort=True)["provider_name"].nunique()
    issues = []
    for provider in names.index[names.to_numpy() > 1]:
        index = units.index[(units["provider_id"] == provider).to_numpy()][0]
        issues.append(ctx.issue("units", index, "provider_name",
                                f"provider {provider!r} has more than one provider_name",
                                "provider_names", "warning"))
    return issues


def _unknown_ids(ctx: Context, role: str, column: str, known: pd.Series, what: str) -> list[Issue]:
    ids = ctx.table(role)[column]
    unknown = ids.notna() & ~ids.isin(known.dropna().to_numpy(dtype=object))
    return [ctx.issue(role, index, column, f"no {what} has this id", f"unknown_{what}")
            for index in ids.index[unknown.to_numpy()]]


@cross_check("offer_ids", "offers", "referrals", "units")
def _offer_ids(ctx: Context) -> list[Issue]:
    offers = ctx.table("offers")
    issues = _unknown_ids(ctx, "offers", "child_id", ctx.table("referrals")["child_id"], "referral")
    issues += _unknown_ids(ctx, "offers", "unit_id", ctx.table("units")["unit_id"], "unit")
    pairs = offers[["child_id", "unit_id"]]
    repeated = pairs.duplicated(keep="first") & pairs.notna().all(axis=1)
    issues += [ctx.issue("offers", index, "unit_id",
                         "a second offer for the same child and unit", "duplicate_offer")
               for index in offers.index[repeated.to_numpy()]]
    return issues


@cross_check("conflict_ids", "conflicts", "referrals")
def _conflict_ids(ctx: Context) -> list[Issue]:
    conflicts = ctx.table("conflicts")
    known = ctx.table("referrals")["child_id"]
    issues = _unknown_ids(ctx, "conflicts", "child_a", known, "referral")
    issues += _unknown_ids(ctx, "conflicts", "child_b", known, "referral")
    # Blank ids were reported by their column check; ``""`` keeps the comparisons text-only.
    child_a = conflicts["child_a"].fillna("").to_numpy(dtype=object).astype(str)
    child_b = conflicts["child_b"].fillna("").to_numpy(dtype=object).astype(str)
    known = (child_a != "") & (child_b != "")
    same = known & (child_a == child_b)
    issues += [ctx.issue("conflicts", index, "child_b", "a child cannot conflict with itself",
                         "self_conflict") for index in conflicts.index[same]]
    first = child_a <= child_b
    pairs = pd.DataFrame({"a": np.where(first, child_a, child_b),
                          "b": np.where(first, child_b, child_a)})
    repeated = pairs.duplicated(keep="first").to_numpy() & known
    issues += [ctx.issue("conflicts", index, "child_b", "this pair is already listed",
                         "duplicate_conflict", "warning")
               for index in conflicts.index[repeated & ~same]]
    return issues


@cross_check("unknown_authorities", "referrals", "units")
def _avoided_authorities(ctx: Context) -> list[Issue]:
    """An avoided authority no unit is in may be a misspelling that protects nobody."""
    known = {str(a).casefold() for a in ctx.table("units")["local_authority"].dropna()}
    known |= {a.casefold() for a in (ctx.policy.home_authority, *ctx.policy.adjoining_authorities)}
    items = list_items(ctx.table("referrals")["avoid_authorities"])
    unknown = items[~items.str.casefold().isin(known)]
    return [ctx.issue("referrals", index, "avoid_authorities",
                      "an avoided authority matches no unit's local_authority: check the "
                      "spelling", "unknown_authority", "warning")
            for index in unknown.index.unique()]
