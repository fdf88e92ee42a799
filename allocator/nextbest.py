"""The runner-up for each placement, and what it would cost the whole allocation: measured.

"Why not the other unit?" deserves a number, not a guess. Forcing a child into another
option sets off a chain: the child it displaces moves to its next choice, which displaces
another, until someone reaches a free place (or the place the first child left). For the
children who can move freely (no sibling group, conflict, enhanced staffing or multi-place
offer) that chain is a shortest path between *options*, where moving child ``e2`` from
option ``o`` to ``o2`` costs ``cost(e2, o2) - cost(e2, o)``:

    extra(e -> o') = cost(e, o') - cost(e, o*) + min(dist(o' -> free place), dist(o' -> o*))

``dist(. -> free place)`` is one label-correcting pass for all options; ``dist(o' -> o*)`` is
one Dijkstra per full option ``o*``, on weights made non-negative by the first distances and
stopped as soon as it cannot beat them. For a model that is only such children, this *is*
the forced re-optimisation, so the figure is exact. When sibling groups, conflicts or staff
rows are present, the chain is one feasible re-allocation, an upper bound; the runner-up's
figure is then checked by re-solving the whole model with that option forced (warm LP, and
the MIP if the LP is fractional), and marked proven when the search is complete.

The effort is a *count* of forced re-solves (``max_forced``), never wall-clock time, so the
same inputs always give the same explanations, byte for byte. Runner-ups left unmeasured
when the count runs out keep their chain figure (a feasible re-allocation's exact cost, so
an upper bound) and are marked unproven.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocator.greedy import entity_columns
from allocator.model import MEMBER, SINGLE, Model
from allocator.repair import Repair
from allocator.solve import Solution
from allocator.sorting import lexsort, ranges

UNSET = np.iinfo(np.int64).max
#: Label-correcting passes before the chains are given up (see _distance_to_free).
MAX_CHAIN_PASSES = 400
#: Distances held at once by the batched Dijkstra of :func:`_chain_extras` (8 bytes each).
DIJKSTRA_BATCH_CELLS = 100_000


@dataclass(frozen=True)
class RunnerUp:
    column: int  # -1 when the entity had no other option
    extra: int  # pence the whole allocation would cost more
    proven: bool  # the figure is the exact forced optimum for that option


#: Most alternatives measured exactly for one entity before settling for the best so far.
MAX_FORCED = 8
#: A forced re-solve that takes this long is abandoned (a guard, not a budget: normal
#: re-solves take milliseconds, so the limit never decides a result on a healthy run).
FORCED_SAFETY_S = 60.0


#: Forced re-solves for models up to this many columns; larger models (regional batches
#: and up) keep to the displacement chains, whose figures are then marked unproven where
#: side rules exist, rather than spend minutes re-solving.
FORCED_COLUMN_LIMIT = 100_000
#: Most forced re-solves in one run, and the work they may take in all, counted in model
#: columns (one re-solve of a model of K columns counts K). A re-solve costs roughly in
#: proportion to the model: 200 of them on a 300-child market (22,657 columns) took 37 s,
#: most of a 40 s run. With this budget that market would get 8, fewer than
#: MIN_FORCED_SOLVES, so none; the demo (2,232 columns) may use 89 and needs fewer.
MAX_FORCED_SOLVES = 200
FORCED_WORK_COLUMNS = 200_000
#: Fewer re-solves than this are not started at all: setting up the forced solver costs a
#: whole LP solve, and a re-solve that needs the MIP costs more. A stress test's scarce
#: market (90,000 columns, so 2 re-solves) spent 7.4 s proving 2 runner-ups of 850.
MIN_FORCED_SOLVES = 10
#: Alternatives (best estimated first) tried by local repair when one is left unmeasured.
REPAIR_TRIES = 3
#: The forced MIPs' own budget, in model columns: the demo (2,232 columns, 6 MIPs) may run
#: 22; a 12,000-column market 4.
FORCED_MIP_WORK_COLUMNS = 50_000
#: And in HiGHS simplex iterations over all the forced MIPs, counted after each (so the last
#: may overrun it). Found in review: on OR-Library GAP instances, whose forced MIPs each
#: need root cuts, 10 x 40 (440 columns) ran 113 forced MIPs of 180,000 iterations in
#: 77 s, beside a 0.6 s solve. The count, unlike seconds, keeps explanations
#: byte-identical. Such MIPs cost about 0.6 ms an iteration (cuts, not pivots): 20,000 still
#: left GAP runs at 6-19 s (median 10.5 s); 5,000 is about 3 s. The demo needs none; a
#: 300-child stress market of cheap MIPs used 6,100.
FORCED_MIP_ITERATIONS = 5_000


def runner_ups(model: Model, solution: Solution, seed: int,
               max_forced: int | None = None) -> dict[int, RunnerUp]:
    """The runner-up of every entity that holds a chosen column.

    Where the displacement chain is exact (no side rules anywhere) it decides alone.
    Otherwise alternatives are measured by forced re-solves in order of their chain (or
    price) estimate, and the search stops when no untried alternative's Lagrangian lower
    bound could beat the best measured; ``proven`` says it stopped for that reason.
    """
    if max_forced is None:
        max_forced = min(MAX_FORCED_SOLVES, FORCED_WORK_COLUMNS // max(model.n_columns, 1))
        if model.n_columns > FORCED_COLUMN_LIMIT or max_forced < MIN_FORCED_SOLVES:
            max_forced = 0
    # Against an allocation not proven optimal, a forced re-solve measures mostly that
    # allocation's own gap (found in review: "-£208,466 a week" beside a greedy placement),
    # and the chains are only moves from it: nothing is proven, and nothing is re-solved.
    optimal = solution.status == "optimal"
    if not optimal:
        max_forced = 0
    chosen_of = np.full(model.n_entities, -1, dtype=np.int64)
    chosen_of[model.col_entity[solution.columns]] = solution.columns
    by_entity, ptr = entity_columns(model)
    movable = _movable(model)
    chain, settled = _chain_extras(model, solution, chosen_of, movable)
    # Chains that did not settle (passes ran out) prove nothing: no "pure" shortcut then.
    pure = optimal and settled and bool(movable.all()) and len(model.split_group) == 0
    out: dict[int, RunnerUp] = {}
    forced: ForcedSolver | None = None
    repair: Repair | None = None

    def unmeasured(order: np.ndarray, has_chain: bool) -> RunnerUp:
        """The chain's figure, else the cheapest of a few local repairs (allocator/repair.py)
        and of the alternatives' chains, else none: each a feasible re-allocation's cost, so
        an upper bound, unproven."""
        nonlocal repair
        up = _unmeasured(order[0], chain, has_chain)
        if up.extra >= 0 or not optimal:
            return up
        if repair is None:
            repair = Repair(model, solution.columns, solution.split)
        found = [(extra, int(column)) for column in order[:REPAIR_TRIES]
                 if (extra := repair.extra(int(column))) is not None]
        if has_chain:
            # The best-estimated alternative had no chain (its unit is full of children
            # with side rules) and no repair, but a later one may have a chain: a figure
            # for a real alternative beats "not measured" (found on the regional batch: 55
            # children with side-rule-free chains to dozens of units had none).
            chained = order[np.isfinite(chain[order])]
            if len(chained):
                found.append((round(chain[chained[0]]), int(chained[0])))
        return RunnerUp(min(found)[1], min(found)[0], False) if found else up

    def measured(order: np.ndarray, has_chain: bool) -> RunnerUp:
        """Forced re-solves in ``order`` while the count allows, else the estimate."""
        nonlocal forced
        if max_forced == 0 or (forced is not None and forced.solves >= max_forced):
            return unmeasured(order, has_chain)
        if forced is None:
            forced = ForcedSolver(model, seed, solution.objective)
        return forced.runner_up(order, max_forced) or unmeasured(order, has_chain)

    for e in np.flatnonzero(chosen_of >= 0):
        columns = by_entity[ptr[e]:ptr[e + 1]]
        others = columns[columns != chosen_of[e]]
        if not len(others):
            out[int(e)] = RunnerUp(-1, 0, True)
            continue
        estimate = chain[others] if movable[e] else np.full(len(others), np.inf)
        estimate = np.where(np.isfinite(estimate), estimate,
                            model.col_cost[others] - model.col_cost[chosen_of[e]])
        order = others[np.lexsort((others, estimate))]
        if pure:  # the chain is exact; an infinite one means the option cannot be forced
            feasible_order = order[np.isfinite(chain[order])]
            out[int(e)] = (RunnerUp(int(feasible_order[0]), round(chain[feasible_order[0]]),
                                    True) if len(feasible_order) else RunnerUp(-1, 0, True))
            continue
        out[int(e)] = measured(order, bool(movable[e]))
    # A sibling group that may split: each child's runner-up is its own (found in audit:
    # every member was shown the whole group's move, £4,360 where moving one child and
    # paying the split cost £2,100). Its options are the child's own columns (the group
    # splits) and the group's together columns (all move), each at another option than the
    # child's now; the figures come from forced re-solves, as for any side-ruled entity.
    for member, together in _split_members(model):
        now = chosen_of[member] if chosen_of[member] >= 0 else chosen_of[together]
        if now < 0:
            continue
        own = by_entity[ptr[member]:ptr[member + 1]]
        whole = by_entity[ptr[together]:ptr[together + 1]]
        others = np.concatenate([own, whole])
        others = others[model.col_option[others] != model.col_option[now]]
        if not len(others):
            out[int(member)] = RunnerUp(-1, 0, True)
            continue
        estimate = model.col_cost[others] - np.where(
            model.col_entity[others] == model.col_entity[now], model.col_cost[now], 0)
        out[int(member)] = measured(others[np.lexsort((others, estimate))], False)
    return out


def _split_members(model: Model) -> list[tuple[int, int]]:
    """(member entity, its group's together entity) for every group that may split."""
    pairs = []
    for together in model.split_together:
        group = model.entity_group[together]
        members = np.flatnonzero((model.entity_kind == MEMBER) & (model.entity_group == group))
        pairs += [(int(member), int(together)) for member in members]
    return pairs


def runner_up_entity(model: Model) -> np.ndarray:
    """Per child, the entity whose runner-up is its own: its member entity in a group that
    may split (see :func:`runner_ups`), else -1 (the entity of its chosen column)."""
    out = np.full(model.n_children, -1, dtype=np.int64)
    for member, _ in _split_members(model):
        out[model.entity_children[model.entity_ptr[member]]] = member
    return out


def _unmeasured(column: int, chain: np.ndarray, movable: bool) -> RunnerUp:
    """Out of time: the chain estimate where there is one (a feasible re-allocation)."""
    value = chain[column] if movable else np.inf
    return RunnerUp(int(column), round(value) if np.isfinite(value) else -1, False)


def _movable(model: Model) -> np.ndarray:
    """Entities whose moves are plain network moves: single, unconflicted, standard staff."""
    movable = model.entity_kind == SINGLE
    child = model.entity_children[model.entity_ptr[:-1]]
    conflicted = np.zeros(model.n_children, dtype=bool)
    conflicted[model.conflicts.reshape(-1)] = True
    movable &= ~conflicted[child]
    has_staff = np.zeros(model.n_entities, dtype=bool)
    has_staff[model.col_entity[model.col_staff > 0]] = True
    big = np.zeros(model.n_entities, dtype=bool)
    big[model.col_entity[model.col_use > 1]] = True
    return movable & ~has_staff & ~big


def _room(model: Model, columns: np.ndarray) -> np.ndarray:
    """Places left at each option (units, fallbacks, unplaced) after ``columns``."""
    m, F = model.n_units, model.n_fallbacks
    size = m + F + 1
    option = model.col_option[columns]
    used = np.bincount(option, weights=model.col_use[columns], minlength=size)
    heads = np.bincount(option, weights=model.col_heads[columns], minlength=size)
    big = float(2**40)
    limit_admissions = np.where(model.max_new < 0, big, model.max_new)
    room = np.full(size, big)
    room[:m] = np.minimum(model.vacancies - used[:m], limit_admissions - heads[:m])
    room[m:m + F] = np.where(model.fallback_capacity < 0, big,
                             model.fallback_capacity - heads[m:m + F])
    return room


def _chain_extras(model: Model, solution: Solution, chosen_of: np.ndarray,
                  movable: np.ndarray) -> tuple[np.ndarray, bool]:
    """Per column of a movable entity: the extra cost of forcing it, by displacement chain;
    and whether the chain search settled (if not, every figure is infinite: unknown)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    nodes = model.n_units + model.n_fallbacks + 1
    extras = np.full(model.n_columns, np.inf)
    cols = np.flatnonzero(movable[model.col_entity] & (model.col_use <= 1))
    cols = cols[chosen_of[model.col_entity[cols]] >= 0]
    if not len(cols):
        return extras, True
    current = chosen_of[model.col_entity[cols]]
    src = model.col_option[current]
    dst = model.col_option[cols]
    weight = (model.col_cost[cols] - model.col_cost[current]).astype(float)
    edge = cols != current
    src, dst, weight = src[edge], dst[edge], weight[edge]
    # Keep the cheapest edge per (from, to) pair.
    order = lexsort((weight, dst, src))
    src, dst, weight = src[order], dst[order], weight[order]
    first = np.ones(len(src), dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    src, dst, weight = src[first], dst[first], weight[first]
    free = _room(model, solution.columns) >= 1
    to_free = _distance_to_free(nodes, src, dst, weight, free)
    if to_free is None:  # e.g. a time-limited solution with an improving cycle
        return extras, False
    # Reversed graph with non-negative reduced weights, for dist(o' -> o*).
    # Edges between options that cannot reach a free place carry no chain.
    usable = np.isfinite(to_free[src]) & np.isfinite(to_free[dst])
    src, dst, weight = src[usable], dst[usable], weight[usable]
    reduced = np.maximum(weight + to_free[dst] - to_free[src], 0.0)
    reverse = csr_matrix((reduced, (dst, src)), shape=(nodes, nodes))
    base = model.col_cost[cols] - model.col_cost[current] + to_free[model.col_option[cols]]
    extras[cols] = base
    home = model.col_option[current]
    full = np.unique(home[to_free[home] > 1e-9])
    # One Dijkstra per full option, run in batches (one scipy call each; a call per option
    # spent most of its time in the call itself). A batch searches as far as its largest
    # limit; masking each row back to its own limit gives exactly the per-option result,
    # since Dijkstra's distances within a limit do not depend on where it stops.
    full = full[np.argsort(to_free[full], kind="stable")]
    by_home = np.argsort(home, kind="stable")
    home_ptr = np.searchsorted(home[by_home], np.arange(nodes + 1))
    batch = max(1, DIJKSTRA_BATCH_CELLS // nodes)
    row_of = np.full(nodes, -1, dtype=np.int64)
    for first in range(0, len(full), batch):
        options = full[first:first + batch]
        limits = to_free[options]
        back = np.atleast_2d(dijkstra(reverse, indices=options, limit=float(limits.max())))
        back[back > limits[:, None]] = np.inf
        # The place the forced child leaves may itself start an improvement: the best
        # chain of moves *into* it (from anywhere), or nothing (0).
        refill = np.minimum(0.0, (back + to_free).min(axis=1) - limits)
        lo, hi = home_ptr[options], home_ptr[options + 1]
        counts = hi - lo
        here = by_home[ranges(lo, counts)]
        row_of[options] = np.arange(len(options))
        row = row_of[home[here]]
        direct = back[row, model.col_option[cols[here]]] - limits[row]
        extras[cols[here]] = base[here] + np.minimum(
            refill[row], np.where(np.isfinite(direct), direct, np.inf))
    return extras, True


def _distance_to_free(nodes: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray,
                      free: np.ndarray) -> np.ndarray | None:
    """Cheapest chain from each option to a free place (label correcting, vectorised).

    None when the passes run out. After an optimal solve the chains are short and the
    passes settle in a few dozen; a time-limited solution may leave an improving cycle,
    on which they would never settle (each pass over a national market's edges takes
    about 2 ms, and nodes + 1 of them took 88 s), so they stop at a fixed count and the
    runner-ups keep their price estimates, marked unproven.
    """
    dist = np.where(free, 0.0, np.inf)
    if not len(src):
        return dist
    order = np.argsort(src, kind="stable")
    src, dst, weight = src[order], dst[order], weight[order]
    starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
    owners = src[starts]
    for _ in range(min(nodes + 1, MAX_CHAIN_PASSES)):
        through = weight + dist[dst]
        best = np.minimum.reduceat(through, starts) if len(starts) else np.zeros(0)
        improved = best < dist[owners] - 1e-9
        if not improved.any():
            return dist
        dist[owners[improved]] = best[improved]
    return None


class ForcedSolver:
    """Re-solve the allocation with one column forced in, reusing one warm LP."""

    def __init__(self, model: Model, seed: int, optimum: int):
        from allocator.lp import RestrictedLP

        self.model = model
        self.optimum = optimum
        self.lp = RestrictedLP(model, seed)
        self.lp.optimise(time.perf_counter() + 60.0)
        bound, self.reduced, _ = self.lp.lagrangian()
        self.slack = max(0.0, optimum - bound)
        self.solves = 0
        # A forced re-solve whose LP stays fractional needs the MIP, at many LP re-solves'
        # cost: a stress test's market of 11,623 columns spent 6.9 s on 15 of them. They
        # have their own budget, in model columns like the re-solves'.
        self.mips_left = FORCED_MIP_WORK_COLUMNS // max(model.n_columns, 1)
        self.mip_iterations_left = FORCED_MIP_ITERATIONS

    def runner_up(self, order: np.ndarray, max_forced: int) -> RunnerUp | None:
        """Measure the best-estimated alternative, then any whose lower bound could beat it.

        ``order`` is by estimate; after the first, alternatives are tried in order of their
        Lagrangian lower bound, so the search may stop (proven) at the first whose bound
        is no better than the best measured.
        """
        lower = np.maximum(self.reduced[order] - self.slack, 0.0)
        queue = np.concatenate([[0], 1 + np.lexsort((order[1:], lower[1:]))])
        best_col, best_extra = -1, UNSET
        # An alternative left unmeasured (no MIP budget left, or a safety limit) might have
        # been the cheapest: after one, nothing found is proven least.
        complete = True
        for tried, position in enumerate(queue):
            if best_col >= 0 and lower[position] >= best_extra:
                return RunnerUp(best_col, best_extra, complete)
            if tried == MAX_FORCED or self.solves >= max_forced:
                return RunnerUp(best_col, best_extra, False) if best_col >= 0 else None
            column = int(order[position])
            extra = self.extra(column)
            complete &= extra is not None
            if extra is not None and (extra, column) < (best_extra, best_col):
                best_col, best_extra = column, extra
        return RunnerUp(best_col, best_extra, complete) if best_col >= 0 else None

    def extra(self, column: int) -> int | None:
        """Exact extra cost of forcing ``column``, or None if a solve hit its safety limit or
        needed a MIP when the MIP budget was spent."""
        import highspy

        from allocator.solve import objective_of

        self.solves += 1
        deadline = time.perf_counter() + FORCED_SAFETY_S
        lp = self.lp
        lp.add(np.array([column]))
        local = np.array([lp.position[column]], dtype=np.int32)
        lp.solver.changeColsBounds(1, local, np.ones(1), np.ones(1))
        try:
            for _ in range(50):
                lp.run(deadline)
                base, cuts = lp.duals()
                if not lp._price(lp.reduced_costs(base, cuts)):
                    break
            if lp.solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            x = lp.x()
            k = self.model.n_columns
            if np.all(np.minimum(np.abs(x), np.abs(1 - x)) < 1e-7):
                value = objective_of(self.model, np.flatnonzero(x[:k] > 0.5),
                                     (x[k:] > 0.5).astype(np.int64))
                # Proven by our own bound, not by the solver's status: the Lagrangian of
                # the forced problem (its duals, plus the forced column's reduced cost).
                bound, reduced, _ = lp.lagrangian()
                if value <= np.ceil(bound + max(float(reduced[column]), 0.0) - 1e-6):
                    return value - self.optimum
            if self.mips_left <= 0 or self.mip_iterations_left <= 0:
                return None
            self.mips_left -= 1
            return self._forced_mip(column, deadline)
        except RuntimeError:
            return None
        finally:
            local = np.array([lp.position[column]], dtype=np.int32)
            lp.solver.changeColsBounds(1, local, np.zeros(1), np.ones(1))

    def _forced_mip(self, column: int, deadline: float) -> int | None:
        """The forced model's MIP over the columns that could matter (reduced-cost fixed)."""
        from allocator.exact import solve_forced

        value, iterations = solve_forced(self.model, column, deadline)
        self.mip_iterations_left -= iterations
        return None if value is None else value - self.optimum
