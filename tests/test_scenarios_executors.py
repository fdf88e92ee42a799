"""The same comparison gives identical numbers in-process, on local processes and on Dask."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_support import GROWTH, small

from scenarios.montecarlo import compare


@pytest.fixture(scope="module")
def scenarios() -> tuple:
    return small(replications=5), small("growth", replications=5, interventions=GROWTH)


@pytest.fixture(scope="module")
def in_process(scenarios: tuple):
    return compare(*scenarios, workers=1)


def _same(one, other) -> None:
    for side in ("a", "b"):
        x, y = getattr(one, side), getattr(other, side)
        np.testing.assert_array_equal(x.replications, y.replications)
        np.testing.assert_array_equal(x.weekly, y.weekly)
        np.testing.assert_array_equal(x.distance_counts, y.distance_counts)
    assert one.differences().equals(other.differences())


def test_local_processes_match_one_process(scenarios: tuple, in_process) -> None:
    _same(in_process, compare(*scenarios, workers=2))


def test_dask_local_cluster_matches_local_processes(scenarios: tuple, in_process) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = compare(*scenarios, executor="dask", scheduler=cluster.scheduler_address)
    _same(in_process, on_dask)


def test_results_do_not_depend_on_which_replications_run_together(scenarios: tuple,
                                                                  in_process) -> None:
    """Replication 3 alone equals replication 3 of the batch: no shared state."""
    from scenarios.market import compile_market
    from scenarios.simulate import simulate

    market = compile_market(scenarios[0])
    alone = simulate(market, scenarios[0].seed, 3)
    np.testing.assert_array_equal(alone.weekly, in_process.a.weekly[3])
