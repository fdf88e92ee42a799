"""Which units each child may be placed in: every hard rule of contract section 7, vectorised.

Rules are evaluated over flat arrays of (child, unit) candidate pairs, a chunk of children at
a time, so memory stays bounded however large the files are and no dense children x units
matrix is ever held. Units are pre-sorted by setting, so pairs are only generated for units
of a setting the child's plan allows; the setting exclusions are counted arithmetically.

For every child we also count, per rule, how many units that rule excluded. Each excluded
unit is attributed to the *first* failing rule in :data:`RULES` order, so the counts add up to
the number of units excluded and "why not elsewhere" has one answer per unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from allocator.arrays import SUPPORTED, Children, Units, miles
from models.policy import Policy

#: Hard rules in attribution order; index 0 means "eligible".
RULES: tuple[str, ...] = (
    "eligible",
    "no_offer",
    "setting",
    "under_16",
    "age",
    "sex",
    "needs",
    "ofsted",
    "admission",
    "emergency",
    "availability",
    "vacancies",
    "admissions_limit",
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
    """Eligible (child, unit) pairs, sorted by child then unit, and why the rest were not."""

    child: np.ndarray
    unit: np.ndarray
    miles: np.ndarray
    use: np.ndarray  # places the child takes in the unit (capacity_use)
    offer: np.ndarray  # index into Offers, -1 without offers
    excluded: np.ndarray  # (children, len(RULES)) units excluded by each rule
    fallback: np.ndarray  # (children, fallbacks) bool: fallback may take the child

    @property
    def pairs(self) -> int:
        return len(self.child)


def eligibility(children: Children, units: Units, policy: Policy,
                offers: Offers | None = None) -> Eligibility:
    """Evaluate every hard rule for every child against every unit (and fallback)."""
    parts = [_evaluate(chunk, children, units, policy, offers, keep_all=False)
             for chunk in _chunks(children, units, offers)]
    child = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    unit = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    dist = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    offer = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, np.int64)
    excluded = _unevaluated(children, units, offers)
    for p in parts:
        excluded += p[5]
    use = np.ones(len(child), dtype=np.int64)
    if offers is not None and len(offer):
        use = offers.use[offer]
    order = np.lexsort((unit, child))
    return Eligibility(child[order], unit[order], dist[order], use[order], offer[order],
                       excluded, fallback_eligibility(children, policy))


def exclusion_reasons(children: Children, units: Units, policy: Policy,
                      offers: Offers | None, who: np.ndarray) -> np.ndarray:
    """The first failing rule (a :data:`RULE` code, 0 if eligible) for ``who`` x every unit."""
    who = np.asarray(who, dtype=np.int64)
    default = RULE["no_offer"] if offers is not None else RULE["setting"]
    grid = np.full((len(who), units.m), default, dtype=np.int64)
    row_of = np.full(children.n, -1, dtype=np.int64)
    row_of[who] = np.arange(len(who))
    for chunk in _chunks(children, units, offers, who=who):
        c, u, _, _, r, _ = _evaluate(chunk, children, units, policy, offers, keep_all=True)
        grid[row_of[c], u] = r
    return grid


def fallback_eligibility(children: Children, policy: Policy) -> np.ndarray:
    """A fallback takes any child whose settings include its setting, never supported < 16."""
    from allocator.arrays import SETTINGS

    out = np.zeros((children.n, len(policy.fallbacks)), dtype=bool)
    for f, fallback in enumerate(policy.fallbacks):
        s = SETTINGS.index(fallback.setting.value)
        ok = (children.settings >> s) & 1 == 1
        if s == SUPPORTED:
            ok &= children.age >= 16
        out[:, f] = ok
    return out


@dataclass(frozen=True)
class _Chunk:
    child: np.ndarray
    unit: np.ndarray
    offer: np.ndarray  # -1 without offers


def _chunks(children: Children, units: Units, offers: Offers | None,
            who: np.ndarray | None = None) -> Iterator[_Chunk]:
    everyone = np.arange(children.n) if who is None else np.asarray(who, dtype=np.int64)
    if offers is not None:
        keep = np.isin(offers.child, everyone)
        index = np.flatnonzero(keep)
        for start in range(0, max(len(index), 1), PAIRS_PER_CHUNK):
            part = index[start:start + PAIRS_PER_CHUNK]
            yield _Chunk(offers.child[part], offers.unit[part], part)
        return
    by_setting = np.argsort(units.setting, kind="stable")
    starts = np.searchsorted(units.setting[by_setting], np.arange(5))
    per_child = np.zeros(len(everyone), dtype=np.int64)
    for s in range(4):
        per_child += ((children.settings[everyone] >> s) & 1) * (starts[s + 1] - starts[s])
    bounds = np.cumsum(per_child)
    begin = 0
    while begin < len(everyone):
        done = bounds[begin - 1] if begin else 0
        end = int(np.searchsorted(bounds, done + PAIRS_PER_CHUNK, side="right"))
        end = max(end, begin + 1)
        members = everyone[begin:end]
        child_parts, unit_parts = [], []
        for mask in np.unique(children.settings[members]):
            who_here = members[children.settings[members] == mask]
            allowed = np.concatenate([by_setting[starts[s]:starts[s + 1]] for s in range(4)
                                      if (mask >> s) & 1] or [np.zeros(0, np.int64)])
            child_parts.append(np.repeat(who_here, len(allowed)))
            unit_parts.append(np.tile(allowed, len(who_here)))
        child = np.concatenate(child_parts) if child_parts else np.zeros(0, np.int64)
        unit = np.concatenate(unit_parts) if unit_parts else np.zeros(0, np.int64)
        yield _Chunk(child, unit, np.full(len(child), -1, dtype=np.int64))
        begin = end


def _evaluate(chunk: _Chunk, ch: Children, un: Units, policy: Policy, offers: Offers | None,
              keep_all: bool) -> tuple[np.ndarray, ...]:
    c, u = chunk.child, chunk.unit
    rule = np.zeros(len(c), dtype=np.int8)

    def fail(name: str, mask: np.ndarray) -> None:
        rule[(rule == 0) & mask] = RULE[name]

    fail("setting", (ch.settings[c] >> un.setting[u]) & 1 == 0)
    fail("under_16", (un.setting[u] == SUPPORTED) & (ch.age[c] < 16))
    fail("age", (ch.age[c] < un.age_min[u]) | (ch.age[c] > un.age_max[u]))
    fail("sex", (un.sexes[u] != 2) & (un.sexes[u] != ch.female[c]))
    fail("needs", (ch.needs[c] & ~un.needs[u]) != 0)
    banned = np.zeros(5, dtype=bool)
    banned[3] = policy.rules.inadequate == "exclude"
    banned[2] = policy.rules.requires_improvement == "exclude"
    fail("ofsted", banned[un.rating[u]])
    fail("admission", un.admitted_day[u] > 0)
    emergency = ch.emergency[c]
    fail("emergency", emergency & ~un.emergency[u])
    window = np.where(emergency, 0, policy.rules.planned_window_days)
    fail("availability", un.available_day[u] > window)
    use = offers.use[chunk.offer] if offers is not None else np.ones(len(c), dtype=np.int64)
    fail("vacancies", un.vacancies[u] < use)
    fail("admissions_limit", un.max_new[u] == 0)
    fail("staffing", un.staff_capacity[u] < ch.staff[c])
    dist = miles(ch.home[c], un.location[u])
    fail("distance_cap", dist > ch.cap_miles[c] + MILES_TOLERANCE)
    fail("distance_floor", dist < ch.floor_miles[c] - MILES_TOLERANCE)
    if len(ch.avoid_child):
        fail("avoided_authority", _avoided(ch, un, c, u))
    counts = _count(chunk, ch, rule)
    if keep_all:
        return c, u, dist, chunk.offer, rule.astype(np.int64), counts
    ok = rule == 0
    return c[ok], u[ok], dist[ok], chunk.offer[ok], rule[ok].astype(np.int64), counts


def _avoided(ch: Children, un: Units, c: np.ndarray, u: np.ndarray) -> np.ndarray:
    keys = np.unique(np.concatenate([ch.avoid_key, un.authority]))
    unit_key = np.searchsorted(keys, un.authority)
    pair_code = ch.avoid_child * len(keys) + np.searchsorted(keys, ch.avoid_key)
    return np.isin(c * len(keys) + unit_key[u], pair_code)


def _count(chunk: _Chunk, ch: Children, rule: np.ndarray) -> np.ndarray:
    """Units excluded per rule among the evaluated pairs of one chunk."""
    counts = np.zeros((ch.n, len(RULES)), dtype=np.int64)
    np.add.at(counts, (chunk.child, rule), 1)
    counts[:, 0] = 0
    return counts


def _unevaluated(ch: Children, un: Units, offers: Offers | None) -> np.ndarray:
    """Units never paired with a child: another setting, or (with offers) no offer."""
    counts = np.zeros((ch.n, len(RULES)), dtype=np.int64)
    if offers is None:
        setting_count = np.bincount(un.setting, minlength=4)
        allowed = np.zeros(ch.n, dtype=np.int64)
        for s in range(4):
            allowed += ((ch.settings >> s) & 1) * setting_count[s]
        counts[:, RULE["setting"]] = un.m - allowed
    else:
        counts[:, RULE["no_offer"]] = un.m - np.bincount(offers.child, minlength=ch.n)
    return counts
