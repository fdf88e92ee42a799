"""Local repairs (allocator/repair.py) give real allocations: every row holds, at the cost
they report. That is what makes a repaired runner-up's figure a true upper bound."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from test_runner_ups import _gap_market

from allocator.problem import build_problem
from allocator.repair import Repair
from allocator.solve import SolveSettings, feasible, greedy_solution, objective_of, solve
from allocator.validate import load_inputs
from scenarios.demo_data import generate

AS_OF = date(2026, 11, 25)


def _solved(inputs):
    problem = build_problem(inputs)
    model = problem.model
    solution = solve(model, problem.children, SolveSettings(),
                     greedy_solution(model, problem.children))
    assert solution.status == "optimal"
    return model, solution


def _markets():
    for seed in range(1, 5):  # crowded: fewer units than children, so moves are needed
        market = generate(50, 30, seed, AS_OF)
        yield f"demo-{seed}", load_inputs(market.referrals, market.units,
                                          conflicts=market.conflicts, as_of=AS_OF)
    referrals, units, offers, policy = _gap_market(4, 20, 5)
    yield "gap", load_inputs(referrals, units, offers=offers, policy=policy, as_of=AS_OF)


@pytest.mark.parametrize(("name", "inputs"), list(_markets()), ids=lambda v: str(v)[:8])
def test_every_repair_is_a_feasible_allocation_at_its_cost(name: str, inputs) -> None:
    model, solution = _solved(inputs)
    repair = Repair(model, solution.columns, solution.split)
    chosen = set(solution.columns.tolist())
    found = moved = 0
    for column in range(model.n_columns):
        if column in chosen:
            continue
        result = repair.reallocate(column)
        if result is None:
            continue
        moves, extra = result
        columns = set(chosen)
        for out, into in moves:
            assert out in columns and into not in columns
            columns.remove(out)
            columns.add(into)
        columns_array = np.array(sorted(columns), dtype=np.int64)
        assert column in columns
        assert feasible(model, columns_array, solution.split), (name, moves)
        assert objective_of(model, columns_array, solution.split) == solution.objective + extra
        assert extra >= 0  # the allocation is optimal
        found += 1
        moved += len(moves) > 1
    assert found > 0 and moved > 0, (name, found, moved)  # the moves were exercised


def test_repairs_stop_after_a_fixed_count_of_trial_moves(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Found in review: a 5,000-child market with a full capped fallback spent 130,000
    trial moves (several seconds). The count stops them, the same on every run."""
    import allocator.repair as repair_module

    _, inputs = next(_markets())
    model, solution = _solved(inputs)

    def repairs(budget: int) -> tuple[list[int | None], int]:
        monkeypatch.setattr(repair_module, "REPAIR_TRIALS", budget)
        repair = Repair(model, solution.columns, solution.split)
        others = sorted(set(range(model.n_columns)) - set(solution.columns.tolist()))
        return [repair.extra(c) for c in others], repair.trials

    free, spent = repairs(10**9)
    assert spent > 20
    capped, used = repairs(spent // 2)
    assert spent // 2 <= used < spent
    assert sum(e is not None for e in capped) < sum(e is not None for e in free)
    assert all(c is None or c == f for c, f in zip(capped, free, strict=True))
    assert repairs(spent // 2) == (capped, used)  # a count: the same every time
