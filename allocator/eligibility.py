"""Which units each child may be placed in: every hard rule of contract section 7, vectorised.

Rules are evaluated over flat arrays of (child, unit) candidate pairs, a chunk of children at
a time, so memory stays bounded however large the files are and no dense children x units
matrix is ever held. Units are pre-sorted by setting, so pairs are only generated for units
of a setting the child's plan allows; the setting exclusions are counted arithmetically.

For every child we also count, per rule, how many units that rule excluded. Each excluded
unit is attributed to the *first* failing rule in :data:`RULES` order, so the counts add up to
the number of units excluded and "why not elsewhere" has one answer per unit. The rules that
do not depend on the child (Ofsted, admission, no vacancy, no admissions) come right after
the setting, so without offers they are settled once per unit, and pairs are only formed
with units that could take someone; the remaining rules filter pairs progressively, and the
distance is only computed for pairs that passed every other rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from allocator.arrays import (
    EARTH_RADIUS_MILES,
    NEED_BIT,
    RATINGS,
    SETTINGS,
    SUPPORTED,
    Children,
    Units,
    miles,
)
from allocator.unitsets import count, rule_stages, unit_sets, unpack
from models.policy import Policy

#: Hard rules in attribution order; index 0 means "eligible".
RULES: tuple[str, ...] = (
    "eligible",
    "no_offer",
    "setting",
    "ofsted",
    "admission",
    "vacancies",
    "admissions_limit",
    "under_16",
    "age",
    "sex",
    "needs",
    "emergency",
    "availability",
    "staffing",
    "distance_cap",
    "distance_floor",
    "avoided_authority",
)
RULE = {name: i for i, name in enumerate(RULES)}

#: Plain words for each rule, used in reasons and reports.
RULE_TEXT: dict[str, str] = {
    "no_offer": "no offer for this child",
    "setting": "a setting the care plan does not allow",
    "under_16": "supported accommodation, never allowed under 16",
    "age": "outside the unit's age range",
    "sex": "the unit does not take the child's sex",
    "needs": "needs outside the unit's statement of purpose",
    "ofsted": "excluded for its Ofsted grade",
    "admission": "not yet admitted to the PDPS on --as-of",
    "emergency": "does not take emergency admissions",
    "availability": "not available in time",
    "vacancies": "no vacancy (or too few places for this offer)",
    "admissions_limit": "takes no new admissions in this run",
    "staffing": "cannot staff the child's enhanced staffing",
    "distance_cap": "further than the child's maximum distance",
    "distance_floor": "nearer than the child's minimum distance",
    "avoided_authority": "in an authority the child must avoid",
}

#: Slack for inclusive distance comparisons, so a unit exactly at a cap is allowed despite
#: the last bit of floating-point rounding in the haversine.
MILES_TOLERANCE = 1e-9

PAIRS_PER_CHUNK = 2_000_000


@dataclass(frozen=True)
class Offers:
    """Offers as index arrays, sorted by (child, unit)."""

    child: np.ndarray
    unit: np.ndarray
    price: np.ndarray
    quality: np.ndarray  # NaN where no quality_score was given
    use: np.ndarray


@dataclass(frozen=True)
class Eligibility:
    """Eligible (child, unit) pairs, sorted by child then unit, and why the rest were not.

    ``pence`` holds each pair's objective term when a costing function was given (the
    miles are then dropped: at national scale they would be the largest array held).
    """

    child: np.ndarray  # int32
    unit: np.ndarray  # int32
    use: np.ndarray  # places the child takes in the unit (capacity_use)
    offer: np.ndarray  # index into Offers, -1 without offers
    excluded: np.ndarray  # (children, len(RULES)) units excluded by each rule
    fallback: np.ndarray  # (children, fallbacks) bool: fallback may take the child
    miles: np.ndarray | None = None
    pence: np.ndarray | None = None

    @property
    def pairs(self) -> int:
        return len(self.child)


Pricer = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def eligibility(children: Children, units: Units, policy: Policy,
                offers: Offers | None = None, price: Pricer | None = None) -> Eligibility:
    """Evaluate every hard rule for every child against every unit (and fallback).

    ``price(child, unit, miles, offer)`` may cost each block of eligible pairs as it is
    found, so the pairs' miles need never be held all at once.
    """
    excluded = np.zeros((children.n, len(RULES)), dtype=np.int64)
    if offers is None:
        blocks = _from_unit_sets(children, units, policy, excluded)
    else:
        excluded[:, RULE["no_offer"]] = units.m - np.bincount(offers.child, minlength=children.n)
        blocks = _from_offers(children, units, policy, offers, excluded)
    parts: dict[str, list[np.ndarray]] = {"child": [], "unit": [], "offer": [], "value": []}
    for c, u, d, offer in blocks:
        parts["child"].append(c.astype(np.int32))
        parts["unit"].append(u.astype(np.int32))
        parts["offer"].append(offer.astype(np.int32))
        parts["value"].append(d if price is None else price(c, u, d, offer))
    child, unit, offer = (np.concatenate(parts[k] or [np.zeros(0, np.int32)])
                          for k in ("child", "unit", "offer"))
    value = np.concatenate(parts["value"] or [np.zeros(0)])
    order = np.lexsort((unit, child)) if offers is not None else slice(None)
    child, unit, offer, value = child[order], unit[order], offer[order], value[order]
    use = (offers.use[offer].astype(np.int32) if offers is not None and len(offer)
           else np.ones(len(child), dtype=np.int32))
    return Eligibility(child, unit, use, offer, excluded, fallback_eligibility(children, policy),
                       miles=value if price is None else None,
                       pence=value if price is not None else None)


def _blocks(children: Children, units: Units, who: np.ndarray) -> Iterator[np.ndarray]:
    size = max(1, PAIRS_PER_CHUNK // max(units.m, 1))
    for start in range(0, len(who), size):
        yield who[start:start + size]


def _from_unit_sets(ch: Children, un: Units, policy: Policy,
                    excluded: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
    """Blocks of pairs in (child, unit) order: bit-set rules, then the pair rules."""
    sets = unit_sets(un, policy, max(int(ch.age.max(initial=0)), 0), len(NEED_BIT))
    for block in _blocks(ch, un, np.arange(ch.n)):
        survivors = None
        for name, passing in rule_stages(sets, ch, block, len(NEED_BIT)):
            if survivors is None:
                survivors = passing.copy()
                excluded[block, RULE["setting"]] = un.m - count(survivors)
                continue
            excluded[block, RULE[name]] = count(survivors & ~passing)
            survivors &= passing
        assert survivors is not None
        alive = unpack(survivors, un.m)
        _drop_surely_far(ch, un, block, alive, excluded)
        rows, u = _nonzero(alive)
        c = block[rows]
        d = miles(ch.home[c], un.location[u])
        ok = np.ones(len(c), dtype=bool)
        for name, fails in _pair_rules(ch, un, c, u, d):
            fails &= ok
            excluded[:, RULE[name]] += np.bincount(c[fails], minlength=ch.n)
            ok &= ~fails
        yield c[ok], u[ok], d[ok], np.full(int(ok.sum()), -1, dtype=np.int64)


def _nonzero(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a C-ordered 2-D mask, about six times faster: flat positions, then
    row and column by division (the 2-D call builds both indices element by element)."""
    rows, columns = np.divmod(np.flatnonzero(mask), mask.shape[1])
    return rows, columns


#: Miles beyond a child's cap (and its tolerance) past which a pair is dropped before its
#: exact distance is computed: far more than the cosine shortcut's rounding (about 1e-4 miles
#: at the very worst, for two points a few yards apart).
FAR_MARGIN_MILES = 0.01


def _drop_surely_far(ch: Children, un: Units, block: np.ndarray, alive: np.ndarray,
                     excluded: np.ndarray) -> None:
    """Clear, and count under ``distance_cap``, the pairs certainly beyond the child's cap.

    With a 60-mile cap most of a national market's units are hundreds of miles away, yet
    each took a great-circle distance and two rule tests. One matrix product of unit
    vectors gives every pair's cosine; a pair whose angle exceeds the cap plus a margin
    fails the exact test too, so the pairs, their order and every exclusion count are
    exactly what the exact test alone gives (``tests/test_eligibility_prefilter.py``).
    """
    angle = (ch.cap_miles[block] + MILES_TOLERANCE + FAR_MARGIN_MILES) / EARTH_RADIUS_MILES
    if not (angle < np.pi).any() or not alive.any():  # no cap (inf) or none that binds
        return
    # No cap, or a cap past the antipode: a threshold nothing is below.
    threshold = np.where(angle < np.pi, np.cos(np.minimum(angle, np.pi)), -np.inf)
    cosine = ch.home[block] @ un.location.T  # NaN where a location is unknown: kept
    far = cosine < threshold[:, None]
    far &= alive
    excluded[block, RULE["distance_cap"]] += np.count_nonzero(far, axis=1)
    alive ^= far


def _pair_rules(ch: Children, un: Units, c: np.ndarray, u: np.ndarray,
                d: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """The rules that need the pair itself (distance, authority), in RULES order."""
    yield "distance_cap", d > ch.cap_miles[c] + MILES_TOLERANCE
    yield "distance_floor", d < ch.floor_miles[c] - MILES_TOLERANCE
    if len(ch.avoid_child):
        yield "avoided_authority", _avoided(ch, un, c, u)


def _from_offers(ch: Children, un: Units, policy: Policy, offers: Offers,
                 excluded: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
    for chunk in _offer_chunks(offers, np.arange(ch.n)):
        kept, counts, _ = _evaluate(chunk, ch, un, policy, offers)
        excluded += counts
        yield chunk.child[kept], chunk.unit[kept], chunk.miles[kept], chunk.offer[kept]


def exclusion_reasons(children: Children, units: Units, policy: Policy,
                      offers: Offers | None, who: np.ndarray) -> np.ndarray:
    """The first failing rule (a :data:`RULE` code, 0 if eligible) for ``who`` x every unit."""
    who = np.asarray(who, dtype=np.int64)
    row_of = np.full(children.n, -1, dtype=np.int64)
    row_of[who] = np.arange(len(who))
    if offers is not None:
        grid = np.full((len(who), units.m), RULE["no_offer"], dtype=np.int64)
        for chunk in _offer_chunks(offers, who):
            _, _, rule = _evaluate(chunk, children, units, policy, offers)
            grid[row_of[chunk.child], chunk.unit] = rule
        return grid
    sets = unit_sets(units, policy, max(int(children.age.max(initial=0)), 0), len(NEED_BIT))
    grid = np.zeros((len(who), units.m), dtype=np.int64)
    for name, passing in rule_stages(sets, children, who, len(NEED_BIT)):
        grid[(grid == 0) & ~unpack(passing, units.m)] = RULE[name]
    rows, u = _nonzero(grid == 0)
    c = who[rows]
    d = miles(children.home[c], units.location[u])
    for name, fails in _pair_rules(children, units, c, u, d):
        fresh = fails & (grid[rows, u] == 0)
        grid[rows[fresh], u[fresh]] = RULE[name]
    return grid


def fallback_eligibility(children: Children, policy: Policy) -> np.ndarray:
    """A fallback takes any child whose settings include its setting, never supported < 16."""
    out = np.zeros((children.n, len(policy.fallbacks)), dtype=bool)
    for f, fallback in enumerate(policy.fallbacks):
        s = SETTINGS.index(fallback.setting.value)
        ok = (children.settings >> s) & 1 == 1
        if s == SUPPORTED:
            ok &= children.age >= 16
        out[:, f] = ok
    return out


@dataclass
class _Chunk:
    child: np.ndarray
    unit: np.ndarray
    offer: np.ndarray  # -1 without offers
    miles: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _offer_chunks(offers: Offers, who: np.ndarray) -> Iterator[_Chunk]:
    index = np.flatnonzero(np.isin(offers.child, who))
    for start in range(0, len(index), PAIRS_PER_CHUNK):
        part = index[start:start + PAIRS_PER_CHUNK]
        yield _Chunk(offers.child[part], offers.unit[part], part)


def _evaluate(chunk: _Chunk, ch: Children, un: Units, policy: Policy,
              offers: Offers | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the pair rules in order, shrinking the pairs as they fail.

    Returns the positions of the eligible pairs, the exclusion counts per child and rule,
    and every pair's first failing rule (0 if eligible). Sets ``chunk.miles``.
    """
    counts = np.zeros((ch.n, len(RULES)), dtype=np.int64)
    rule = np.zeros(len(chunk.child), dtype=np.int64)
    live = np.arange(len(chunk.child))
    c, u = chunk.child, chunk.unit
    dist = np.zeros(len(c))

    def apply(name: str, fails: np.ndarray) -> None:
        nonlocal live, c, u, dist
        if not fails.any():
            return
        rule[live[fails]] = RULE[name]
        counts[:, RULE[name]] += np.bincount(c[fails], minlength=ch.n)
        keep = ~fails
        live, c, u, dist = live[keep], c[keep], u[keep], dist[keep]

    if offers is not None:  # offered pairs were not pre-filtered by unit or setting
        apply("setting", (ch.settings[c] >> un.setting[u]) & 1 == 0)
        banned = np.zeros(len(RATINGS), dtype=bool)
        banned[RATINGS.index("inadequate")] = policy.rules.inadequate == "exclude"
        banned[RATINGS.index("requires_improvement")] = (policy.rules.requires_improvement
                                                         == "exclude")
        apply("ofsted", banned[un.rating[u]])
        apply("admission", un.admitted_day[u] > 0)
        apply("vacancies", un.vacancies[u] < offers.use[chunk.offer[live]])
        apply("admissions_limit", un.max_new[u] == 0)
    apply("under_16", (un.setting[u] == SUPPORTED) & (ch.age[c] < 16))
    age = ch.age[c]
    apply("age", (age < un.age_min[u]) | (age > un.age_max[u]))
    apply("sex", (un.sexes[u] != 2) & (un.sexes[u] != ch.female[c]))
    apply("needs", (ch.needs[c] & ~un.needs[u]) != 0)
    apply("emergency", ch.emergency[c] & ~un.emergency[u])
    window = np.where(ch.emergency[c], 0, policy.rules.planned_window_days)
    apply("availability", un.available_day[u] > window)
    apply("staffing", un.staff_capacity[u] < ch.staff[c])
    dist = miles(ch.home[c], un.location[u])
    apply("distance_cap", dist > ch.cap_miles[c] + MILES_TOLERANCE)
    apply("distance_floor", dist < ch.floor_miles[c] - MILES_TOLERANCE)
    if len(ch.avoid_child):
        apply("avoided_authority", _avoided(ch, un, c, u))
    chunk.miles = np.full(len(chunk.child), np.nan)
    chunk.miles[live] = dist
    return live, counts, rule


def _avoided(ch: Children, un: Units, c: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Whether each pair's unit is in an authority its child must avoid (integer codes)."""
    vocabulary = max(int(un.authority_code.max(initial=0)),
                     int(ch.avoid_code.max(initial=0))) + 1
    avoided = ch.avoid_child * vocabulary + ch.avoid_code
    return np.isin(c * vocabulary + un.authority_code[u], avoided)
