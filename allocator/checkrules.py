"""The contract's rules for one child in one option, read without the engine.

The first half of the independent checker (:mod:`allocator.check` is the second, which
judges a whole allocation): plain Python, row by row, so that a domain expert can read every
hard rule, the cost and the approvals of one child in one unit or fallback. Like the
checker, it imports nothing from the engine's eligibility, costs, model, solve, arrays or
explain steps: two independent readings of the contract that agree are evidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from allocator.validate import Inputs
from models.codes import STAFF_USE
from models.limits import ADULT_WITHIN_WEEKS
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
        # In days: a window of 10**12 days (a policy's "any date") overflowed a date.
        ("availability", (available - inputs.as_of).days > window),
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


def price_paid(child: Row, option: Option, offer: Row | None, inputs: Inputs) -> list[float]:
    """£ a week actually paid, as its parts: the offer's all-in price, else the unit's price,
    the staffing add-on and (for a therapy need in a non-therapeutic unit) the therapy
    add-on. Parts, so that ``to_pence`` sums them as the decimals written."""
    policy = inputs.policy
    if option is None:
        return [0.0]
    if isinstance(option, Fallback):
        return [float(option.weekly_price)]
    if offer is not None:
        return [float(offer["weekly_price"])]
    staffing = child["staffing"]
    addon = 0.0
    if staffing != "standard":
        own = option.get({"1:1": "price_1to1", "2:1": "price_2to1", "3:1": "price_3to1"}[staffing])
        addon = policy.default_staffing_addon.for_level(staffing) if blank(own) else float(own)
    therapy = policy.therapy_addon if child.get("therapy_need") and not option.get(
        "therapeutic") else 0.0
    return [float(option["weekly_price"]), addon, therapy]


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
    terms = [*price_paid(child, option, offer, inputs),
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
    weeks = min(weeks, ADULT_WITHIN_WEEKS)  # longer changes nothing; 10**7 overflowed date
    adult = age_at(born, inputs.as_of) >= 17 or turns_18(born) <= inputs.as_of + timedelta(
        weeks=weeks)
    for name, applies in (("executive_director_csc", route != "in_house"),
                          ("nominated_officer", out_of_area), ("dcs", at_distance),
                          ("ks4_nominated_officer", moves), ("executive_director_asc", adult)):
        if applies:
            needed.add(name)
    return needed
