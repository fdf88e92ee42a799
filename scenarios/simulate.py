"""One replication of a scenario: weeks of arrivals, each week's queue allocated exactly.

The run starts from a picture of today: the children already in care (as many as the
demand's steady state holds, drawn once per seed) placed by the engine in the base market.
Then each week: placements that reached their length end and free their places; placements
that broke down end and their children rejoin the queue as emergencies; a removed
provider's children rejoin it too; new children arrive; and everyone waiting is allocated at
once (:mod:`scenarios.weekly`), as a placement team would run ``pdps allocate`` on the
week's referrals against the places still open. A child with nowhere to go waits, costing
an emergency spot purchase a week, until placed or until its need ends.

Places: the units' ``vacancies`` are the places open to the council; a place its simulated
children leave opens again (other councils' comings and goings are taken to balance).
Bookkeeping is vectorised over children; the loop is over weeks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.demand import (
    PLACEMENTS,
    breakdown_weeks,
    draw_arrivals,
    draw_stock,
    kept,
    placement_weeks,
)
from scenarios.market import Market
from scenarios.weekly import allocate_week

#: Weekly measures, in the order of :attr:`Replication.weekly`'s columns.
KPIS: tuple[str, ...] = (
    "spend", "cost", "placed", "waiting", "arrivals", "breakdowns", "new_placements",
    "mean_distance", "share_over_20", "share_in_borough", "fallback_active", "fallback_new",
    "local_occupancy",
)
K = {name: i for i, name in enumerate(KPIS)}
#: Miles, for the distribution of the distance of placements made during the horizon.
DISTANCE_BINS = np.array([0, 5, 10, 15, 20, 25, 30, 40, 50, 75, np.inf])
WAITING, PLACED, GONE = 1, 2, 3
NEVER = np.iinfo(np.int64).max // 2


@dataclass(frozen=True)
class Start:
    """Today's placements: the same for every replication and scenario run with a seed."""

    child: np.ndarray  # pool index
    profile: np.ndarray
    option: np.ndarray  # unit, m + fallback, or m + F (waiting)
    pair: np.ndarray


@dataclass(frozen=True)
class Replication:
    """What one replication measured over the horizon (warm-up weeks are not kept)."""

    replication: int
    weekly: np.ndarray  # (horizon weeks, len(KPIS))
    distance_counts: np.ndarray  # placements made in the horizon, by DISTANCE_BINS
    methods: np.ndarray  # weeks settled by own choice, assignment, engine
    #: (week, pool index, emergency) of every child in care at each requested week's end.
    snapshots: tuple[tuple[int, np.ndarray, np.ndarray], ...] = ()


def starting_placements(market: Market, seed: int) -> Start:
    """Place the children in care at the start in the base market (no intervention, no
    candidate), so every scenario compared with one seed starts from the same picture."""
    child, profile = draw_stock(market.demand, seed)
    active = market.active[0] & (np.arange(market.units.m) < market.base_units)
    option, pair, _ = allocate_week(market, 0, 0, child, np.zeros(len(child), dtype=bool),
                                    active, np.where(active, market.places, 0),
                                    market.units.staff_capacity)
    return Start(child, profile, option, pair)


def simulate(market: Market, seed: int, replication: int, enable: np.ndarray | None = None,
             start: Start | None = None, snapshot_at: tuple[int, ...] = ()) -> Replication:
    """Run replication ``replication`` of ``market`` with the random stream of ``seed``.

    ``enable`` switches on plan-growth candidate units (the market's last units) from the
    first week; ``start`` is :func:`starting_placements` for ``seed`` (computed when not
    given); ``snapshot_at`` lists simulated weeks whose children in care (placed or
    waiting) are returned, for plan-growth's sampled demand. The result depends only on the
    arguments, never on the process running it.
    """
    un, pool, d = market.units, market.pool, market.demand
    m, F = un.m, market.fb_pence.shape[1]
    start = starting_placements(market, seed) if start is None else start
    epoch_of = np.searchsorted(market.epoch_start, np.arange(market.weeks), side="right") - 1
    extra = np.zeros(m, dtype=bool)
    if enable is not None and market.n_candidates:
        extra[m - market.n_candidates:] = np.asarray(enable, dtype=bool)
    arrivals = draw_arrivals(d, market.weeks, seed, replication, (start.child, start.profile))
    keep = kept(arrivals, d, epoch_of)
    who, arrive, profile = arrivals.child[keep], arrivals.week[keep], arrivals.profile[keep]
    n, s = len(who), len(start.child)
    emergency = arrivals.emergency[keep] < d.emergency_share
    u_length, u_break = arrivals.duration[keep], arrivals.breakdown[keep]
    elapsed = np.where(arrivals.initial[keep], arrivals.elapsed[keep], np.nan)
    status = np.zeros(n, dtype=np.int8)
    option = np.full(n, -1, dtype=np.int64)
    pair = np.full(n, -1, dtype=np.int64)
    end = np.full(n, NEVER, dtype=np.int64)
    broke = np.full(n, NEVER, dtype=np.int64)
    wait_end = np.full(n, NEVER, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    staff = pool.staff[who]
    horizon = market.weeks - market.warmup
    weekly = np.zeros((horizon, len(KPIS)))
    distance_counts = np.zeros(len(DISTANCE_BINS) - 1, dtype=np.int64)
    methods = np.zeros(3, dtype=np.int64)
    snapshots = []

    def place(rows: np.ndarray, choice: np.ndarray, chosen: np.ndarray, t: int) -> None:
        status[rows], option[rows], pair[rows], wait_end[rows] = PLACED, choice, chosen, NEVER
        setting = setting_of(market, choice)
        k = count[rows] % PLACEMENTS
        length = placement_weeks(d, setting, u_length[rows, k], elapsed[rows])
        after = breakdown_weeks(d, u_break[rows, k])
        end[rows] = t + length
        broke[rows] = np.where(after < length, t + after, NEVER)

    def queue(rows: np.ndarray, t: int) -> None:
        status[rows], option[rows], pair[rows] = WAITING, -1, -1
        end[rows], broke[rows] = NEVER, NEVER
        wait_end[rows] = t + placement_weeks(d, profile[rows],
                                             u_length[rows, count[rows] % PLACEMENTS],
                                             elapsed[rows])

    first = np.arange(s)
    settled = start.option < m + F
    place(first[settled], start.option[settled], start.pair[settled], 0)
    queue(first[~settled], 0)
    elapsed[:] = np.nan  # only a child's first placement was in progress at the start

    for t in range(market.weeks):
        e = int(epoch_of[t])
        active = market.active[e] | extra
        placed = status == PLACED
        if t == market.epoch_start[e] and market.removed[e].any():
            moved = placed & (option < m) & market.removed[e][np.minimum(option, m - 1)]
            placed &= ~moved
            emergency[moved], count[moved] = True, count[moved] + 1
            queue(np.flatnonzero(moved), t)
        broken = placed & (broke == t)
        emergency[broken], count[broken] = True, count[broken] + 1  # found in a hurry
        queue(np.flatnonzero(broken), t)
        status[placed & (end == t)] = GONE
        status[(status == WAITING) & (wait_end <= t)] = GONE
        new = np.flatnonzero((arrive == t) & (np.arange(n) >= s))
        queue(new, t)

        waiting = np.flatnonzero(status == WAITING)
        in_unit = np.flatnonzero((status == PLACED) & (option < m))
        occupied = np.bincount(option[in_unit], minlength=m)
        staff_used = np.bincount(option[in_unit], weights=staff[in_unit], minlength=m)
        made = np.zeros(0, dtype=np.int64)
        if len(waiting):
            choice, chosen, method = allocate_week(
                market, t, e, who[waiting], emergency[waiting], active,
                market.places - occupied, un.staff_capacity - staff_used)
            methods[method] += 1
            settled = choice < m + F
            made = waiting[settled]
            place(made, choice[settled], chosen[settled], t)
        if t in snapshot_at:
            here = np.flatnonzero((status == PLACED) | (status == WAITING))
            snapshots.append((t, who[here], emergency[here].copy()))
        if t >= market.warmup:
            row = weekly[t - market.warmup]
            _measure(row, market, e, status, option, pair, profile, made, active)
            row[K["arrivals"]] = len(new)
            row[K["breakdowns"]] = int(broken.sum())
            distance_counts += np.histogram(_miles(market, option[made], pair[made]),
                                            DISTANCE_BINS)[0]
    return Replication(replication, weekly, distance_counts, methods, tuple(snapshots))


def setting_of(market: Market, option: np.ndarray) -> np.ndarray:
    """The setting of each option (a unit's, or a fallback's), for placement lengths."""
    m = market.units.m
    unit = market.units.setting[np.minimum(option, m - 1)]
    if not len(market.fb_setting):
        return unit
    fallback = market.fb_setting[np.minimum(np.maximum(option - m, 0),
                                            len(market.fb_setting) - 1)]
    return np.where(option < m, unit, fallback)


def _miles(market: Market, option: np.ndarray, pair: np.ndarray) -> np.ndarray:
    m = market.units.m
    unit = market.pair_miles[np.maximum(pair, 0)]
    if not len(market.fb_miles):
        return unit
    fallback = market.fb_miles[np.minimum(np.maximum(option - m, 0), len(market.fb_miles) - 1)]
    return np.where(option < m, unit, fallback)


def _measure(row: np.ndarray, market: Market, e: int, status: np.ndarray, option: np.ndarray,
             pair: np.ndarray, profile: np.ndarray, made: np.ndarray,
             active: np.ndarray) -> None:
    """The week's measures, after its allocation."""
    un, m = market.units, market.units.m
    placed = np.flatnonzero(status == PLACED)
    opt, pr = option[placed], pair[placed]
    at_unit = opt < m
    unit = np.minimum(opt, m - 1)
    safe_pair = np.maximum(pr, 0)
    F = market.fb_paid.shape[1]
    fallback = np.minimum(np.maximum(opt - m, 0), max(F - 1, 0))
    unit_paid = market.pair_scaled[safe_pair] * market.price_factor[e, unit] \
        + market.pair_fixed[safe_pair]
    unit_cost = market.pair_pence[e, safe_pair]
    paid = np.where(at_unit, unit_paid, market.fb_paid[e, fallback] if F else 0.0)
    cost = np.where(at_unit, unit_cost, market.fb_pence[e, fallback] if F else 0) / 100.0
    waiting = status == WAITING
    waiting_cost = market.demand.waiting_cost[profile[waiting]].sum()
    miles = _miles(market, opt, pr)
    row[K["spend"]] = paid.sum() + waiting_cost
    row[K["cost"]] = cost.sum() + waiting_cost
    row[K["placed"]] = len(placed)
    row[K["waiting"]] = int(waiting.sum())
    row[K["new_placements"]] = len(made)
    if len(placed):
        row[K["mean_distance"]] = miles.mean()
        row[K["share_over_20"]] = (miles > 20).mean()
        row[K["share_in_borough"]] = (at_unit & un.in_home[unit]).mean()
    row[K["fallback_active"]] = int((~at_unit).sum())
    row[K["fallback_new"]] = int((option[made] >= m).sum())
    here = un.in_home & active & (market.places > 0)
    places = market.places[here].sum()
    if places:
        in_local = at_unit & here[unit]
        row[K["local_occupancy"]] = in_local.sum() / places
