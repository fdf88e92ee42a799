"""Where the synthetic market's children live and its units stand: Sefton and the North West.

Locations are drawn around approximate town centroids (WGS84, rounded from public maps), so
every unit's ``local_authority`` is the authority its town belongs to, and a home location
sits at about postcode-district resolution. The weights say *how much* of each kind of
placement an authority holds; they are calibration assumptions documented in ``docs/data.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: Miles per degree of latitude (great-circle, Earth radius 3958.8 miles).
MILES_PER_DEGREE = 3958.8 * np.pi / 180


@dataclass(frozen=True)
class Town:
    """A town centroid. ``sea`` names the compass sides (``NESW``) with water: no jitter goes
    that way, so no home stands in the Irish Sea or the Mersey."""

    name: str
    authority: str
    lat: float
    lon: float
    sea: str = ""


#: Approximate centroids. Lancashire's and Cheshire's districts carry the county or unitary
#: council's name, because the children's services authority is what the contract means.
TOWNS: tuple[Town, ...] = (
    Town("Bootle", "Sefton", 53.4467, -2.9925, sea="W"),
    Town("Litherland", "Sefton", 53.4700, -2.9990),
    Town("Seaforth", "Sefton", 53.4650, -3.0080, sea="W"),
    Town("Netherton", "Sefton", 53.4930, -2.9680),
    Town("Crosby", "Sefton", 53.4870, -3.0250, sea="W"),
    Town("Waterloo", "Sefton", 53.4750, -3.0200, sea="W"),
    Town("Aintree", "Sefton", 53.4850, -2.9340),
    Town("Maghull", "Sefton", 53.5160, -2.9420),
    Town("Formby", "Sefton", 53.5560, -3.0620, sea="W"),
    Town("Ainsdale", "Sefton", 53.6020, -3.0350, sea="W"),
    Town("Southport", "Sefton", 53.6450, -2.9980, sea="WN"),
    Town("Liverpool city centre", "Liverpool", 53.4084, -2.9780, sea="W"),
    Town("Walton", "Liverpool", 53.4460, -2.9630),
    Town("West Derby", "Liverpool", 53.4330, -2.9080),
    Town("Allerton", "Liverpool", 53.3760, -2.9000),
    Town("Speke", "Liverpool", 53.3480, -2.8450, sea="S"),
    Town("Kirkby", "Knowsley", 53.4820, -2.8920),
    Town("Huyton", "Knowsley", 53.4110, -2.8390),
    Town("Prescot", "Knowsley", 53.4290, -2.8010),
    Town("Halewood", "Knowsley", 53.3600, -2.8300),
    Town("Ormskirk", "West Lancashire", 53.5690, -2.8850),
    Town("Skelmersdale", "West Lancashire", 53.5500, -2.7760),
    Town("Burscough", "West Lancashire", 53.5970, -2.8400),
    Town("Birkenhead", "Wirral", 53.3930, -3.0300, sea="E"),
    Town("Wallasey", "Wirral", 53.4150, -3.0500, sea="N"),
    Town("Bebington", "Wirral", 53.3500, -3.0040, sea="E"),
    Town("Heswall", "Wirral", 53.3280, -3.0990, sea="W"),
    Town("St Helens", "St Helens", 53.4540, -2.7360),
    Town("Newton-le-Willows", "St Helens", 53.4530, -2.6330),
    Town("Widnes", "Halton", 53.3610, -2.7340, sea="S"),
    Town("Runcorn", "Halton", 53.3420, -2.7290, sea="N"),
    Town("Warrington", "Warrington", 53.3900, -2.5970),
    Town("Wigan", "Wigan", 53.5450, -2.6320),
    Town("Leigh", "Wigan", 53.4970, -2.5190),
    Town("Preston", "Lancashire", 53.7630, -2.7030),
    Town("Chorley", "Lancashire", 53.6530, -2.6320),
    Town("Lancaster", "Lancashire", 54.0470, -2.8010),
    Town("Burnley", "Lancashire", 53.7890, -2.2480),
    Town("Blackburn", "Blackburn with Darwen", 53.7480, -2.4820),
    Town("Blackpool", "Blackpool", 53.8175, -3.0300, sea="W"),
    Town("Manchester", "Manchester", 53.4808, -2.2426),
    Town("Salford", "Salford", 53.4875, -2.2901),
    Town("Bolton", "Bolton", 53.5780, -2.4290),
    Town("Stockport", "Stockport", 53.4083, -2.1494),
    Town("Oldham", "Oldham", 53.5409, -2.1114),
    Town("Rochdale", "Rochdale", 53.6160, -2.1550),
    Town("Sale", "Trafford", 53.4250, -2.3220),
    Town("Chester", "Cheshire West and Chester", 53.1910, -2.8910),
    Town("Ellesmere Port", "Cheshire West and Chester", 53.2790, -2.9020, sea="N"),
    Town("Crewe", "Cheshire East", 53.0990, -2.4400),
    Town("Kendal", "Westmorland and Furness", 54.3280, -2.7460),
    Town("Barrow-in-Furness", "Westmorland and Furness", 54.1110, -3.2260, sea="W"),
    Town("Carlisle", "Cumberland", 54.8925, -2.9329),
    # Beyond the North West: where a child "at a distance" may end up.
    Town("Stoke-on-Trent", "Stoke-on-Trent", 53.0027, -2.1794),
    Town("Shrewsbury", "Shropshire", 52.7077, -2.7540),
    Town("Buxton", "Derbyshire", 53.2590, -1.9110),
    Town("Huddersfield", "Kirklees", 53.6458, -1.7850),
    Town("Leeds", "Leeds", 53.7997, -1.5492),
    Town("Skipton", "North Yorkshire", 53.9620, -2.0170),
)

TOWN_INDEX: dict[str, int] = {town.name: i for i, town in enumerate(TOWNS)}
TOWN_LAT = np.array([t.lat for t in TOWNS])
TOWN_LON = np.array([t.lon for t in TOWNS])
TOWN_AUTHORITY = np.array([t.authority for t in TOWNS], dtype=object)
#: +1 where a town may only scatter north (sea to the south), -1 only south, 0 either way.
TOWN_NORTH_ONLY = np.array([(("S" in t.sea) - ("N" in t.sea)) for t in TOWNS])
#: +1 where a town may only scatter east (sea to the west), -1 only west, 0 either way.
TOWN_EAST_ONLY = np.array([(("W" in t.sea) - ("E" in t.sea)) for t in TOWNS])


def town_weights(by_authority: Mapping[str, float],
                 by_town: Mapping[str, float] | None = None) -> np.ndarray:
    """Probabilities over :data:`TOWNS`, summing to one.

    An authority's weight is shared equally by its towns unless ``by_town`` names some of
    them, in which case those towns take their own weights (and the authority's weight is
    ignored): Sefton children are weighted by town, other authorities are not.
    """
    weights = np.zeros(len(TOWNS))
    named = dict(by_town or {})
    unknown = set(named) - set(TOWN_INDEX)
    if unknown:
        raise KeyError(f"unknown towns: {sorted(unknown)}")
    named_authorities = {TOWNS[TOWN_INDEX[name]].authority for name in named}
    for authority, weight in by_authority.items():
        if authority in named_authorities:
            continue
        members = np.flatnonzero(authority == TOWN_AUTHORITY)
        if len(members) == 0:
            raise KeyError(f"no town in authority {authority!r}")
        weights[members] += weight / len(members)
    for name, weight in named.items():
        weights[TOWN_INDEX[name]] += weight
    return weights / weights.sum()


def draw_towns(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Town indices for ``size`` places, by the given probabilities."""
    return rng.choice(len(TOWNS), size=size, p=weights)


def jitter(rng: np.random.Generator, towns: np.ndarray, sd_miles: float,
           max_miles: float) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes and longitudes scattered around town centroids, never out to sea.

    The offset is normal with ``sd_miles`` per axis, cut at ``max_miles`` so a place stays in
    its town's authority; a town with water on one side only scatters away from it.
    """
    offsets = np.clip(rng.normal(0.0, sd_miles, size=(len(towns), 2)), -max_miles, max_miles)
    north = _away_from_sea(offsets[:, 0], TOWN_NORTH_ONLY[towns])
    east = _away_from_sea(offsets[:, 1], TOWN_EAST_ONLY[towns])
    lat = TOWN_LAT[towns] + north / MILES_PER_DEGREE
    lon = TOWN_LON[towns] + east / (MILES_PER_DEGREE * np.cos(np.radians(TOWN_LAT[towns])))
    return lat, lon


def _away_from_sea(offset: np.ndarray, sign: np.ndarray) -> np.ndarray:
    return np.where(sign == 0, offset, np.abs(offset) * sign)


def haversine_miles(lat1: np.ndarray | float, lon1: np.ndarray | float,
                    lat2: np.ndarray | float, lon2: np.ndarray | float) -> np.ndarray:
    """Great-circle miles, as the contract measures them (Earth radius 3958.8 miles)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlam = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2 * 3958.8 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
