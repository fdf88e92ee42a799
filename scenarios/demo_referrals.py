"""The synthetic demand side: children referred by Sefton, and pairs who must not share a unit.

Children come in families: most alone, about one in ten with one or two brothers or sisters
who share a home location, an urgency and a referral date, close in age, with a sibling group
code. Every column of the contract's ``referrals`` table (section 1) is filled the way a
council's extract would fill it; no names, only pseudonymous ids.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from allocator.ages import age_years
from models.codes import NeedCode
from models.records import Conflict, Referral
from scenarios import calibration as cal
from scenarios.geography import draw_towns, jitter, town_weights
from scenarios.sampling import (
    by_band,
    categorical,
    contains,
    ids,
    index_of,
    iso_dates,
    join_flags,
    lookup,
    row_categorical,
)

NEED_CODES: tuple[str, ...] = tuple(NeedCode.values())
PROFILES: tuple[str, ...] = ("foster", "residential", "supported", "parent_child")
STAFFING_LEVELS: tuple[str, ...] = ("standard", "1:1", "2:1", "3:1")


def generate_referrals(rng: np.random.Generator, count: int, as_of: date) -> pd.DataFrame:
    """``count`` referrals valid at ``as_of``: every contract column, in contract order."""
    family, leader = _families(rng, count)
    grouped = np.bincount(family)[family] > 1
    dob_days, age = _birth_dates(rng, family, leader, as_of)
    plan = _setting_plans(rng, age, family, grouped)
    profile = _profile(plan)
    uasc = (rng.random(count) < lookup(cal.NEED_RATES["UASC"], profile)) & (
        age >= cal.NEED_MIN_AGE["UASC"]) & ~grouped
    male = rng.random(count) < np.where(uasc, cal.MALE_SHARE["UASC"],
                                        lookup(cal.MALE_SHARE, profile))
    sex = np.where(male, "M", "F").astype(object)
    needs, flags = _needs(rng, profile, age, sex, uasc, plan)

    towns = draw_towns(rng, town_weights(cal.HOME_AUTHORITIES, cal.HOME_TOWNS), count)
    home_lat, home_lon = jitter(rng, towns, sd_miles=0.6, max_miles=1.5)
    home_lat, home_lon = np.round(home_lat[leader], 2), np.round(home_lon[leader], 2)
    school_lat, school_lon = _schools(rng, age, uasc, home_lat, home_lon)
    emergency = (rng.random(count) < cal.EMERGENCY_SHARE)[leader]
    urgency = np.where(emergency, "emergency", "planned").astype(object)
    referral_days = -np.where(emergency, rng.integers(0, cal.REFERRAL_DAYS["emergency"] + 1,
                                                      count),
                              rng.integers(0, cal.REFERRAL_DAYS["planned"] + 1, count))[leader]
    referral_days = np.maximum(referral_days, dob_days)
    group_number = np.cumsum(grouped & (np.arange(count) == leader)) * grouped
    sibling_group = np.where(grouped, np.char.add("G", np.char.zfill(
        group_number.astype(str), 4)).astype(object), None)
    keep = (rng.random(count) < cal.KEEP_TOGETHER)[leader]
    exploited = flags[:, NEED_CODES.index("CSE")] | flags[:, NEED_CODES.index("CCE")]
    max_miles, min_miles = _distance_window(rng, exploited)
    staffing = np.array(STAFFING_LEVELS, dtype=object)[row_categorical(
        rng, np.array([cal.STAFFING[p] for p in PROFILES])[_profile_index(profile)])]
    weeks = np.where(emergency, categorical(rng, cal.EXPECTED_WEEKS["emergency"], count),
                     categorical(rng, cal.EXPECTED_WEEKS["planned"], count))[leader]
    legal = np.where(uasc, "V2", by_band(rng, age, cal.LEGAL_STATUS)).astype(object)
    category = np.where(uasc, "N8", categorical(rng, cal.CATEGORY_OF_NEED, count)[leader])

    frame = pd.DataFrame({
        "child_id": ids("C", count, 6),
        "date_of_birth": iso_dates(as_of, dob_days),
        "sex": sex,
        "settings": plan,
        "needs": needs,
        "staffing": staffing,
        "therapy_need": rng.random(count) < lookup(cal.THERAPY_NEED, profile),
        "home_lat": home_lat,
        "home_lon": home_lon,
        "school_lat": school_lat,
        "school_lon": school_lon,
        "key_stage_4": _key_stage_4(dob_days, as_of),
        "urgency": urgency,
        "referral_date": iso_dates(as_of, referral_days),
        "sibling_group": sibling_group,
        "keep_together": np.where(grouped, keep, None).astype(object),
        "max_distance_miles": max_miles,
        "min_distance_miles": min_miles,
        "avoid_authorities": _avoided(rng, exploited),
        "expected_weeks": weeks.astype(np.int64),
        "legal_status": legal,
        "category_of_need": category.astype(object),
    })
    return frame[list(Referral.model_fields)]


def generate_conflicts(rng: np.random.Generator, referrals: pd.DataFrame,
                       as_of: date) -> pd.DataFrame:
    """Pairs of children aged ten or over, never from one sibling group, listed once each."""
    wanted = round(cal.CONFLICTS_PER_CHILD * len(referrals))
    ages = age_years(pd.to_datetime(referrals["date_of_birth"]), as_of)
    older = np.flatnonzero(ages >= 10)
    columns = list(Conflict.model_fields)
    if wanted == 0 or len(older) < 2:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    a = rng.choice(older, size=4 * wanted)
    b = rng.choice(older, size=4 * wanted)
    family = referrals["sibling_group"].fillna(referrals["child_id"]).to_numpy(dtype=object)
    ok = (a != b) & (family[a] != family[b])
    low, high = np.minimum(a, b)[ok], np.maximum(a, b)[ok]
    pairs = pd.DataFrame({"a": low, "b": high}).drop_duplicates().head(wanted)
    child = referrals["child_id"].to_numpy(dtype=object)
    reasons = categorical(rng, dict.fromkeys(cal.CONFLICT_REASONS, 1.0), len(pairs))
    return pd.DataFrame({"child_a": child[pairs["a"].to_numpy()],
                         "child_b": child[pairs["b"].to_numpy()],
                         "reason": reasons})[columns]


def _families(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Each child's family number and the row of its first member (the family's leader).

    Family sizes are drawn so that about :data:`~scenarios.calibration.SIBLING_SHARE` of
    children are in groups; the last family is cut short if the children run out.
    """
    sizes = np.array(list(cal.SIBLING_GROUP_SIZES))
    shares = np.array(list(cal.SIBLING_GROUP_SIZES.values()))
    mean_group = float(sizes @ shares)
    groups = cal.SIBLING_SHARE / (mean_group * (1 - cal.SIBLING_SHARE) + cal.SIBLING_SHARE)
    draw = np.where(rng.random(count) < groups, rng.choice(sizes, size=count, p=shares), 1)
    family = np.repeat(np.arange(count), draw)[:count]
    first = np.flatnonzero(np.r_[True, family[1:] != family[:-1]])
    return family, first[family]


def _birth_dates(rng: np.random.Generator, family: np.ndarray, leader: np.ndarray,
                 as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """Dates of birth (days after ``as_of``, so negative) and the ages they give at ``as_of``.

    Brothers and sisters are one to four years apart. The oldest possible birth date keeps
    every child under 18 at ``as_of``.
    """
    count = len(family)
    bands = list(cal.AGE_BANDS)
    band = rng.choice(len(bands), size=count, p=np.array(list(cal.AGE_BANDS.values())))
    low = np.array([b[0] for b in bands])[band]
    high = np.array([b[1] for b in bands])[band]
    age = rng.integers(low, high + 1)
    gap = rng.integers(1, 5, count) * np.where(rng.random(count) < 0.5, -1, 1)
    age = np.where(np.arange(count) == leader, age, np.clip(age[leader] + gap, 0, 17))
    days = np.floor((age + rng.random(count)) * 365.2425).astype(np.int64)
    eighteenth = as_of.replace(year=as_of.year - 18, day=min(as_of.day, 28)) \
        if (as_of.month, as_of.day) == (2, 29) else as_of.replace(year=as_of.year - 18)
    days = np.clip(days, 0, (as_of - eighteenth).days - 1)
    born = np.datetime64(as_of.isoformat(), "D") - days.astype("timedelta64[D]")
    return -days, age_years(born, as_of)


def _setting_plans(rng: np.random.Generator, age: np.ndarray, family: np.ndarray,
                   grouped: np.ndarray) -> np.ndarray:
    """The ``settings`` cell: what each child's care plan allows.

    Brothers and sisters are placed in foster care or children's homes, so a group's plan is
    the leader's foster and residential settings (foster when it had neither), which any
    member may use whatever their age.
    """
    plan = by_band(rng, age, cal.SETTING_PLANS)
    first = np.flatnonzero(np.r_[True, family[1:] != family[:-1]])
    leader_plan = plan[first[family]]
    shared = np.where(contains(leader_plan, "residential"),
                      np.where(contains(leader_plan, "foster"), "foster;residential",
                               "residential"), "foster").astype(object)
    return np.where(grouped, shared, plan).astype(object)


def _profile(plan: np.ndarray) -> np.ndarray:
    """The most intensive setting a plan allows, which sets the child's needs and staffing."""
    return np.select(
        [contains(plan, "residential"), contains(plan, "parent_child"),
         contains(plan, "supported")],
        ["residential", "parent_child", "supported"], "foster").astype(object)


def _profile_index(profile: np.ndarray) -> np.ndarray:
    return index_of(profile, PROFILES)


def _needs(rng: np.random.Generator, profile: np.ndarray, age: np.ndarray, sex: np.ndarray,
           uasc: np.ndarray, plan: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``needs`` cell, drawn need by need from the profile's rates, and the flags."""
    flags = np.zeros((len(profile), len(NEED_CODES)), dtype=bool)
    for j, code in enumerate(NEED_CODES):
        if code == "UASC":
            flags[:, j] = uasc
        elif code == "PC":
            flags[:, j] = contains(plan, "parent_child")
        else:
            rate = lookup(cal.NEED_RATES[code], profile)
            factor = cal.NEED_SEX_FACTOR.get(code)
            if factor is not None:
                rate = rate * np.where(sex == "M", factor["M"], factor["F"])
            flags[:, j] = (rng.random(len(profile)) < rate) & (age >= cal.NEED_MIN_AGE[code])
    return join_flags(flags, NEED_CODES), flags


def _schools(rng: np.random.Generator, age: np.ndarray, uasc: np.ndarray, home_lat: np.ndarray,
             home_lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A school (or college) near home for most children of school age; blank otherwise."""
    share = np.select([uasc, (age >= 4) & (age <= 15), age >= 16],
                      [cal.IN_SCHOOL["UASC"], cal.IN_SCHOOL["school_age"],
                       cal.IN_SCHOOL["post_16"]], 0.0)
    at_school = rng.random(len(age)) < share
    offset = np.clip(rng.normal(0.0, 1.0, (len(age), 2)), -3.0, 3.0) / 69.09
    lat = np.round(home_lat + offset[:, 0], 4)
    lon = np.round(home_lon + offset[:, 1] / np.cos(np.radians(home_lat)), 4)
    return np.where(at_school, lat, np.nan), np.where(at_school, lon, np.nan)


def _key_stage_4(dob_days: np.ndarray, as_of: date) -> np.ndarray:
    """Year 10 or 11: aged 14 or 15 on 31 August before the school year began."""
    start = as_of.year if as_of.month >= 9 else as_of.year - 1
    cutoff = date(start, 8, 31)
    born = np.datetime64(as_of.isoformat(), "D") + dob_days.astype("timedelta64[D]")
    return np.isin(age_years(born, cutoff), (14, 15))


def _distance_window(rng: np.random.Generator,
                     exploited: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Own caps for some children, and "place away" floors for some at risk of exploitation.

    A cap never falls below its floor (that would leave no unit at all), so a child with both
    gets a cap at least 15 miles beyond the floor.
    """
    count = len(exploited)
    cap = np.where(rng.random(count) < cal.OWN_MAX_DISTANCE,
                   categorical(rng, cal.MAX_DISTANCE_MILES, count), np.nan).astype(float)
    floor = np.where(exploited & (rng.random(count) < cal.PLACE_AWAY),
                     categorical(rng, cal.MIN_DISTANCE_MILES, count), np.nan).astype(float)
    cap = np.where(np.isfinite(floor) & np.isfinite(cap), np.maximum(cap, floor + 15), cap)
    return cap, floor


def _avoided(rng: np.random.Generator, exploited: np.ndarray) -> np.ndarray:
    share = np.where(exploited, cal.AVOID_WHEN_EXPLOITED, cal.AVOID_OTHERWISE)
    avoid = rng.random(len(exploited)) < share
    return np.where(avoid, categorical(rng, cal.AVOIDED_AUTHORITIES, len(exploited)),
                    "").astype(object)
