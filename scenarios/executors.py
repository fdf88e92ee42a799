"""Where replications run: this process, local worker processes, or a Dask cluster.

A replication's result depends only on (compiled market, seed, replication, enabled
candidates), never on the process, the worker count or the order of completion: each draws
from its own ``SeedSequence(seed)`` child and the weekly solves are deterministic. So the
executors only differ in speed, and results are put back in replication order.

Work is sent as *jobs* (a market key, a seed, the candidates enabled) and chunks of
replication numbers. Markets go to each worker once: to local processes through the pool's
initializer (spawn-safe: nothing is inherited by forking), to Dask workers by
``client.scatter(..., broadcast=True)``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from allocator.progress import progress
from scenarios.market import Market
from scenarios.simulate import Replication, Start, simulate, starting_placements

Executor = Literal["local", "dask"]


@dataclass(frozen=True)
class Job:
    """One set of replications to run: a market (by key), a seed, candidates switched on."""

    market: str
    seed: int
    replications: tuple[int, ...]
    enable: np.ndarray | None = None


#: In a worker: the markets of the run it serves, and the starting pictures it computed.
_MARKETS: dict[str, Market] = {}
_STARTS: dict[tuple[str, int], Start] = {}


def _install(markets: dict[str, Market]) -> None:
    """Pool initializer: keep the run's markets for every task this worker gets."""
    _MARKETS.clear()
    _MARKETS.update(markets)
    _STARTS.clear()


def _run_chunk(job: Job, chunk: tuple[int, ...],
               markets: dict[str, Market] | None = None) -> list[Replication]:
    """Run some replications of a job (in whichever process this is)."""
    book = _MARKETS if markets is None else markets
    market = book[job.market]
    key = (job.market, job.seed)
    start = _STARTS.get(key)
    if start is None:
        start = _STARTS[key] = starting_placements(market, job.seed)
    return [simulate(market, job.seed, r, job.enable, start) for r in chunk]


def default_workers() -> int:
    """Local processes by default: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_jobs(markets: dict[str, Market], jobs: Sequence[Job], *, executor: Executor = "local",
             workers: int | None = None, scheduler: str | None = None,
             desc: str = "replications") -> list[list[Replication]]:
    """Run every job's replications; return, per job, its results in replication order.

    ``executor="local"`` uses ``workers`` processes (default: the cores available; 1 runs
    in this process). ``executor="dask"`` connects to the Dask scheduler at ``scheduler``
    and uses all its workers.
    """
    # Keys unique to this run, so a long-lived worker never mixes two runs' markets.
    token = uuid.uuid4().hex[:8]
    markets = {f"{token}:{k}": v for k, v in markets.items()}
    jobs = [Job(f"{token}:{j.market}", j.seed, j.replications, j.enable) for j in jobs]
    workers = default_workers() if workers is None else max(1, workers)
    total = sum(len(j.replications) for j in jobs)
    if executor == "dask":
        tasks = list(_chunks(jobs, _chunk_size(total, 8)))
        done = _dask(markets, tasks, scheduler, desc)
    elif workers == 1:
        _install(markets)
        tasks = list(_chunks(jobs, 1))
        done = {}
        for k, (job, chunk) in progress(enumerate(tasks), total=len(tasks), desc=desc,
                                        unit="replications", min_items=2):
            done[k] = _run_chunk(job, chunk)
        _install({})
    else:
        tasks = list(_chunks(jobs, _chunk_size(total, workers)))
        done = _local(markets, tasks, workers, desc)
    results: list[list[Replication]] = [[] for _ in jobs]
    owner = {id(job): j for j, job in enumerate(jobs)}
    for k, (job, _) in enumerate(tasks):
        results[owner[id(job)]].extend(done[k])
    return results


def _chunk_size(total: int, workers: int) -> int:
    """About four chunks per worker: even load, few messages."""
    return max(1, math.ceil(total / (4 * workers)))


def _chunks(jobs: Sequence[Job], size: int) -> Iterator[tuple[Job, tuple[int, ...]]]:
    for job in jobs:
        reps = job.replications
        for first in range(0, len(reps), size):
            yield job, tuple(reps[first:first + size])


def _local(markets: dict[str, Market], tasks: list[tuple[Job, tuple[int, ...]]],
           workers: int, desc: str) -> dict[int, list[Replication]]:
    context = multiprocessing.get_context("spawn")
    done: dict[int, list[Replication]] = {}
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                             initializer=_install, initargs=(markets,)) as pool:
        futures = {pool.submit(_run_chunk, job, chunk): k
                   for k, (job, chunk) in enumerate(tasks)}
        for future in _counted(as_completed(futures), len(tasks), desc):
            done[futures[future]] = future.result()
    return done


class ExecutorUnavailableError(ValueError):
    """The chosen executor cannot run here: no scheduler given or reachable, or no Dask.

    A ValueError, as before, for API callers; the CLI reports it as a usage error (exit 2).
    """


#: Seconds to wait for a Dask scheduler before saying it cannot be reached.
DASK_CONNECT_TIMEOUT_S = 10


def _dask(markets: dict[str, Market], tasks: list[tuple[Job, tuple[int, ...]]],
          scheduler: str | None, desc: str) -> dict[int, list[Replication]]:
    if not scheduler:
        raise ExecutorUnavailableError("--executor dask needs --scheduler ADDRESS (tcp://host:port)")
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ExecutorUnavailableError("the Dask executor needs the 'scenarios' extra: "
                                  "pip install 'pdps-allocator[scenarios]'") from exc
    done: dict[int, list[Replication]] = {}
    try:
        client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ExecutorUnavailableError(f"could not reach the Dask scheduler at {scheduler} "
                                  f"({type(exc).__name__}: {exc})") from exc
    with client:
        shared = client.scatter(markets, broadcast=True)
        futures = client.map(_run_chunk, [t[0] for t in tasks], [t[1] for t in tasks],
                             markets=shared, pure=False)
        index = {f.key: k for k, f in enumerate(futures)}
        for future in _counted(dask_completed(futures), len(tasks), desc):
            done[index[future.key]] = future.result()
    return done


def _counted(finished: Any, count: int, desc: str) -> Iterator[Any]:
    """Yield finished futures, advancing a terminal's progress bar chunk by chunk."""
    yield from progress(finished, total=count, desc=desc, unit="chunks", min_items=2)


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True

