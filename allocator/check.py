"""Check any allocation against the data contract, without a solver.

This module is the contract's sections 6-8 written out once more, row by row in plain
Python, so that a domain expert can read every rule and the tests can use it as an oracle.
It deliberately imports nothing from the engine's eligibility, costs, model, solve, arrays
or explain steps: two independent readings of the contract that agree are evidence, one
reading checked against itself is not.

:func:`first_failing_rule` and :func:`option_cost` judge one child in one option;
:func:`check_allocation` judges a whole ``allocation.csv`` (as DataFrame, typed or text):
every child once, every hard rule, every shared limit, the sibling groups, the columns the
contract defines, and the objective recomputed from scratch.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.issues import InputError, Issue
from allocator.validate import Inputs
from models.codes import STAFF_USE
from models.policy import Fallback

Row = Mapping[str, Any]
Option = Row | Fallback | None  # a unit's row, a fallback, or None for unplaced

#: The hard rules for a child in a unit, in the order the first failing one is named.
RULES: tuple[str, ...] = (
    "no_offer", "setting", "ofsted", "admission", "vacancies", "admissions_limit", "under_16",
    "age", "sex", "needs", "emergency", "availability", "staffing", "distance_cap",
    "distance_floor", "avoided_authority",
)
EARTH_RADIUS_MILES = 3958.8
#: Caps and floors are inclusive; this absorbs the last bit of floating-point rounding in
#: the haversine, so a unit exactly at a cap (as the user computed it) stays allowed.
MILES_TOLERANCE = 1e-9
UNPLACED = "unplaced"
#: Contract columns of allocation.csv compared with this module's own reading of them.
CHECKED_COLUMNS = ("provider_id", "setting", "route", "place_code", "place_provider",
                   "weekly_cost", "objective_cost", "distance_miles", "in_borough", "approvals")


# ---------------------------------------------------------------------------- small readings

def blank(value: Any) -> bool:
    """No value: None, NaN, NaT, pd.NA or empty text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def items(cell: Any) -> set[str]:
    """The items of a ``;``-list cell."""
    return set() if blank(cell) else {s.strip() for s in str(cell).split(";") if s.strip()}


def authority(name: Any) -> str:
    """Authority names compared as people write them: case and spacing do not matter."""
    return " ".join(str(name).split()).casefold()


def day(value: Any) -> date | None:
    return None if blank(value) else pd.Timestamp(value).date()


def age_at(born: date, when: date) -> int:
    """Completed years on ``when`` (a birthday on ``when`` counts)."""
    return when.year - born.year - ((when.month, when.day) < (born.month, born.day))


def turns_18(born: date) -> date:
    """The 18th birthday; a 29 February birthday falls on 1 March in a common year."""
    try:
        return born.replace(year=born.year + 18)
    except ValueError:
        return date(born.year + 18, 3, 1)


def miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) miles, Earth radius 3958.8 miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))


def to_pence(pounds: Iterable[float]) -> int:
    """Sum pounds as the decimals people wrote, then round to whole pence half away from 0."""
    total = sum((Decimal(repr(float(p))) for p in pounds), Decimal(0))
    return int((total * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def home_miles(child: Row, unit: Row) -> float:
    return miles(child["home_lat"], child["home_lon"], unit["lat"], unit["lon"])


def school_move(child: Row, unit: Row, inputs: Inputs) -> bool:
    """A key stage 4 child placed more than ``school_move_miles`` from a known school."""
    if not child.get("key_stage_4") or blank(child.get("school_lat")) or blank(
            child.get("school_lon")):
        return False
    away = miles(child["school_lat"], child["school_lon"], unit["lat"], unit["lon"])
    return away > inputs.policy.rules.school_move_miles


def where(unit: Row, inputs: Inputs) -> tuple[bool, bool]:
    """(out of area, at a distance) for a unit's local authority."""
    policy = inputs.policy
    place = authority(unit["local_authority"])
    home = authority(policy.home_authority)
    near = {home} | {authority(a) for a in policy.adjoining_authorities}
    return place != home, place not in near


# ------------------------------------------------------------------------ one child, one option

def first_failing_rule(child: Row, unit: Row, offer: Row | None, inputs: Inputs) -> str | None:
    """The first hard rule (in :data:`RULES` order) that keeps ``child`` out of ``unit``.

    ``offer`` is the offer for this pair, or None. Shared limits (places taken by other
    children) are not judged here: only whether this one child could go at all.
    """
    rules = inputs.policy.rules
    age = age_at(day(child["date_of_birth"]), inputs.as_of)
    emergency = child.get("urgency") == "emergency"
    available = day(unit.get("available_from")) or inputs.as_of
    admitted = day(unit.get("admitted_date"))
    window = 0 if emergency else rules.planned_window_days
    banned = {r for r, rule in (("inadequate", rules.inadequate),
                                ("requires_improvement", rules.requires_improvement))
              if rule == "exclude"}
    distance = home_miles(child, unit)
    cap = child.get("max_distance_miles")
    cap = rules.max_distance_miles if blank(cap) else cap
    floor = 0.0 if blank(child.get("min_distance_miles")) else child["min_distance_miles"]
    use = 1 if offer is None or blank(offer.get("capacity_use")) else int(offer["capacity_use"])
    max_new = unit.get("max_new_admissions")
    checks = (
        ("no_offer", inputs.offers is not None and offer is None),
        ("setting", unit["setting"] not in items(child["settings"])),
        ("ofsted", unit["ofsted_rating"] in banned),
        ("admission", admitted is not None and admitted > inputs.as_of),
        ("vacancies", int(unit["vacancies"]) < use),
        ("admissions_limit", not blank(max_new) and int(max_new) == 0),
        ("under_16", unit["setting"] == "supported" and age < 16),
        ("age", not unit["age_min"] <= age <= unit["age_max"]),
        ("sex", unit["sexes"] != "any" and unit["sexes"] != child["sex"]),
        ("needs", not items(child.get("needs")) <= items(unit.get("needs_supported"))),
        ("emergency", emergency and not unit.get("accepts_emergency")),
        ("availability", available > inputs.as_of + timedelta(days=window)),
        ("staffing", int(unit.get("staff_capacity") or 0) < STAFF_USE[child["staffing"]]),
        ("distance_cap", cap is not None and distance > cap + MILES_TOLERANCE),
        ("distance_floor", distance < floor - MILES_TOLERANCE),
        ("avoided_authority", authority(unit["local_authority"])
         in {authority(a) for a in items(child.get("avoid_authorities"))}),
    )
    return next((name for name, fails in checks if fails), None)


def fallback_rule(child: Row, fallback: Fallback, inputs: Inputs) -> str | None:
    """Why a fallback cannot take ``child`` ("setting", "under_16"), or None if it can.

    A fallback is a whole purchasing system: needs, age, sex and distance are its problem.
    """
    if fallback.setting.value not in items(child["settings"]):
        return "setting"
    if fallback.setting.value == "supported" and age_at(day(child["date_of_birth"]),
                                                        inputs.as_of) < 16:
        return "under_16"
    return None


def price_paid(child: Row, option: Option, offer: Row | None, inputs: Inputs) -> float:
    """£ a week actually paid: the offer's all-in price, else the unit's price plus the
    staffing add-on and (for a therapy need in a non-therapeutic unit) the therapy add-on."""
    policy = inputs.policy
    if option is None:
        return 0.0
    if isinstance(option, Fallback):
        return float(option.weekly_price)
    if offer is not None:
        return float(offer["weekly_price"])
    staffing = child["staffing"]
    addon = 0.0
    if staffing != "standard":
        own = option.get({"1:1": "price_1to1", "2:1": "price_2to1", "3:1": "price_3to1"}[staffing])
        addon = policy.default_staffing_addon.for_level(staffing) if blank(own) else float(own)
    therapy = policy.therapy_addon if child.get("therapy_need") and not option.get(
        "therapeutic") else 0.0
    return float(option["weekly_price"]) + addon + therapy


def option_cost(child: Row, option: Option, offer: Row | None, inputs: Inputs) -> int:
    """The child's own objective term in pence for one option (contract section 7)."""
    w = inputs.policy.weights
    if option is None:
        return to_pence([w.unplaced])
    if isinstance(option, Fallback):
        return to_pence([option.weekly_price, getattr(w.route, option.route.value),
                         w.distance_per_mile * option.distance_miles, w.out_of_area,
                         w.at_distance])
    out_of_area, at_distance = where(option, inputs)
    terms = [price_paid(child, option, offer, inputs),
             w.distance_per_mile * home_miles(child, option),
             w.out_of_area if out_of_area else 0.0,
             w.at_distance if at_distance else 0.0,
             w.school_move_ks4 if school_move(child, option, inputs) else 0.0,
             getattr(w.quality, option["ofsted_rating"]),
             getattr(w.route, option["route"])]
    if offer is not None and not blank(offer.get("quality_score")):
        terms.append(w.offer_quality_point * (100.0 - float(offer["quality_score"])))
    return to_pence(terms)


def expected_approvals(child: Row, option: Option, inputs: Inputs) -> set[str]:
    """The approvals table of contract section 8 for one placement (none when unplaced).

    A fallback's location is unknown, so it is out of area and at a distance. Whether a
    key stage 4 child on a fallback moves school is unknown too; like the engine
    (``allocator.explain._approvals``) we list ``ks4_nominated_officer`` whenever the child
    has a school location, because the approval is cheaper to seek than to miss.
    """
    if option is None:
        return set()
    needed = set()
    if isinstance(option, Fallback):
        route, out_of_area, at_distance = option.route.value, True, True
        moves = bool(child.get("key_stage_4")) and not blank(child.get("school_lat"))
    else:
        route = option["route"]
        out_of_area, at_distance = where(option, inputs)
        moves = school_move(child, option, inputs)
    born = day(child["date_of_birth"])
    weeks = child.get("expected_weeks")
    weeks = inputs.policy.horizon_weeks if blank(weeks) else int(weeks)
    adult = age_at(born, inputs.as_of) >= 17 or turns_18(born) <= inputs.as_of + timedelta(
        weeks=weeks)
    for name, applies in (("executive_director_csc", route != "in_house"),
                          ("nominated_officer", out_of_area), ("dcs", at_distance),
                          ("ks4_nominated_officer", moves), ("executive_director_asc", adult)):
        if applies:
            needed.add(name)
    return needed


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


def check_allocation(table: pd.DataFrame, inputs: Inputs) -> CheckReport:
    """Verify an allocation table (one row per child) against every rule of the contract.

    ``table`` may be the engine's typed DataFrame or a CSV read as text. ``child_id`` and
    ``option`` are required; the other contract columns are compared where present.
    Violations of the columns are named ``column:<name>``.
    """
    for column in ("child_id", "option"):
        if column not in table.columns:
            raise InputError([Issue("allocation", 1, column, "required column is missing",
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
            found.append(Violation(cid, "unknown_child", "not in the referrals"))
        elif not market.known(label):
            found.append(Violation(cid, "unknown_option", f"no unit or fallback {label!r}"))
        elif cid not in assignment:
            assignment[cid] = label
            rule = market.rule(cid, label)
            if rule is not None:
                found.append(Violation(cid, rule, f"{label} breaks the {rule} rule"))
            for name, want in expected_row(cid, label, market).items():
                if name in row and not _agrees(name, row[name], want):
                    found.append(Violation(cid, f"column:{name}", f"{name} is "
                                           f"{_text(row[name])!r}, expected {_show(want)}"))
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
        "weekly_cost": round(price_paid(child, option, offer, inputs) * 100),
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
    if isinstance(want, set):
        return ";".join(sorted(want)) or "(none)"
    return f"{want / 100:.2f}" if isinstance(want, int) and not isinstance(want, bool) else (
        repr(want))


def _text(value: Any) -> str:
    """A cell as text, undoing the apostrophe written before formula-like text."""
    text = "" if blank(value) else str(value).strip()
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        text = text[1:]
    return text


def _number(value: Any) -> float | None:
    text = _text(value).replace("£", "").replace(",", "")
    return float(text) if text else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).casefold()
    return None if not text else text in ("true", "yes", "1", "y", "1.0")


def read_allocation(source: str | Path) -> pd.DataFrame:
    """Read an ``allocation.csv`` (or its ``.xlsx``/``.parquet`` twin) as text cells."""
    path = Path(source)
    if not path.is_file():
        raise InputError([Issue(str(source), None, None, "file not found", "file")])
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path).astype(object)
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False,
                                   engine="openpyxl")
            return sheets.get("allocation", next(iter(sheets.values())))
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError([Issue(str(source), None, None, f"cannot be read: {exc}",
                                "file")]) from None
