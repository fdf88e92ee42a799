"""The Sefton area a child's home is in, for the sufficiency report, instead of a location.

The register keeps no home location (personal data it does not need): a referral's
postcode-district centroid is reduced to the nearest Sefton town, or "outside Sefton" when
no Sefton town is within :data:`NEAR_MILES`. That is enough to see where local demand is not
met. Centroids are approximate, rounded from public maps.
"""

from __future__ import annotations

import numpy as np

#: Sefton's towns and their approximate centroids (latitude, longitude, WGS84).
SEFTON_TOWNS: dict[str, tuple[float, float]] = {
    "Bootle": (53.4467, -2.9925),
    "Litherland": (53.4700, -2.9990),
    "Netherton": (53.4930, -2.9680),
    "Crosby": (53.4870, -3.0250),
    "Waterloo": (53.4750, -3.0200),
    "Aintree": (53.4850, -2.9340),
    "Maghull": (53.5160, -2.9420),
    "Formby": (53.5560, -3.0620),
    "Ainsdale": (53.6020, -3.0350),
    "Southport": (53.6450, -2.9980),
}

#: A home further than this from every Sefton town is "outside Sefton".
NEAR_MILES = 3.0
OUTSIDE = "outside Sefton"
EARTH_RADIUS_MILES = 3958.8


def home_areas(lat: np.ndarray, lon: np.ndarray) -> list[str]:
    """The nearest Sefton town to each home (haversine), or :data:`OUTSIDE`."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    names = list(SEFTON_TOWNS)
    towns = np.radians(np.array(list(SEFTON_TOWNS.values())))
    p1, l1 = np.radians(lat)[:, None], np.radians(lon)[:, None]
    p2, l2 = towns[None, :, 0], towns[None, :, 1]
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    miles = 2 * EARTH_RADIUS_MILES * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    nearest = miles.argmin(axis=1) if len(names) else np.array([], dtype=int)
    out = []
    for k in range(len(lat)):
        if np.isnan(lat[k]) or np.isnan(lon[k]) or miles[k, nearest[k]] > NEAR_MILES:
            out.append(OUTSIDE)
        else:
            out.append(names[nearest[k]])
    return out
