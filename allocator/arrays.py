"""Validated tables turned into flat numpy arrays: the form every later step computes with.

Codes become small integers and code lists become bit masks, so that a rule such as "every
need within the unit's needs_supported" is one vectorised ``&`` over children x units. Nothing
here decides anything; it only fixes the encoding, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from allocator.ages import age_years, birthday
from allocator.columns import list_items
from allocator.validate import Inputs
from models.codes import STAFF_USE, NeedCode, OfstedRating, Route, Setting
from models.limits import ADULT_WITHIN_WEEKS

SETTINGS = Setting.values()
ROUTES = Route.values()
RATINGS = OfstedRating.values()
NEED_BIT = {code: 1 << i for i, code in enumerate(NeedCode.values())}
SETTING_BIT = {code: 1 << i for i, code in enumerate(SETTINGS)}
SUPPORTED = SETTINGS.index("supported")


def mask_of(column: pd.Series, bits: dict[str, int], dtype: type = np.int64) -> np.ndarray:
    """OR together the bit of every item of a validated ``;``-list column."""
    items = list_items(column)
    out = np.zeros(len(column), dtype=dtype)
    if len(items):
        position = column.index.get_indexer(items.index)
        np.bitwise_or.at(out, position, items.map(bits).to_numpy(dtype=dtype))
    return out


def code_index(column: pd.Series, codes: list[str]) -> np.ndarray:
    return column.map({c: i for i, c in enumerate(codes)}).to_numpy(dtype=np.int64)


def authority_key(names: pd.Series | list[str]) -> np.ndarray:
    """Authority names compared as people write them: case and spacing do not matter."""
    series = pd.Series(list(names), dtype=object) if isinstance(names, list) else names
    return series.astype(str).str.strip().str.casefold().str.replace(r"\s+", " ",
                                                                       regex=True).to_numpy()


def authority_vocabulary(inputs: Inputs) -> np.ndarray:
    """Every authority named by a unit or an avoid list, sorted: the codes' meaning."""
    names = [authority_key(inputs.units["local_authority"]),
             authority_key(list_items(inputs.referrals["avoid_authorities"]).reset_index(
                 drop=True))]
    return np.unique(np.concatenate(names).astype(str))


def days_from(column: pd.Series, as_of: date, default: int) -> np.ndarray:
    """Whole days from ``as_of`` to each date; ``default`` where the cell was blank."""
    # Dates other than birth dates are held in seconds, any year 1-9999 (a unit available
    # from 9999-12-31 is never available, whatever the window): counted in days, which
    # hold them all. Not via nanoseconds, whose 292 years overflowed.
    day = pd.to_datetime(column).to_numpy().astype("datetime64[s]").astype("datetime64[D]")
    days = (day - np.datetime64(as_of, "D")).astype(np.int64)
    days[np.isnat(day)] = default
    return days


@dataclass(frozen=True)
class Children:
    """One entry per referral, in the referrals file's order."""

    ids: np.ndarray
    age: np.ndarray
    female: np.ndarray
    settings: np.ndarray
    needs: np.ndarray
    staff: np.ndarray
    staffing: np.ndarray
    therapy: np.ndarray
    home: np.ndarray  # (n, 3) unit vectors on the sphere
    school: np.ndarray  # (n, 3) unit vectors, NaN when unknown
    ks4: np.ndarray
    emergency: np.ndarray
    cap_miles: np.ndarray  # inf when no cap
    floor_miles: np.ndarray
    avoid_child: np.ndarray  # pairs (child, authority) of avoided authorities
    avoid_key: np.ndarray
    avoid_code: np.ndarray  # the authority as a code shared with Units.authority_code
    group: np.ndarray  # sibling group number, -1 for none
    group_names: np.ndarray
    keep_group: np.ndarray  # per group: kept together
    referral_day: np.ndarray
    asc: np.ndarray  # needs executive_director_asc approval when placed

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Units:
    """One entry per unit, in the units file's order."""

    ids: np.ndarray
    provider: np.ndarray
    setting: np.ndarray
    route: np.ndarray
    ownership: np.ndarray
    authority: np.ndarray  # authority keys
    authority_code: np.ndarray
    in_home: np.ndarray
    at_distance: np.ndarray
    location: np.ndarray  # (m, 3) unit vectors on the sphere
    rating: np.ndarray
    age_min: np.ndarray
    age_max: np.ndarray
    sexes: np.ndarray  # 0 M, 1 F, 2 any
    needs: np.ndarray
    vacancies: np.ndarray
    staff_capacity: np.ndarray
    emergency: np.ndarray
    available_day: np.ndarray
    admitted_day: np.ndarray
    price: np.ndarray
    addon: np.ndarray  # (m, 4) add-on by staffing level, column 0 is zero
    therapeutic: np.ndarray
    max_new: np.ndarray  # -1 for no limit

    @property
    def m(self) -> int:
        return len(self.ids)


def children_arrays(inputs: Inputs) -> Children:
    ref = inputs.referrals
    policy = inputs.policy
    ages = age_years(ref["date_of_birth"], inputs.as_of)
    weeks = ref["expected_weeks"].fillna(policy.horizon_weeks).to_numpy(dtype=np.int64)
    weeks = np.minimum(weeks, ADULT_WITHIN_WEEKS)  # no answer changes; dates stay in range
    end = np.datetime64(inputs.as_of) + (weeks * 7).astype("timedelta64[D]")
    adult = birthday(ref["date_of_birth"], 18) <= end.astype("datetime64[ns]")
    cap = ref["max_distance_miles"].to_numpy(dtype=float)
    default_cap = policy.rules.max_distance_miles
    cap = np.where(np.isnan(cap), np.inf if default_cap is None else default_cap, cap)
    avoided = list_items(ref["avoid_authorities"])
    avoid_key = authority_key(avoided.reset_index(drop=True))
    vocabulary = authority_vocabulary(inputs)
    group_codes, group_names = pd.factorize(ref["sibling_group"], sort=True)
    keep = np.zeros(len(group_names), dtype=bool)
    in_group = group_codes >= 0
    np.logical_or.at(keep, group_codes[in_group], ref["keep_together"].to_numpy(bool)[in_group])
    school = to_xyz(ref[["school_lat", "school_lon"]].to_numpy(dtype=float))
    return Children(
        ids=ref["child_id"].to_numpy(dtype=object),
        age=ages,
        female=(ref["sex"] == "F").to_numpy(),
        settings=mask_of(ref["settings"], SETTING_BIT),
        needs=mask_of(ref["needs"], NEED_BIT),
        staff=ref["staffing"].map(STAFF_USE).to_numpy(dtype=np.int64),
        staffing=ref["staffing"].to_numpy(dtype=object),
        therapy=ref["therapy_need"].to_numpy(dtype=bool),
        home=to_xyz(ref[["home_lat", "home_lon"]].to_numpy(dtype=float)),
        school=school,
        ks4=ref["key_stage_4"].to_numpy(dtype=bool),
        emergency=(ref["urgency"] == "emergency").to_numpy(),
        cap_miles=cap,
        floor_miles=ref["min_distance_miles"].fillna(0).to_numpy(dtype=float),
        avoid_child=ref.index.get_indexer(avoided.index).astype(np.int64),
        avoid_key=avoid_key,
        avoid_code=np.searchsorted(vocabulary, avoid_key).astype(np.int64),
        group=group_codes.astype(np.int64),
        group_names=np.asarray(group_names, dtype=object),
        keep_group=keep,
        referral_day=days_from(ref["referral_date"], inputs.as_of, 0),
        asc=(ages >= 17) | adult,
    )


def units_arrays(inputs: Inputs) -> Units:
    units = inputs.units
    policy = inputs.policy
    authority = authority_key(units["local_authority"])
    home = authority_key([policy.home_authority])[0]
    adjoining = set(authority_key(list(policy.adjoining_authorities)))
    in_home = authority == home
    near = np.isin(authority, list(adjoining | {home}))
    addon_default = policy.default_staffing_addon
    addon = np.zeros((len(units), 4))
    for level, column in ((1, "price_1to1"), (2, "price_2to1"), (3, "price_3to1")):
        fallback = addon_default.for_level(["standard", "1:1", "2:1", "3:1"][level])
        addon[:, level] = units[column].fillna(fallback).to_numpy(dtype=float)
    sexes = units["sexes"].map({"M": 0, "F": 1, "any": 2}).to_numpy(dtype=np.int64)
    return Units(
        ids=units["unit_id"].to_numpy(dtype=object),
        provider=units["provider_id"].to_numpy(dtype=object),
        setting=code_index(units["setting"], SETTINGS),
        route=code_index(units["route"], ROUTES),
        ownership=units["ownership"].to_numpy(dtype=object),
        authority=authority,
        authority_code=np.searchsorted(authority_vocabulary(inputs), authority).astype(np.int64),
        in_home=in_home,
        at_distance=~near,
        location=to_xyz(units[["lat", "lon"]].to_numpy(dtype=float)),
        rating=code_index(units["ofsted_rating"], RATINGS),
        age_min=units["age_min"].to_numpy(dtype=np.int64),
        age_max=units["age_max"].to_numpy(dtype=np.int64),
        sexes=sexes,
        needs=mask_of(units["needs_supported"], NEED_BIT),
        vacancies=units["vacancies"].to_numpy(dtype=np.int64),
        staff_capacity=units["staff_capacity"].to_numpy(dtype=np.int64),
        emergency=units["accepts_emergency"].to_numpy(dtype=bool),
        available_day=days_from(units["available_from"], inputs.as_of, 0),
        admitted_day=days_from(units["admitted_date"], inputs.as_of, 0),
        price=units["weekly_price"].to_numpy(dtype=float),
        addon=addon,
        therapeutic=units["therapeutic"].to_numpy(dtype=bool),
        max_new=units["max_new_admissions"].fillna(-1).to_numpy(dtype=np.int64),
    )


EARTH_RADIUS_MILES = 3958.8


def to_xyz(degrees: np.ndarray) -> np.ndarray:
    """(lat, lon) in degrees to unit vectors; NaN rows stay NaN."""
    lat, lon = np.radians(degrees[:, 0]), np.radians(degrees[:, 1])
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)


def miles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle miles between unit vectors (row-wise, broadcasting).

    This is the contract's haversine, ``2R asin(sqrt(h))``, with ``h`` computed from the
    chord between the points, ``h = (|a - b| / 2)^2``, which is the same quantity
    (identically) for a fraction of the trigonometry: it runs on tens of millions of pairs.
    """
    chord = np.sqrt(((a - b) ** 2).sum(axis=-1))
    return 2 * EARTH_RADIUS_MILES * np.arcsin(np.clip(chord / 2, 0.0, 1.0))
