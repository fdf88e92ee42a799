"""One simulated week's allocation: the queue against the places still open, exactly.

The week's eligible pairs are the compiled pool pairs (:mod:`scenarios.market`) that pass
the rules of that week: a free place, enough free staff for enhanced staffing, available in
time (now for an emergency, within the planned window otherwise), admitted, taking
emergencies when the child is one, and run by a provider not suspended. Each pair's cost is
the engine's :func:`allocator.costs.pair_pence` for the epoch. Then, cheapest proof first:

1. every child's own cheapest option has room for all who chose it: that is the optimum
   (each child's minimum is a lower bound on its term, and the choice is feasible);
2. no unit's free staff can run short: the engine's model is then an assignment problem
   (places as slots), solved exactly as a small dense assignment with SciPy's
   ``linear_sum_assignment``; ``tests/test_scenarios_engine.py`` checks it reaches the
   engine's optimum week after week;
3. otherwise the engine itself: :func:`allocator.model.build_model` and
   :func:`allocator.solve.solve` (min-cost flow, or HiGHS when staff rows bind).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.optimize import linear_sum_assignment

from allocator.arrays import Children
from allocator.costs import PairCosts
from allocator.eligibility import RULES, Eligibility
from allocator.model import build_model
from allocator.solve import SolveSettings, solve
from allocator.sorting import ranges
from scenarios.market import Market

NO_CONFLICTS = np.zeros((0, 2), dtype=np.int64)
#: How each week was settled, for the profile of where the time goes.
OWN_CHOICE, ASSIGNMENT, ENGINE = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Week:
    """The queue's eligible pairs this week and what they cost (pence)."""

    who: np.ndarray  # pool index of each child in the queue
    emergency: np.ndarray
    child: np.ndarray  # queue position of each pair
    unit: np.ndarray
    pair: np.ndarray  # index into the market's pool pairs
    pence: np.ndarray


def week_pairs(market: Market, t: int, e: int, who: np.ndarray, emergency: np.ndarray,
               active: np.ndarray, open_places: np.ndarray, staff_open: np.ndarray) -> Week:
    """Filter the queue's pool pairs by the rules that change from week to week."""
    un, policy = market.units, market.policies[e]
    lengths = market.pair_ptr[who + 1] - market.pair_ptr[who]
    idx = ranges(market.pair_ptr[who], lengths)
    child = np.repeat(np.arange(len(who)), lengths)
    u = market.pair_unit[idx]
    window = np.where(emergency[child], 0, policy.rules.planned_window_days)
    ok = (active[u] & (open_places[u] >= 1) & (staff_open[u] >= market.pool.staff[who][child])
          & (un.available_day[u] - 7 * t <= window) & (un.admitted_day[u] - 7 * t <= 0)
          & (~emergency[child] | un.emergency[u]))
    idx = idx[ok]
    return Week(who, emergency, child[ok], u[ok], idx, market.pair_pence[e, idx])


def allocate_week(market: Market, t: int, e: int, who: np.ndarray, emergency: np.ndarray,
                  active: np.ndarray, open_places: np.ndarray, staff_open: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Allocate the queue ``who``; return each child's option and pool pair, and the method.

    Options are unit indices, ``m + f`` for fallback ``f``, ``m + F`` for unplaced; the pair
    is -1 for a fallback or unplaced.
    """
    week = week_pairs(market, t, e, who, emergency, active, open_places, staff_open)
    un, m = market.units, market.units.m
    F = market.fb_pence.shape[1]
    fb_ok, fb_pence, capacity = market.fb_ok[who], market.fb_pence[e], market.fb_capacity[e]
    room = np.where(un.max_new < 0, open_places, np.minimum(open_places, un.max_new))
    staff = market.pool.staff[who]
    choice, chosen = own_cheapest(week, fb_ok, fb_pence, market.unplaced_pence, m)
    at_unit = choice < m
    load = np.bincount(choice[at_unit], minlength=m)
    staff_load = np.bincount(choice[at_unit], weights=staff[at_unit], minlength=m)
    fb_load = np.bincount(choice[(choice >= m) & (choice < m + F)] - m, minlength=F)
    if ((load <= room).all() and (staff_load <= staff_open).all()
            and ((capacity < 0) | (fb_load <= capacity)).all()):
        return choice, chosen, OWN_CHOICE
    staff_demand = np.bincount(week.unit, weights=staff[week.child], minlength=m)
    if (staff_demand <= staff_open).all():
        choice, chosen = assignment(week, room, fb_ok, fb_pence, capacity,
                                    market.unplaced_pence, m)
        return choice, chosen, ASSIGNMENT
    return *engine(market, e, week, active, open_places, staff_open), ENGINE


def own_cheapest(week: Week, fb_ok: np.ndarray, fb_pence: np.ndarray, unplaced: int,
                 m: int) -> tuple[np.ndarray, np.ndarray]:
    """Each child's own cheapest option: a unit (lowest index on ties), else a fallback,
    else unplaced."""
    n, F = len(week.who), len(fb_pence)
    best = np.full(n, unplaced, dtype=np.int64)
    choice = np.full(n, m + F, dtype=np.int64)
    chosen = np.full(n, -1, dtype=np.int64)
    if F:
        costs = np.where(fb_ok, fb_pence[None, :], np.iinfo(np.int64).max)
        f = costs.argmin(axis=1)
        c = costs[np.arange(n), f]
        better = c <= best
        best[better], choice[better] = c[better], m + f[better]
    if len(week.child):
        order = np.lexsort((week.unit, week.pence, week.child))
        kid = week.child[order]
        first = order[np.r_[True, kid[1:] != kid[:-1]]]
        kid = week.child[first]
        better = week.pence[first] <= best[kid]
        choice[kid[better]] = week.unit[first][better]
        chosen[kid[better]] = week.pair[first][better]
    return choice, chosen


def assignment(week: Week, room: np.ndarray, fb_ok: np.ndarray, fb_pence: np.ndarray,
               capacity: np.ndarray, unplaced: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The optimum when only places (not staff) are shared: children x place slots.

    A unit with ``k`` places is ``min(k, n)`` identical slots, a fallback its weekly capacity
    (or ``n``) slots, and each child has its own unplaced slot; forbidden pairs are ``inf``.
    Costs are whole pence, far below 2^53, so the float arithmetic is exact.
    """
    n, F = len(week.who), len(fb_pence)
    units, inverse = np.unique(week.unit, return_inverse=True)
    slots = np.minimum(room[units], n)
    start = np.r_[0, np.cumsum(slots)[:-1]].astype(np.int64)
    fb_slots = np.where(capacity < 0, n, np.minimum(capacity, n)).astype(np.int64)
    fb_start = int(slots.sum()) + np.r_[0, np.cumsum(fb_slots)[:-1]].astype(np.int64)
    first_unplaced = int(slots.sum() + fb_slots.sum())
    cost = np.full((n, first_unplaced + n), np.inf)
    lengths = slots[inverse]
    cost[np.repeat(week.child, lengths), ranges(start[inverse], lengths)] = np.repeat(
        week.pence.astype(float), lengths)
    for f in range(F):
        rows = np.flatnonzero(fb_ok[:, f])
        cost[rows[:, None], fb_start[f] + np.arange(fb_slots[f])[None, :]] = float(fb_pence[f])
    cost[:, first_unplaced:] = float(unplaced)
    rows, cols = linear_sum_assignment(cost)
    choice = np.full(n, m + F, dtype=np.int64)
    chosen = np.full(n, -1, dtype=np.int64)
    in_unit = cols < int(slots.sum())
    slot_unit = units[np.searchsorted(start, cols[in_unit], side="right") - 1]
    choice[rows[in_unit]] = slot_unit
    key = week.child.astype(np.int64) * m + week.unit
    chosen[rows[in_unit]] = week.pair[np.searchsorted(key, rows[in_unit] * m + slot_unit)]
    in_fallback = ~in_unit & (cols < first_unplaced)
    if F:
        f = np.searchsorted(fb_start, cols[in_fallback], side="right") - 1
        choice[rows[in_fallback]] = m + f
    return choice, chosen


def engine(market: Market, e: int, week: Week, active: np.ndarray, open_places: np.ndarray,
           staff_open: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The week through the engine's own model and solver."""
    n, m = len(week.who), market.units.m
    F = market.fb_pence.shape[1]
    children = take(market.pool, week.who, week.emergency)
    elig = Eligibility(week.child.astype(np.int32), week.unit.astype(np.int32),
                       np.ones(len(week.unit), dtype=np.int32),
                       np.full(len(week.unit), -1, dtype=np.int32),
                       np.zeros((n, len(RULES)), dtype=np.int64), market.fb_ok[week.who],
                       pence=week.pence)
    units = dataclasses.replace(market.units, vacancies=np.where(active, open_places, 0),
                                staff_capacity=staff_open)
    model = build_model(children, units, elig, PairCosts(week.pence), market.policies[e],
                        NO_CONFLICTS)
    solution = solve(model, children, SolveSettings(time_limit_s=market.time_limit_s,
                                                    seed=0, workers=1))
    choice = np.full(n, m + F, dtype=np.int64)
    chosen = np.full(n, -1, dtype=np.int64)
    columns = solution.columns
    kid = model.entity_children[model.entity_ptr[model.col_entity[columns]]]
    choice[kid] = model.col_option[columns]
    member = model.member_pair[model.member_ptr[columns]]
    chosen[kid] = np.where(member >= 0, week.pair[np.maximum(member, 0)], -1)
    return choice, chosen


def take(pool: Children, who: np.ndarray, emergency: np.ndarray) -> Children:
    """The queue as the engine's :class:`~allocator.arrays.Children`: pool rows ``who``
    (single children, a pool child possibly more than once), with this week's urgency."""
    who = np.asarray(who, dtype=np.int64)
    by_child = np.argsort(who, kind="stable")
    low = np.searchsorted(who[by_child], pool.avoid_child, side="left")
    high = np.searchsorted(who[by_child], pool.avoid_child, side="right")
    entry = np.repeat(np.arange(len(pool.avoid_child)), high - low)
    fields = {f.name: getattr(pool, f.name)[who] for f in dataclasses.fields(pool)
              if f.name not in ("avoid_child", "avoid_key", "avoid_code", "group_names",
                                "keep_group", "group", "emergency")}
    return Children(**fields, emergency=np.asarray(emergency, dtype=bool),
                    avoid_child=by_child[ranges(low, high - low)],
                    avoid_key=pool.avoid_key[entry], avoid_code=pool.avoid_code[entry],
                    group=np.full(len(who), -1, dtype=np.int64),
                    group_names=np.zeros(0, dtype=object), keep_group=np.zeros(0, dtype=bool))
