"""Demand over simulated weeks: who arrives, when, how long they stay, when placements break.

Common random numbers: every random draw of a replication comes from one generator keyed by
``(seed, replication)`` and is made *before* and *independently of* the scenario's
interventions. Arrivals are drawn as a Poisson stream at ``MAX_DEMAND_FACTOR`` times the base
rate and thinned by each week's rate in force (a candidate arriving with uniform ``a`` is
kept when ``a < rate / rate_max``), so a scenario with more demand sees the same children
plus some more, never a different set. Each arriving child carries uniforms for its
emergency flag and for the length and breakdown time of up to :data:`PLACEMENTS` placements;
lengths come from the setting's quantile function at that uniform, so the same child stays
about as long in one scenario as in another even when placed in a different setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from allocator.arrays import NEED_BIT, SETTINGS
from allocator.issues import InputError, Issue
from scenarios.config import MAX_DEMAND_FACTOR, Demand
from scenarios.limits import LONGEST_PLACEMENT_WEEKS

#: Placements per child whose draws are made up front; a child who needs more reuses them.
PLACEMENTS = 4
#: Longest placement drawn, weeks (five years).
LONGEST = LONGEST_PLACEMENT_WEEKS


@dataclass(frozen=True)
class DemandArrays:
    """A demand model as arrays. Profiles and settings share the order of ``SETTINGS``."""

    rate: np.ndarray  # (E, P) arrivals a week by profile, in force in each epoch
    rate_max: np.ndarray  # (P,) the rate candidate arrivals are drawn at
    members_ptr: np.ndarray  # CSR of pool children by profile
    members: np.ndarray
    weight_cum: np.ndarray  # cumulative draw weights of ``members`` within each profile
    emergency_share: float
    duration_median: np.ndarray  # (S,) weeks by setting
    duration_spread: np.ndarray  # (S,)
    breakdown: float  # weekly chance a placement breaks down
    waiting_cost: np.ndarray  # (S,) £ a week for a child waiting, by profile


@dataclass(frozen=True)
class Arrivals:
    """One replication's candidate arrivals, in arrival order (week, then profile)."""

    week: np.ndarray
    profile: np.ndarray
    child: np.ndarray  # pool index
    keep: np.ndarray  # thinning uniform
    emergency: np.ndarray  # uniform
    duration: np.ndarray  # (C, PLACEMENTS) uniforms
    breakdown: np.ndarray  # (C, PLACEMENTS) uniforms
    initial: np.ndarray  # bool: already in care when the run starts (week 0)
    elapsed: np.ndarray  # uniform: how far through its placement an initial child is


def base_rates(demand: Demand, pool_profile: np.ndarray) -> np.ndarray:
    """Arrivals a week by profile: given, or the council's size times the DfE entry rate,
    split as the calibrated pool is (about 70% foster, DfE 2024)."""
    if demand.arrivals_per_week is not None:
        return np.array([float(demand.arrivals_per_week.get(s, 0.0)) for s in SETTINGS])
    weekly = demand.looked_after * demand.entries_per_child_year / 52.0
    share = np.bincount(pool_profile, minlength=len(SETTINGS)) / max(len(pool_profile), 1)
    return weekly * share


def demand_arrays(demand: Demand, pool_profile: np.ndarray, factor: np.ndarray,
                  epoch_start: np.ndarray, weeks: int,
                  pool_needs: np.ndarray | None = None) -> DemandArrays:
    """The demand block as arrays; ``pool_needs`` (need bit masks) for ``need_weights``."""
    base = base_rates(demand, pool_profile)
    order = np.argsort(pool_profile, kind="stable")
    ptr = np.searchsorted(pool_profile[order], np.arange(len(SETTINGS) + 1))
    weight = np.ones(len(pool_profile))
    if demand.need_weights and pool_needs is not None:
        for code, w in demand.need_weights.items():
            weight *= np.where(pool_needs & NEED_BIT[code.value], w, 1.0)
    cum = np.zeros(len(order))
    for p in range(len(SETTINGS)):
        cum[ptr[p]:ptr[p + 1]] = np.cumsum(weight[order[ptr[p]:ptr[p + 1]]])
    empty = [SETTINGS[p] for p in range(len(SETTINGS))
             if base[p] > 0 and (ptr[p + 1] == ptr[p] or cum[ptr[p + 1] - 1] <= 0)]
    if empty:
        raise InputError([Issue("scenario", None, "demand.pool", f"no child of the pool can "
                                f"arrive with the profile {empty}: enlarge demand.pool or "
                                "check demand.need_weights", "scenario")])
    return DemandArrays(
        rate=base[None, :] * factor, rate_max=base * MAX_DEMAND_FACTOR,
        members_ptr=ptr.astype(np.int64), members=order.astype(np.int64), weight_cum=cum,
        emergency_share=float(demand.emergency_share),
        duration_median=np.array([demand.durations[s].median_weeks for s in SETTINGS]),
        duration_spread=np.array([demand.durations[s].spread for s in SETTINGS]),
        breakdown=float(demand.breakdown_per_week),
        waiting_cost=np.array([demand.waiting_cost[s] for s in SETTINGS], dtype=float),
    )


def stream(seed: int, replication: int) -> np.random.Generator:
    """The one generator of a replication: ``SeedSequence(seed)``'s child ``(0,
    replication)``, the same on any executor, worker count or order of execution."""
    return np.random.default_rng(np.random.SeedSequence(int(seed),
                                                        spawn_key=(0, int(replication))))


def stock_stream(seed: int) -> np.random.Generator:
    """The generator of the picture of today's placements (child ``(1,)`` of the seed),
    shared by every replication and every scenario run with that seed."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1,)))


def draw_stock(demand: DemandArrays, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Children in care at the start (pool index, profile): as many by profile as the base
    rate times the mean placement length (Little's law), so the run starts near its steady
    state instead of filling an empty market."""
    rng = stock_stream(seed)
    base = demand.rate_max / MAX_DEMAND_FACTOR
    mean_length = demand.duration_median * np.exp(demand.duration_spread ** 2 / 2)
    counts = rng.poisson(base * mean_length)
    profile = np.repeat(np.arange(len(counts)), counts)
    return _members(demand, profile, rng.random(len(profile))), profile


def _members(demand: DemandArrays, profile: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """Pool children of each profile, by inverse transform of the profile's weights at
    ``pick`` (uniform weights: every child of the profile equally likely)."""
    out = np.zeros(len(profile), dtype=np.int64)
    for p in np.unique(profile):
        rows = np.flatnonzero(profile == p)
        low, high = demand.members_ptr[p], demand.members_ptr[p + 1]
        cum = demand.weight_cum[low:high]
        at = np.searchsorted(cum, pick[rows] * cum[-1], side="right")
        out[rows] = demand.members[low + np.minimum(at, high - low - 1)]
    return out


def draw_arrivals(demand: DemandArrays, weeks: int, seed: int, replication: int,
                  stock: tuple[np.ndarray, np.ndarray] | None = None) -> Arrivals:
    """Every candidate arrival of a replication, drawn in one fixed order.

    ``stock`` (from :func:`draw_stock`) comes first, flagged ``initial``: those children are
    already placed at week 0, and draw only the remaining length of their placements here.
    """
    rng = stream(seed, replication)
    P = len(demand.rate_max)
    counts = rng.poisson(demand.rate_max, size=(weeks, P))
    total = int(counts.sum())
    week = np.repeat(np.repeat(np.arange(weeks), P), counts.reshape(-1))
    profile = np.repeat(np.tile(np.arange(P), weeks), counts.reshape(-1))
    child = _members(demand, profile, rng.random(total))
    keep = rng.random(total)
    emergency = rng.random(total)
    stock_child, stock_profile = stock if stock is not None else (np.zeros(0, np.int64),) * 2
    s = len(stock_child)
    n = s + total
    return Arrivals(
        week=np.r_[np.zeros(s, np.int64), week].astype(np.int64),
        profile=np.r_[stock_profile, profile].astype(np.int64),
        child=np.r_[stock_child, child].astype(np.int64),
        keep=np.r_[np.full(s, -1.0), keep], emergency=np.r_[np.ones(s), emergency],
        duration=rng.random((n, PLACEMENTS)), breakdown=rng.random((n, PLACEMENTS)),
        initial=np.r_[np.ones(s, bool), np.zeros(total, bool)], elapsed=rng.random(n))


def kept(arrivals: Arrivals, demand: DemandArrays, epoch_of_week: np.ndarray) -> np.ndarray:
    """Which candidates arrive in this scenario: thinning by the rate in force that week."""
    rate = demand.rate[epoch_of_week[arrivals.week], arrivals.profile]
    ceiling = demand.rate_max[arrivals.profile]
    with np.errstate(invalid="ignore", divide="ignore"):
        return arrivals.keep < np.where(ceiling > 0, rate / ceiling, 0.0)


def placement_weeks(demand: DemandArrays, setting: np.ndarray, u: np.ndarray,
                    elapsed: np.ndarray | None = None) -> np.ndarray:
    """Placement length by the setting's lognormal quantile at ``u``: 1 to 260 weeks.

    For a child already in care at the start, ``elapsed`` (the fraction of the placement
    already lived, NaN for everyone else) gives the remaining length instead: in a steady
    state the placement in progress is length-biased (for a lognormal the log-median moves
    up by the spread squared) and the run starts at a uniform point of it.
    """
    z = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    spread = demand.duration_spread[setting]
    log_median = np.log(demand.duration_median[setting])
    running = np.zeros(len(z), dtype=bool) if elapsed is None else ~np.isnan(elapsed)
    log_median = log_median + np.where(running, spread ** 2, 0.0)
    weeks = np.exp(log_median + spread * z)
    if running.any():
        weeks = np.where(running, weeks * (1.0 - np.nan_to_num(elapsed)), weeks)
    return np.clip(np.rint(weeks), 1, LONGEST).astype(np.int64)


def breakdown_weeks(demand: DemandArrays, u: np.ndarray) -> np.ndarray:
    """Weeks until a placement would break down: geometric at the weekly rate (a huge
    number when the rate is zero, so it never comes first)."""
    p = demand.breakdown
    if p <= 0:
        return np.full(len(u), 10**9, dtype=np.int64)
    if p >= 1:
        return np.ones(len(u), dtype=np.int64)
    return np.maximum(1, np.ceil(np.log1p(-u) / np.log1p(-p))).astype(np.int64)
