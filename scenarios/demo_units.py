"""The synthetic supply side: children's homes, foster households, supported flats and family
centres across Sefton and the North West, owned by providers bought through routes.

One row per unit, with the contract's ``units`` columns (section 2). Provider-level facts
(route, ownership, PDPS lots and admission, an agency's Ofsted rating) are drawn once per
provider and shared by its units, because that is where they live in reality: a fostering
agency is inspected, not each of its households.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from models.codes import NeedCode
from models.records import Unit
from scenarios import calibration as cal
from scenarios.geography import TOWN_AUTHORITY, draw_towns, jitter, town_weights
from scenarios.sampling import (
    by_key,
    categorical,
    ids,
    index_of,
    iso_dates,
    join_flags,
    lookup,
    rounded_price,
)

SETTINGS: tuple[str, ...] = tuple(cal.UNIT_SETTINGS)
NEED_CODES: tuple[str, ...] = tuple(NeedCode.values())

_NAME_FIRST = (
    "Marram", "Sandpiper", "Kingfisher", "Redwood", "Hawthorn", "Larkspur", "Heron", "Willow",
    "Beacon", "Harbour", "Lighthouse", "Oakfield", "Brookside", "Meadowbank", "Fellside",
    "Estuary", "Coastal", "Tidewater", "Seabank", "Rivermead", "Elmwood", "Ashgrove",
    "Birchfield", "Greenacre", "Hollybank", "Larchwood", "Moorside", "Pinewood", "Rowan",
    "Stonecroft", "Thornfield", "Westbrook", "Sandstone", "Bluebell", "Foxglove", "Curlew",
    "Saltmarsh", "Juniper", "Cedar", "Dunlin",
)
_NAME_SECOND = ("", "House", "Lane", "Grove", "Way", "Bridge", "Point", "View", "Gate", "Park")
_NAME_KIND: dict[str, tuple[str, ...]] = {
    "foster": ("Fostering", "Foster Care", "Family Placements"),
    "residential": ("Care", "Children's Homes", "Residential Care"),
    "supported": ("Supported Living", "Housing", "Futures"),
    "parent_child": ("Family Centre", "Family Assessment", "Parent and Child Services"),
}


def generate_units(rng: np.random.Generator, count: int, as_of: date) -> pd.DataFrame:
    """``count`` units valid at ``as_of``: every contract column, in contract order."""
    setting = categorical(rng, cal.UNIT_SETTINGS, count)
    in_house = rng.random(count) < lookup(cal.IN_HOUSE, setting)
    providers, provider_of = _providers(rng, setting, in_house, as_of)
    unit_urns = _assign_urns(rng, providers, count)
    provider = providers.iloc[provider_of].reset_index(drop=True)

    towns = _unit_towns(rng, setting, in_house)
    lat, lon = jitter(rng, towns, sd_miles=0.8, max_miles=1.8)
    rating = by_key(rng, setting, cal.OFSTED)
    per_unit_rating = np.isin(setting, ("residential", "parent_child"))
    rating = np.where(per_unit_rating, rating, provider["ofsted_rating"].to_numpy())
    urn = np.where(per_unit_rating, unit_urns, provider["ofsted_urn"].to_numpy()).astype(object)
    age_min, age_max = _age_ranges(rng, setting)
    needs, areas = _needs_supported(rng, setting)
    vacancies = by_key(rng, setting, cal.VACANCIES).astype(np.int64)
    staff = by_key(rng, setting, cal.STAFF_CAPACITY)
    staff_capacity = pd.array(np.where(pd.isna(staff), 0, staff).astype(np.int64),
                              dtype="Int64")
    staff_capacity[setting == "foster"] = pd.NA
    accepts_emergency = rng.random(count) < lookup(cal.ACCEPTS_EMERGENCY, setting)
    therapeutic = rng.random(count) < lookup(cal.THERAPEUTIC, setting)
    route = provider["route"].to_numpy()
    price = _weekly_price(rng, setting, route, therapeutic, areas)
    addons = _staffing_prices(rng, np.asarray(staff_capacity.fillna(0), dtype=np.int64))

    frame = pd.DataFrame({
        "unit_id": ids("U", count, 5),
        "provider_id": provider["provider_id"].to_numpy(),
        "provider_name": provider["provider_name"].to_numpy(),
        "setting": setting,
        "route": route,
        "ownership": provider["ownership"].to_numpy(),
        "lots": provider["lots"].to_numpy(),
        "admitted_date": provider["admitted_date"].to_numpy(),
        "local_authority": TOWN_AUTHORITY[towns],
        "lat": np.round(lat, 4),
        "lon": np.round(lon, 4),
        "ofsted_urn": urn,
        "ofsted_rating": rating,
        "age_min": age_min,
        "age_max": age_max,
        "sexes": by_key(rng, setting, cal.SEXES),
        "needs_supported": needs,
        "vacancies": vacancies,
        "staff_capacity": staff_capacity,
        "accepts_emergency": accepts_emergency,
        "available_from": iso_dates(as_of, _available_days(rng, count)),
        "weekly_price": price,
        **addons,
        "therapeutic": therapeutic,
        "max_new_admissions": _max_new_admissions(rng, setting),
    })
    return frame[list(Unit.model_fields)]


def _setting_index(setting: np.ndarray) -> np.ndarray:
    return index_of(setting, SETTINGS)


def _providers(rng: np.random.Generator, setting: np.ndarray, in_house: np.ndarray,
               as_of: date) -> tuple[pd.DataFrame, np.ndarray]:
    """The provider table and each unit's row in it.

    The council owns every in-house unit (provider ``P0001``). Bought units go to providers of
    their setting with uneven sizes (a lognormal weight), as a few large groups and many small
    ones sell most places (CMA 2021-22).
    """
    provider_of = np.zeros(len(setting), dtype=np.int64)
    rows: list[dict[str, object]] = [{
        "setting": "in_house", "provider_name": cal.IN_HOUSE_PROVIDER, "route": "in_house",
        "ownership": "PR1", "lots": "", "admitted_date": None,
        "ofsted_rating": cal.IN_HOUSE_RATING, "ofsted_urn": None,
    }]
    for name in SETTINGS:
        bought = np.flatnonzero((setting == name) & ~in_house)
        wanted = max(1, int(np.ceil(len(bought) / cal.UNITS_PER_PROVIDER[name])))
        weight = rng.lognormal(0.0, 0.9, wanted)
        local = rng.choice(wanted, size=len(bought), p=weight / weight.sum())
        provider_of[bought] = len(rows) + local
        rows += _provider_rows(rng, name, wanted, as_of)
    table = pd.DataFrame(rows)
    used = np.unique(provider_of)
    renumber = np.full(len(table), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    table = table.iloc[used].reset_index(drop=True)
    table.insert(0, "provider_id", ids("P", len(table), 4))
    return table, renumber[provider_of]


def _provider_rows(rng: np.random.Generator, setting: str, count: int,
                   as_of: date) -> list[dict[str, object]]:
    """One dict per provider of one setting: a loop over providers, never over units."""
    route = categorical(rng, cal.ROUTES[setting], count)
    voluntary = rng.random(count) < cal.VOLUNTARY_PROVIDERS
    rating = categorical(rng, cal.OFSTED[setting], count)
    extras = rng.random((count, len(cal.LOT_EXTRA))) < np.array(list(cal.LOT_EXTRA.values()))
    low, high = cal.PDPS_ADMITTED_DAYS
    admitted = -rng.integers(low, high + 1, count)
    later = rng.random(count) < cal.PDPS_ADMITTED_LATER
    admitted = np.where(later, rng.integers(1, 61, count), admitted)
    low, high = cal.FRAMEWORK_ADMITTED_DAYS
    framework = -rng.integers(low, high + 1, count)
    pdps_dates = iso_dates(as_of, admitted)
    framework_dates = iso_dates(as_of, framework)
    names = _provider_names(rng, setting, count)
    rows = []
    for i in range(count):
        lots = ""
        admitted_date = None
        if route[i] == "pdps":
            chosen = [cal.LOT_MAIN[setting]] if setting in cal.LOT_MAIN else []
            chosen += [lot for lot, on in zip(cal.LOT_EXTRA, extras[i], strict=True) if on]
            lots = ";".join(chosen)
            admitted_date = pdps_dates[i]
        elif route[i] in ("lcr", "regional"):
            admitted_date = framework_dates[i]
        rows.append({
            "setting": setting, "provider_name": names[i], "route": route[i],
            "ownership": "PR5" if voluntary[i] else "PR4", "lots": lots,
            "admitted_date": admitted_date, "ofsted_rating": rating[i],
        })
    return rows


def _provider_names(rng: np.random.Generator, setting: str, count: int) -> list[str]:
    """Fictional names, unique within a setting (numbered once the word lists run out)."""
    kinds = _NAME_KIND[setting]
    combos = len(_NAME_FIRST) * len(_NAME_SECOND) * len(kinds)
    picks = rng.permutation(combos)[np.arange(count) % combos]
    names = []
    for n, pick in enumerate(picks):
        first, rest = divmod(int(pick), len(_NAME_SECOND) * len(kinds))
        second, kind = divmod(rest, len(kinds))
        words = [_NAME_FIRST[first], _NAME_SECOND[second], kinds[kind]]
        name = " ".join(w for w in words if w)
        names.append(name if n < combos else f"{name} {n // combos + 1}")
    return names


def _assign_urns(rng: np.random.Generator, providers: pd.DataFrame, units: int) -> np.ndarray:
    """Ofsted unique reference numbers (``SC`` and six digits), all distinct.

    Agencies (fostering, supported accommodation) get one on the provider table, which all
    their units share; every unit also gets its own, used where the unit itself is inspected.
    """
    agency = providers["setting"].isin(["foster", "supported"]).to_numpy()
    numbers = rng.choice(900_000, size=int(agency.sum()) + units, replace=False) + 100_000
    urns = np.char.add("SC", numbers.astype(str)).astype(object)
    provider_urns = np.full(len(providers), None, dtype=object)
    provider_urns[agency] = urns[:int(agency.sum())]
    providers["ofsted_urn"] = provider_urns
    return urns[int(agency.sum()):]


def _unit_towns(rng: np.random.Generator, setting: np.ndarray,
                in_house: np.ndarray) -> np.ndarray:
    towns = np.zeros(len(setting), dtype=np.int64)
    for name in SETTINGS:
        bought = draw_towns(rng, town_weights(cal.UNIT_AUTHORITIES[name]), len(setting))
        own = cal.IN_HOUSE_AUTHORITIES.get(name, cal.UNIT_AUTHORITIES[name])
        council = draw_towns(rng, town_weights(own), len(setting))
        mask = setting == name
        towns[mask] = np.where(in_house, council, bought)[mask]
    return towns


def _age_ranges(rng: np.random.Generator,
                setting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``age_min`` and ``age_max`` from each setting's statements of purpose."""
    age_min = np.zeros(len(setting), dtype=np.int64)
    age_max = np.full(len(setting), 17, dtype=np.int64)
    for name, ranges in cal.AGE_RANGES.items():
        bounds = np.array(list(ranges), dtype=np.int64)
        shares = np.array(list(ranges.values()))
        pick = rng.choice(len(bounds), size=len(setting), p=shares / shares.sum())
        mask = setting == name
        age_min[mask] = bounds[pick, 0][mask]
        age_max[mask] = bounds[pick, 1][mask]
    return age_min, age_max


def _needs_supported(rng: np.random.Generator,
                     setting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Need codes each unit supports, and how many need areas that is.

    A set share of units keeps exactly one need area and every other unit takes at least two
    (Ofsted 2023: four-fifths of homes accept two or more), so a child with several SEND
    needs finds fewer homes than a child with one.
    """
    rates = np.array([[cal.NEEDS_SUPPORTED[s].get(code, 0.0) for code in NEED_CODES]
                      for s in SETTINGS])
    index = _setting_index(setting)
    flags = rng.random((len(setting), len(NEED_CODES))) < rates[index]
    area_cols = np.array([NEED_CODES.index(code) for code in cal.NEED_AREAS])
    area_rates = rates[index][:, area_cols]
    # Weighted sampling without replacement (Efraimidis-Spirakis keys): the likeliest areas
    # for the setting come first, so a top-up or a single area is a typical one.
    keys = rng.random(area_rates.shape) ** (1.0 / np.maximum(area_rates, 1e-9))
    first_two = np.argsort(-keys, axis=1)[:, :2]
    rows = np.arange(len(setting))
    areas = flags[:, area_cols]
    single = rng.random(len(setting)) < lookup(cal.SINGLE_AREA_SHARE, setting)
    only = np.zeros_like(areas)
    only[rows, first_two[:, 0]] = True
    topped = areas.copy()
    topped[rows, first_two[:, 0]] = True
    topped[rows, first_two[:, 1]] = True
    short = areas.sum(axis=1) < 2
    areas = np.where(single[:, None], only, np.where(short[:, None], areas | topped, areas))
    flags[:, area_cols] = areas
    return join_flags(flags, NEED_CODES), areas.sum(axis=1)


def _weekly_price(rng: np.random.Generator, setting: np.ndarray, route: np.ndarray,
                  therapeutic: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Base weekly price: the setting's market price, marked up by route and specialism."""
    price = np.zeros(len(setting))
    for name in SETTINGS:
        median, spread, floor, ceiling, step = cal.PRICES[name]
        draw = np.clip(median * np.exp(rng.normal(0.0, spread, len(setting))), floor, ceiling)
        markup = lookup(cal.ROUTE_MARKUP, route, missing=1.0)
        value = draw * markup + therapeutic * cal.THERAPEUTIC_PREMIUM[name]
        if name == "residential":
            value += np.maximum(areas - 2, 0) * cal.NEED_AREA_PREMIUM
            value = np.where(route == "in_house", value * cal.IN_HOUSE_RESIDENTIAL_FACTOR, value)
        if name == "foster":
            low, high = cal.IN_HOUSE_FOSTER_PRICE
            value = np.where(route == "in_house", rng.uniform(low, high, len(setting)), value)
        mask = setting == name
        price[mask] = rounded_price(value, step)[mask]
    return price


def _staffing_prices(rng: np.random.Generator, staff: np.ndarray) -> dict[str, np.ndarray]:
    """Add-ons for units that price enhanced staffing themselves; the rest stay blank."""
    own = (staff >= 1) & (rng.random(len(staff)) < cal.OWN_STAFFING_PRICE)
    mean, sd = cal.STAFFING_PRICE_1TO1
    one = rounded_price(rng.normal(mean, sd, len(staff)).clip(mean / 2), 10.0)
    two = rounded_price(one * 2 * rng.uniform(0.95, 1.05, len(staff)), 10.0)
    three = rounded_price(one * 3 * rng.uniform(0.95, 1.05, len(staff)), 10.0)
    return {
        "price_1to1": np.where(own, one, np.nan),
        "price_2to1": np.where(own & (staff >= 2), two, np.nan),
        "price_3to1": np.where(own & (staff >= 3), three, np.nan),
    }


def _available_days(rng: np.random.Generator, count: int) -> np.ndarray:
    when = categorical(rng, cal.AVAILABLE, count)
    now = -rng.integers(0, 91, count)
    window = rng.integers(1, 29, count)
    later = rng.integers(29, 121, count)
    return np.select([when == "now", when == "within_window"], [now, window], later)


def _max_new_admissions(rng: np.random.Generator, setting: np.ndarray) -> pd.arrays.IntegerArray:
    limit = pd.array(np.zeros(len(setting), dtype=np.int64), dtype="Int64")
    limit[:] = pd.NA
    for name, (share, most) in cal.MAX_NEW_ADMISSIONS.items():
        capped = (setting == name) & (rng.random(len(setting)) < share)
        limit[capped] = most
    return limit
