"""Monte Carlo over replications, and paired comparisons with common random numbers.

:func:`run` simulates one scenario ``replications`` times; :func:`compare` simulates two
with the *same* seed and replication numbers, so replication ``r`` of each sees the same
children arriving in the same weeks with the same needs, urgency, placement lengths and
breakdowns (:mod:`scenarios.demand`). The difference of each measure is then taken
replication by replication, and its mean comes with a 95% interval from the spread of those
paired differences: far narrower than comparing two independent means, and exactly zero
when a scenario is compared with itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from allocator.issues import InputError, Issue
from scenarios.config import Scenario
from scenarios.executors import Executor, Job, run_jobs
from scenarios.market import Market, compile_market
from scenarios.simulate import DISTANCE_BINS, KPIS, K, Replication

#: Per-replication totals over the horizon: name -> (weekly measure, how it is combined).
TOTALS: dict[str, tuple[str, str]] = {
    "total_spend": ("spend", "sum"),
    "total_cost": ("cost", "sum"),
    "mean_weekly_spend": ("spend", "mean"),
    "mean_distance": ("mean_distance", "mean"),
    "share_over_20": ("share_over_20", "mean"),
    "share_in_borough": ("share_in_borough", "mean"),
    "fallback_placements": ("fallback_new", "sum"),
    "fallback_weeks": ("fallback_active", "sum"),
    "waiting_weeks": ("waiting", "sum"),
    "new_placements": ("new_placements", "sum"),
    "breakdowns": ("breakdowns", "sum"),
    "local_occupancy": ("local_occupancy", "mean"),
}


@dataclass
class RunResult:
    """Every replication of one scenario: weekly measures and distance counts."""

    scenario: str
    seed: int
    replications: np.ndarray
    weekly: np.ndarray  # (R, weeks, len(KPIS))
    distance_counts: np.ndarray  # (R, bins)
    methods: np.ndarray  # (R, 3): weeks settled by own choice, assignment, engine
    meta: dict = field(default_factory=dict)

    def totals(self) -> pd.DataFrame:
        """One row per replication: the horizon's totals and means (see :data:`TOTALS`)."""
        columns = {}
        for name, (kpi, how) in TOTALS.items():
            values = self.weekly[:, :, K[kpi]]
            columns[name] = values.sum(axis=1) if how == "sum" else values.mean(axis=1)
        return pd.DataFrame(columns, index=pd.Index(self.replications, name="replication"))

    def summary(self) -> pd.DataFrame:
        """Mean of each total over replications, with its 95% interval."""
        return interval_table(self.totals())

    def weekly_table(self) -> pd.DataFrame:
        """Week by week: each measure's mean over replications and its 95% interval."""
        mean, low, high = mean_interval(self.weekly, axis=0)
        frames = []
        for k, name in enumerate(KPIS):
            frames.append(pd.DataFrame({"week": np.arange(self.weekly.shape[1]),
                                        "measure": name, "mean": mean[:, k],
                                        "low": low[:, k], "high": high[:, k]}))
        return pd.concat(frames, ignore_index=True)

    def distance_table(self) -> pd.DataFrame:
        """Placements made in the horizon by distance band: mean count and share."""
        counts = self.distance_counts.mean(axis=0)
        labels = [f"{DISTANCE_BINS[i]:g}-{DISTANCE_BINS[i + 1]:g}"
                  if np.isfinite(DISTANCE_BINS[i + 1]) else f"{DISTANCE_BINS[i]:g}+"
                  for i in range(len(DISTANCE_BINS) - 1)]
        return pd.DataFrame({"miles": labels, "mean_placements": counts,
                             "share": counts / max(counts.sum(), 1e-12)})


@dataclass
class Comparison:
    """Two scenarios run on common random numbers, and their paired differences (B - A)."""

    a: RunResult
    b: RunResult

    def differences(self) -> pd.DataFrame:
        """Per total: mean of A, mean of B, mean of B - A and its 95% interval."""
        ta, tb = self.a.totals(), self.b.totals()
        table = interval_table(tb - ta)
        table.insert(0, "b", tb.mean().to_numpy())
        table.insert(0, "a", ta.mean().to_numpy())
        return table.rename(columns={"mean": "difference"})


def mean_interval(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, ...]:
    """Mean and a 95% Student-t interval over ``axis`` (NaN bounds with one value)."""
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        nan = np.full_like(mean, np.nan, dtype=float)
        return mean, nan, nan
    half = stats.t.ppf(0.975, n - 1) * values.std(axis=axis, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def interval_table(totals: pd.DataFrame) -> pd.DataFrame:
    mean, low, high = mean_interval(totals.to_numpy(dtype=float), axis=0)
    return pd.DataFrame({"mean": mean, "low": low, "high": high},
                        index=pd.Index(totals.columns, name="measure"))


def run(scenario: Scenario, *, replications: int | None = None, seed: int | None = None,
        executor: Executor = "local", workers: int | None = None,
        scheduler: str | None = None) -> RunResult:
    """Simulate ``scenario`` (its own replications and seed unless overridden)."""
    scenario = _override(scenario, replications, seed)
    market = compile_market(scenario)
    return run_markets({"s": market}, [("s", None)], scenario, executor=executor,
                       workers=workers, scheduler=scheduler)[0]


def compare(a: Scenario, b: Scenario, *, replications: int | None = None,
            seed: int | None = None, executor: Executor = "local", workers: int | None = None,
            scheduler: str | None = None) -> Comparison:
    """Simulate ``a`` and ``b`` with common random numbers: ``a``'s seed and replications."""
    if (a.horizon_weeks, a.warmup_weeks) != (b.horizon_weeks, b.warmup_weeks):
        raise InputError([Issue(b.name, None, "horizon_weeks",
                                "to compare, both scenarios need the same horizon_weeks and "
                                "warmup_weeks", "scenario")])
    a = _override(a, replications, seed)
    b = _override(b, a.replications, a.seed)
    markets = {"a": compile_market(a), "b": compile_market(b)}
    ra, rb = run_markets(markets, [("a", None), ("b", None)], a, executor=executor,
                         workers=workers, scheduler=scheduler, names=[a.name, b.name])
    return Comparison(ra, rb)


def run_markets(markets: dict[str, Market], variants: list[tuple[str, np.ndarray | None]],
                scenario: Scenario, *, executor: Executor = "local", workers: int | None = None,
                scheduler: str | None = None, names: list[str] | None = None,
                first_replication: int = 0) -> list[RunResult]:
    """Run several (market, enabled candidates) variants on the same replications."""
    reps = tuple(range(first_replication, first_replication + scenario.replications))
    jobs = [Job(key, scenario.seed, reps, enable) for key, enable in variants]
    results = run_jobs(markets, jobs, executor=executor, workers=workers,
                       scheduler=scheduler, desc=scenario.name)
    names = names or [scenario.name] * len(variants)
    return [_collect(name, scenario.seed, reps, done) for name, done in
            zip(names, results, strict=True)]


def _collect(name: str, seed: int, reps: tuple[int, ...],
             done: list[Replication]) -> RunResult:
    done = sorted(done, key=lambda r: r.replication)
    return RunResult(name, seed, np.array(reps), np.stack([r.weekly for r in done]),
                     np.stack([r.distance_counts for r in done]),
                     np.stack([r.methods for r in done]))


def _override(scenario: Scenario, replications: int | None, seed: int | None) -> Scenario:
    changes = {}
    if replications is not None:
        changes["replications"] = int(replications)
    if seed is not None:
        changes["seed"] = int(seed)
    return scenario.with_changes(**changes) if changes else scenario
