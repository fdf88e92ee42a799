"""A scenario compiled once into numpy arrays: the market, its changes by week, and the pool.

Everything a replication needs is computed here, once per scenario, in the parent process:
the units file (plus the units interventions add, plus any plan-growth candidates) and a
calibrated pool of children are validated together through :func:`allocator.validate.
load_inputs`; the engine's :func:`allocator.eligibility.eligibility` then finds every
(pool child, unit) pair that passes the rules which do not change over the simulated year,
and :func:`allocator.costs.pair_pence` prices each pair in every *epoch* (a run of weeks with
the same interventions in force). A simulated week then only filters those pairs by the
rules that do change (free places, staff, availability, emergencies, suspended providers),
so no table is read or validated while the year runs.

The result, :class:`Market`, is plain arrays and frozen policies: it pickles in a few
megabytes and is shipped to every worker, local or Dask, unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.arrays import SETTINGS, Children, Units, children_arrays, units_arrays
from allocator.costs import fallback_pence, pair_pence, to_pence
from allocator.eligibility import eligibility, fallback_eligibility
from allocator.issues import InputError
from allocator.read import read_table
from allocator.validate import Inputs, load_inputs
from models.policy import Fallback, Policy
from scenarios.config import (
    AddUnits,
    ChangeDemand,
    ChangeFallback,
    ChangePrices,
    RemoveProvider,
    Scenario,
    SuspendProvider,
)
from scenarios.demand import DemandArrays, demand_arrays
from scenarios.geography import TOWN_INDEX, TOWNS

#: Default statement-of-purpose ages for units a scenario adds, by setting.
ADDED_AGES: dict[str, tuple[int, int]] = {
    "foster": (0, 17), "residential": (10, 17), "supported": (16, 17), "parent_child": (14, 25),
}
#: Placeholder far in the past: "already available / admitted" for the relaxed pair search.
LONG_AGO = -10**6


@dataclass(frozen=True)
class Market:
    """A compiled scenario. Units are the base market, then added units, then candidates.

    Epoch ``e`` covers simulated weeks ``epoch_start[e]`` up to the next start; per-epoch
    arrays have a leading epoch axis. Pairs are the pool's eligible (child, unit) pairs in
    CSR form by pool child (``pair_ptr``), under the rules that never change.
    """

    name: str
    weeks: int  # warm-up plus horizon
    warmup: int
    pool: Children
    pool_profile: np.ndarray  # setting index of each pool child's most intensive setting
    units: Units  # as in the files (vacancies = places open to the council)
    places: np.ndarray
    base_units: int  # the units of the base market come first
    n_candidates: int  # the last units are plan-growth candidates, off unless enabled
    epoch_start: np.ndarray
    active: np.ndarray  # (E, m) bool
    removed: np.ndarray  # (E, m) bool: children there move at the epoch's start
    price_factor: np.ndarray  # (E, m)
    policies: tuple[Policy, ...]
    fb_pence: np.ndarray  # (E, F) int64
    fb_paid: np.ndarray  # (E, F) £ a week
    fb_capacity: np.ndarray  # (E, F) new children a week, -1 unlimited
    fb_setting: np.ndarray  # (F,)
    fb_miles: np.ndarray  # (F,)
    fb_ok: np.ndarray  # (pool, F) bool
    pair_ptr: np.ndarray
    pair_unit: np.ndarray
    pair_miles: np.ndarray
    pair_pence: np.ndarray  # (E, P) int64
    pair_scaled: np.ndarray  # (P,) £ paid that price changes scale (price and staffing)
    pair_fixed: np.ndarray  # (P,) £ paid that they do not (therapy add-on)
    unplaced_pence: int
    demand: DemandArrays
    time_limit_s: float

    def epoch_of(self, week: int) -> int:
        return int(np.searchsorted(self.epoch_start, week, side="right") - 1)


def compile_market(scenario: Scenario, candidates: Sequence[AddUnits] = ()) -> Market:
    """Validate the scenario's inputs and precompute everything its replications share.

    Raises
    ------
    InputError
        For a units file (or an added unit) that breaks the data contract, naming the file,
        row and column as ``pdps validate`` would.
    """
    policy = scenario.policy_object()
    added = [i for i in scenario.interventions if isinstance(i, AddUnits)]
    specs = [u for a in added for u in [a] * a.count] + list(candidates)
    pool_frame = _pool_referrals(scenario)
    inputs = _validated(scenario, policy, pool_frame, specs)
    pool = children_arrays(inputs)
    pool = dataclasses.replace(pool, emergency=np.zeros(pool.n, dtype=bool))
    units = units_arrays(inputs)
    m = units.m
    n_base = m - len(specs)
    start_week = np.zeros(m, dtype=np.int64)
    k = n_base
    for a in added:
        start_week[k:k + a.count] = scenario.warmup_weeks + a.week
        k += a.count
    start_week[k:] = 0  # candidates: on from the start when enabled

    epoch_start = np.unique(np.r_[0, [scenario.warmup_weeks + i.week
                                      for i in scenario.interventions]]).astype(np.int64)
    weeks = scenario.warmup_weeks + scenario.horizon_weeks
    epoch_start = epoch_start[epoch_start < weeks]
    E = len(epoch_start)
    active = np.ones((E, m), dtype=bool)
    removed = np.zeros((E, m), dtype=bool)
    factor = np.ones((E, m))
    fallbacks = [list(policy.fallbacks) for _ in range(E)]
    fb_factor = np.ones((E, len(policy.fallbacks)))
    demand_factor = np.ones((E, len(SETTINGS)))
    for e, first in enumerate(epoch_start):
        active[e] = start_week <= first
        for change in scenario.interventions:
            begins = scenario.warmup_weeks + change.week
            if begins > first:
                continue
            _apply(change, e, begins == first, units, active, removed, factor, fallbacks,
                   fb_factor, demand_factor)
    if candidates:
        active[:, m - len(candidates):] = False  # on only where a run enables them
    policies = tuple(policy.model_copy(update={"fallbacks": tuple(
        fb.model_copy(update={"weekly_price": fb.weekly_price * fb_factor[e, f]})
        for f, fb in enumerate(fallbacks[e]))}) for e in range(E))

    relaxed = dataclasses.replace(
        units, vacancies=np.maximum(units.vacancies, 0),
        available_day=np.full(m, LONG_AGO), admitted_day=np.full(m, LONG_AGO))
    elig = eligibility(pool, relaxed, policy)  # rules that never change in a simulated year
    order = np.lexsort((elig.unit, elig.child))
    c, u = elig.child[order].astype(np.int64), elig.unit[order].astype(np.int64)
    miles = np.asarray(elig.miles)[order]
    offer = np.full(len(c), -1, dtype=np.int64)
    pence = np.stack([pair_pence(pool, _priced(units, factor[e]), policies[e], None, c, u,
                                 miles, offer) for e in range(E)]) if E else np.zeros((0, 0))
    scaled = units.price[u] + units.addon[u, pool.staff[c]]
    fixed = policy.therapy_addon * (pool.therapy[c] & ~units.therapeutic[u])
    return Market(
        name=scenario.name, weeks=weeks, warmup=scenario.warmup_weeks, pool=pool,
        pool_profile=profile_of(pool.settings), units=units, places=units.vacancies.copy(),
        base_units=n_base, n_candidates=len(candidates), epoch_start=epoch_start, active=active,
        removed=removed, price_factor=factor, policies=policies,
        fb_pence=np.stack([fallback_pence(p) for p in policies]).reshape(E, -1),
        fb_paid=np.array([[fb.weekly_price for fb in p.fallbacks] for p in policies],
                         dtype=float).reshape(E, -1),
        fb_capacity=np.array([[-1 if fb.capacity is None else fb.capacity
                               for fb in p.fallbacks] for p in policies],
                             dtype=np.int64).reshape(E, -1),
        fb_setting=np.array([SETTINGS.index(fb.setting.value) for fb in policy.fallbacks],
                            dtype=np.int64),
        fb_miles=np.array([fb.distance_miles for fb in policy.fallbacks], dtype=float),
        fb_ok=fallback_eligibility(pool, policy),
        pair_ptr=np.searchsorted(c, np.arange(pool.n + 1)).astype(np.int64),
        pair_unit=u, pair_miles=miles, pair_pence=pence, pair_scaled=scaled,
        pair_fixed=fixed.astype(float), unplaced_pence=int(to_pence(policy.weights.unplaced)),
        demand=demand_arrays(scenario.demand, profile_of(pool.settings), demand_factor,
                             epoch_start, weeks, pool.needs),
        time_limit_s=float(policy.solver.time_limit_s),
    )


def profile_of(settings: np.ndarray) -> np.ndarray:
    """The most intensive setting a care plan allows (as the demo generator's profiles):
    residential, then parent and child, then supported, else foster."""
    out = np.full(len(settings), SETTINGS.index("foster"), dtype=np.int64)
    for name in ("supported", "parent_child", "residential"):
        has = (settings >> SETTINGS.index(name)) & 1 == 1
        out[has] = SETTINGS.index(name)
    return out


def _priced(units: Units, factor: np.ndarray) -> Units:
    return dataclasses.replace(units, price=units.price * factor,
                               addon=units.addon * factor[:, None])


def _apply(change: object, e: int, starts_now: bool, units: Units, active: np.ndarray,
           removed: np.ndarray, factor: np.ndarray, fallbacks: list[list[Fallback]],
           fb_factor: np.ndarray, demand_factor: np.ndarray) -> None:
    """Fold one intervention in force at epoch ``e`` into that epoch's arrays."""
    if isinstance(change, SuspendProvider | RemoveProvider):
        mine = units.provider == change.provider
        active[e] &= ~mine
        if isinstance(change, RemoveProvider) and starts_now:
            removed[e] |= mine
    elif isinstance(change, ChangePrices):
        match = np.ones(units.m, dtype=bool)
        if change.route is not None:
            match &= units.route == _route_index(change.route.value)
        if change.setting is not None:
            match &= units.setting == SETTINGS.index(change.setting.value)
        factor[e, match] *= change.factor
        for f, fb in enumerate(fallbacks[e]):
            if (change.route in (None, fb.route)) and (change.setting in (None, fb.setting)):
                fb_factor[e, f] *= change.factor
    elif isinstance(change, ChangeFallback):
        for f, fb in enumerate(fallbacks[e]):
            if fb.route == change.route and fb.setting == change.setting:
                update: dict[str, object] = {}
                if change.capacity is not None or change.unlimited:
                    update["capacity"] = None if change.unlimited else change.capacity
                if change.weekly_price is not None:
                    update["weekly_price"] = change.weekly_price
                fallbacks[e][f] = fb.model_copy(update=update)
    elif isinstance(change, ChangeDemand):
        if change.setting is None:
            demand_factor[e] *= change.factor
        else:
            demand_factor[e, SETTINGS.index(change.setting.value)] *= change.factor


def _route_index(route: str) -> int:
    from allocator.arrays import ROUTES

    return ROUTES.index(route)


def _pool_referrals(scenario: Scenario) -> pd.DataFrame:
    """The calibrated children arrivals are drawn from: the demo generator's referrals for
    the pool's seed (``pdps demo-data --children N --seed S`` makes the same children), each
    referred alone: sibling groups are not simulated (docs/scenarios.md)."""
    from scenarios.demo_referrals import generate_referrals

    pool = scenario.demand.pool
    rng = np.random.default_rng(pool.seed).spawn(3)[1]
    frame = generate_referrals(rng, pool.children, scenario.as_of)
    frame["sibling_group"] = None
    frame["keep_together"] = None
    return frame


def _validated(scenario: Scenario, policy: Policy, pool: pd.DataFrame,
               specs: Sequence[AddUnits]) -> Inputs:
    """Base units + added units, validated with the pool in one pass of ``load_inputs``."""
    path = scenario.units_path()
    if path is not None:
        base = read_table(path, "units").frame
        label = str(path)
    else:
        from scenarios.demo_units import generate_units

        demo = scenario.market.demo
        assert demo is not None
        rng = np.random.default_rng(demo.seed).spawn(3)[0]
        base = read_table(generate_units(rng, demo.units, scenario.as_of), "units").frame
        label = f"demo market (units {demo.units}, seed {demo.seed})"
    rows = pd.DataFrame([_unit_row(spec, k) for k, spec in enumerate(specs)],
                        columns=list(base.columns), dtype=object).fillna("")
    units = pd.concat([base, rows], ignore_index=True) if len(rows) else base
    try:
        return load_inputs(pool, units, policy=policy, as_of=scenario.as_of)
    except InputError as exc:
        issues = []
        for issue in exc.issues:
            where = issue.file
            if issue.file == "units":
                added = issue.row is not None and issue.row - 2 >= len(base)
                where = "added units (interventions or candidates)" if added else label
            issues.append(dataclasses.replace(issue, file=where))
        raise InputError(issues) from None


def _unit_row(spec: AddUnits, k: int) -> dict[str, str]:
    """A contract ``units`` row, as text, for one unit a scenario adds."""
    if spec.place is not None:
        town = TOWNS[TOWN_INDEX[spec.place]]
        lat, lon, authority = town.lat, town.lon, town.authority
    else:
        lat, lon, authority = spec.lat, spec.lon, spec.local_authority
    low, high = ADDED_AGES[spec.setting.value]
    return {
        "unit_id": f"NEW{k + 1:04d}", "provider_id": spec.provider or f"NEW-{spec.route.value}",
        "provider_name": spec.provider or "New provision (scenario)",
        "setting": spec.setting.value, "route": spec.route.value,
        "ownership": "PR1" if spec.route.value == "in_house" else "PR4",
        "local_authority": str(authority), "lat": repr(float(lat)), "lon": repr(float(lon)),
        "ofsted_rating": spec.ofsted_rating.value,
        "age_min": str(low if spec.age_min is None else spec.age_min),
        "age_max": str(high if spec.age_max is None else spec.age_max),
        "sexes": spec.sexes, "needs_supported": ";".join(n.value for n in spec.needs),
        "vacancies": str(spec.places), "staff_capacity": str(spec.staff_capacity),
        "accepts_emergency": "true" if spec.accepts_emergency else "false",
        "weekly_price": repr(float(spec.price)),
        "therapeutic": "true" if spec.therapeutic else "false",
    }

