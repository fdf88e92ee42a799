"""Markets too large to hold every eligible pair as a column: candidates, pricing, a bound.

At national scale (thousands of children, tens of thousands of units) a child is eligible
for thousands of units, tens of millions of pairs in all, but is only ever placed in one of
its cheapest few. So the model is built over *candidate* pairs (each child's cheapest, and
every pair of a child in a sibling group) and solved exactly; then the duals price every
other eligible pair, vectorised over the compact pair arrays. Pairs that price out join the
candidates and the model is solved again, as do the few pairs that could still be in a
cheaper allocation (:func:`solve_large` says when); once no pair left out could be, the
candidates' proof is a proof for the whole market.

Each round's bound is a Lagrangian bound of the *whole* market: the candidate model's duals
applied to every eligible pair, each child taking its least reduced cost, where the pairs
left out are priced without conflict and cut duals (which can only raise their reduced
costs), so the bound stays valid whatever the candidates were.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from allocator.model import (
    GROUP,
    MEMBER,
    ROW_ADMISSION,
    ROW_ASSIGN,
    ROW_STAFF,
    ROW_VACANCY,
    SINGLE,
    Model,
    build_model,
)
from allocator.problem import Problem
from allocator.solve import Solution, SolveSettings, cheapest_bound
from allocator.sorting import lexsort

#: Pairs added per child in one pricing round, and rounds at most.
ADD_PER_CHILD = 60
MAX_ROUNDS = 12
#: A round's near pairs (those that could still be in a better allocation) join with the
#: ones that price out when there are at most this many, or at most a quarter of the
#: candidates if that is more (and always when no pair prices out). Then the next round's
#: proof is the market's (:func:`solve_large`). Found in a stress test: a dense market
#: (2.3 million pairs) kept its optimum from round 3 to round 8, each round adding the dozen
#: pairs its shifting (degenerate) duals priced a few pence below zero and re-solving for
#: 20 s; the 2,278 near pairs of round 4 would have ended it.
NEAR_JOIN_UP_TO = 10_000
#: Each round's LP starts with the columns the last round's duals priced within this many
#: pence of zero (as well as each entity's cheapest). Its pricing then settles in a few
#: passes where it took twenty from the cheapest alone: on six stress-test markets solved
#: by candidates, 0.5 p, 100 p and 1,000 p saved alike, 100 p a little more.
WARM_PENCE = 100.0
#: A round's MIP is skipped when more than this share of its candidates' count of pairs
#: outside price out: its candidates are about to change a lot. The dense stress market's
#: second round priced out 35,776 pairs beside 818,242 candidates (4.4%), and its MIP took
#: 10 s of a 37 s solve; a market with cheap fallbacks priced out 152 beside 85,345 (0.2%),
#: and skipping its MIPs then (weaker incumbents) cost two more rounds, 4.9 -> 8.1 s.
SKIP_MIP_SHARE = 0.01
#: ``certified`` before any round has earned it: below every objective.
NO_CERTIFICATE = -(2**62)


def solve_large(problem: Problem, settings: SolveSettings) -> tuple[Solution, Problem]:
    """Solve over candidates with pricing rounds; the bound holds for the whole market.

    A round ends one of three ways. Pairs price out: they join and the model is solved
    again. None do, but some are *near*: forcing one in would raise the market bound by its
    reduced cost less its child's least, and that rise is within the gap (objective minus
    market bound), so it could still be in a better allocation; they join too. Neither:
    every allocation using a pair left out costs more than the round's objective, so the
    candidates' optimum is the market's, and the candidates' proof is a proof for it.

    The last argument carries over rounds. Pairs *not* near in round ``r`` can only be in
    allocations costing more than that round's objective ``z``. Once every near pair of
    round ``r`` has joined, any later round's proven bound over the candidates, capped at
    ``z``, is a bound for the market: an allocation outside the candidates costs more than
    ``z``. So when few pairs are near they join together with those that price out, and the
    rounds stop at the next proof, rather than chase the few pairs that degenerate duals
    price a little below zero each round.

    Both arguments need every cut to weigh the pairs left out at zero or more (a pair
    outside is in no cut, and its reduced cost leaves the cut duals out); every cut the LP
    separates has no negative coefficient (``tests/test_universe.py`` holds it).
    """
    from allocator.exact import solve_exact
    from allocator.solve import greedy_solution

    start = time.perf_counter()
    deadline = start + settings.time_limit_s
    assert problem.candidates is not None
    candidates = problem.candidates
    stages: dict[str, float] = {}
    # Every round's allocation is feasible for the market and every round's bound holds for
    # it, so the best of each is kept: a round cut short by the time limit (a weak bound, a
    # poorer allocation) must not undo an earlier one. Found in a stress test: a dense
    # 3,000-child market given 30 s returned £70,000 a week above what its second round
    # had already found, with a 58% gap.
    best: tuple[Solution, Problem] | None = None
    bound = -(2**62)
    # The largest objective of a round whose near pairs are all candidates now (see the
    # docstring; NO_CERTIFICATE while there is none), the pairs the best round was solved
    # over, and the last round, whose duals warm the next.
    certified = NO_CERTIFICATE
    best_pairs = len(candidates)
    last: tuple[Solution, Problem] | None = None
    for round_ in range(MAX_ROUNDS):
        model = build_model(problem.children, problem.units, problem.elig, problem.costs,
                            problem.inputs.policy, problem.conflicts, candidates)
        incumbents = [_carried(best, model)] if best is not None else []
        problem = replace(problem, model=model)
        baseline = greedy_solution(model, problem.children)
        remaining = SolveSettings(max(deadline - time.perf_counter(), 1.0), settings.seed,
                                  settings.workers, settings.gap)
        # Price and branch: while the LP's duals price many pairs outside the candidates,
        # proving the candidates' optimum is wasted (they are about to grow), so the MIP
        # waits for a round where few do, or the last round.
        pricing = _Pricing(problem, candidates, last_round=round_ == MAX_ROUNDS - 1)
        solution = solve_exact(model, remaining, time.perf_counter(),
                               [(baseline.columns, baseline.split), *incumbents],
                               warm=None if last is None else _warm(last, model),
                               before_mip=pricing.skip_mip)
        last = (solution, problem)
        if best is None or solution.objective < best[0].objective:
            best, best_pairs = last, len(candidates)
        # The cheapest-option floor holds for the market too: every child's cheapest pairs
        # are candidates, and group columns are built from every pair.
        bound = max(bound, cheapest_bound(model))
        if solution.duals is None or solution.reduced is None or solution.lagrangian is None:
            break  # nothing to price the pairs left out with (no solve of ours returns this)
        reduced, outside = pricing.outside(solution)
        market, least = _market_bound(problem, solution, reduced, outside)
        bound = max(bound, int(np.ceil(market - 1e-6)))
        objective = solution.objective
        near = reduced - least <= objective - market + 0.5
        if not near.any():  # this round's near pairs are all candidates already
            certified = max(certified, objective)
        bound = max(bound, min(solution.bound, certified))
        stages[f"round_{round_}"] = time.perf_counter() - start
        # The candidates' own solve stops short of its proof only at its time limit; then
        # there is no time for another round, and its gap would let every pair priced
        # within it join (millions, on a national market given a few seconds).
        stopped = not pricing.skipped and not settings.close_enough(solution.objective,
                                                                     solution.bound)
        if stopped or time.perf_counter() > deadline \
                or settings.close_enough(best[0].objective, min(bound, best[0].objective)):
            break
        joining = _first_per_child(problem, outside[reduced < -0.5], reduced[reduced < -0.5])
        all_near = not len(joining) or near.sum() <= max(NEAR_JOIN_UP_TO, len(candidates) // 4)
        if all_near:
            joining = np.union1d(joining, outside[near])
        if not len(joining) or time.perf_counter() > deadline:
            break
        candidates = np.union1d(candidates, joining)
        if all_near:
            certified = max(certified, objective)
    assert best is not None
    solution, problem = best
    bound = min(bound, solution.objective)
    stages["candidate_pairs"] = float(best_pairs)
    status = "optimal" if bound >= solution.objective else "feasible"
    return replace(solution, bound=bound, status=status, method=solution.method + "+pricing",
                   seconds=time.perf_counter() - start,
                   stages={**solution.stages, **stages}), problem


class _Pricing:
    """One round's pricing of the pairs left out, done once: asked before the MIP (to skip
    it while many price out) and again after the solve, whose duals are the LP's own when
    the MIP ran or was skipped."""

    def __init__(self, problem: Problem, candidates: np.ndarray, last_round: bool):
        self.problem, self.candidates, self.last_round = problem, candidates, last_round
        self.skipped = False
        self._done: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def outside(self, solution: Solution) -> tuple[np.ndarray, np.ndarray]:
        """The reduced costs of the pairs left out under ``solution``'s duals, and those pairs."""
        if self._done is None or self._done[0] is not solution.duals:
            self._done = (solution.duals,
                          *_outside_reduced_costs(self.problem, solution, self.candidates))
        return self._done[1], self._done[2]

    def skip_mip(self, lp_solution: Solution) -> bool:
        """Whether more than SKIP_MIP_SHARE of the candidates' count price out (never in the
        last round, whose MIP must prove what it can)."""
        if self.last_round or lp_solution.duals is None:
            return False
        reduced, _ = self.outside(lp_solution)
        self.skipped = int((reduced < -0.5).sum()) > len(self.candidates) * SKIP_MIP_SHARE
        return self.skipped


def _carried(best: tuple[Solution, Problem], model: Model) -> tuple[np.ndarray, np.ndarray]:
    """An earlier round's allocation as columns of this round's model, to start from."""
    solution, problem = best
    return _same_columns(problem.model, solution.columns, model), solution.split.copy()


def _warm(last: tuple[Solution, Problem], model: Model) -> np.ndarray:
    """The columns the last round's duals priced near zero, as columns of this model."""
    solution, problem = last
    assert solution.reduced is not None  # solve_large stops at a round without duals
    old = problem.model
    near_zero = np.flatnonzero(solution.reduced[:old.n_columns] <= WARM_PENCE)
    return _same_columns(old, near_zero, model)


def _same_columns(old: Model, columns: np.ndarray, model: Model) -> np.ndarray:
    """``columns`` of an earlier round's model as columns of this round's: candidates only
    grow, so every (entity, option) of the old model is in the new one."""
    width = old.n_units + old.n_fallbacks + 1
    wanted = old.col_entity[columns] * width + old.col_option[columns]
    keys = model.col_entity.astype(np.int64) * width + model.col_option
    order = np.argsort(keys, kind="stable")
    found = order[np.searchsorted(keys[order], wanted)]
    assert (keys[found] == wanted).all()
    return np.sort(found)


def _market_bound(problem: Problem, solution: Solution, outside_reduced: np.ndarray,
                  outside: np.ndarray) -> tuple[float, np.ndarray]:
    """The Lagrangian bound of the whole market, each child alone taking exactly one option.

    The plain Lagrangian adds ``min(0, reduced cost)`` for every pair; with the duals of a
    candidate model far from settled, hundreds of pairs of one child price a little below
    zero and the sum ran to minus millions (a dense market's bound was 45% below its
    optimum). Every allocation gives each single child and each group kept together
    exactly one column (its assignment row is an equality), so the Lagrangian subproblem
    over that set takes, per such entity, its *least* reduced cost instead: never weaker,
    and as valid. Split-group entities (a together choice balanced by members' rows) keep
    the plain sum.

    Also returns, per outside pair, what its child's term is now (its least reduced cost,
    or 0 under the plain sum): forcing the pair in raises the bound by its own reduced cost
    less that, which decides whether it could be in a better allocation.
    """
    model = problem.model
    assert solution.reduced is not None and solution.lagrangian is not None  # see solve_large
    k = model.n_columns
    reduced = solution.reduced
    constant = solution.lagrangian - float(np.minimum(reduced, 0.0).sum())  # y.b (and cuts)
    one = np.isin(model.entity_kind, [SINGLE, GROUP])
    least = np.full(model.n_entities, np.inf)
    np.minimum.at(least, model.col_entity, reduced[:k])
    alone_entity = _alone_entity(model)
    owner = alone_entity[problem.elig.child[outside]]
    np.minimum.at(least, owner, outside_reduced)
    rest_columns = ~one[model.col_entity]
    bound = (constant + float(least[one].sum())
             + float(np.minimum(reduced[:k][rest_columns], 0.0).sum())
             + float(np.minimum(reduced[k:], 0.0).sum())
             + float(np.minimum(outside_reduced[~one[owner]], 0.0).sum()))
    return bound, np.where(one[owner], least[owner], 0.0)


def _alone_entity(model: Model) -> np.ndarray:
    """Per child, the entity in which it chooses alone (single, or a member of a group that
    may split), -1 for a child in a group kept together: the owner of its outside pairs."""
    alone_entity = np.full(model.n_children, -1, dtype=np.int64)
    single = np.flatnonzero(np.isin(model.entity_kind, [SINGLE, MEMBER]))
    alone_entity[model.entity_children[model.entity_ptr[single]]] = single
    return alone_entity


def _first_per_child(problem: Problem, pairs: np.ndarray, reduced: np.ndarray) -> np.ndarray:
    """The most negative few pairs of each child, so one child cannot flood a round."""
    if not len(pairs):
        return pairs
    child = problem.elig.child[pairs]
    order = lexsort((pairs, reduced, child))
    first = np.searchsorted(child[order], child[order], side="left")
    rank = np.arange(len(order)) - first
    return np.sort(pairs[order][rank < ADD_PER_CHILD])


def _outside_reduced_costs(problem: Problem, solution: Solution,
                           candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reduced costs (a valid lower estimate) of every pair left out, and those pairs.

    Conflict and cut duals are left out of the estimate: they are never positive on a
    ``<=`` row, so leaving them out can only lower a reduced cost, keeping the bound valid.
    """
    model, elig = problem.model, problem.elig
    duals = solution.duals
    # Pricing nothing would read as "no pair near" and certify the candidates' proof.
    assert duals is not None  # solve_large stops at a round without duals
    by_kind = {}
    for kind in (ROW_VACANCY, ROW_STAFF, ROW_ADMISSION):
        y = np.zeros(model.n_units)
        rows = np.flatnonzero(model.row_kind == kind)
        y[model.row_ref[rows]] = duals[rows]
        by_kind[kind] = y
    assign = np.flatnonzero(model.row_kind == ROW_ASSIGN)
    entity_dual = np.zeros(model.n_entities)
    entity_dual[model.row_ref[assign]] = duals[assign]
    alone_entity = _alone_entity(model)
    outside = np.ones(elig.pairs, dtype=bool)
    outside[candidates] = False
    outside &= alone_entity[elig.child] >= 0
    pairs = np.flatnonzero(outside)
    c, u = elig.child[pairs], elig.unit[pairs]
    staff = problem.children.staff[c]
    reduced = (elig.pence[pairs] - entity_dual[alone_entity[c]]
               - elig.use[pairs] * by_kind[ROW_VACANCY][u] - by_kind[ROW_ADMISSION][u]
               - staff * by_kind[ROW_STAFF][u])
    return reduced, pairs
