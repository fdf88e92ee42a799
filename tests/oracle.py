"""Test helpers: tiny hand-built markets, and the brute-force optimum of one.

:func:`brute_force` finds the optimum by trying every assignment of children to {units and
fallbacks each child may take, unplaced}, keeping the feasible ones and minimising the
objective, all judged by :mod:`allocator.check` alone. It prunes only what cannot matter:
a partial assignment that already breaks a shared limit (those only break further as
children are added) and one whose cost, plus the cheapest option of every child still to
place, cannot beat the best found (every cost is non-negative). ``exhaustive=True`` turns
the cost pruning off, so a test can show the pruning loses nothing.

The builders write cells as text, as a CSV holds them: ``child(...)``, ``unit(...)`` give one
row with sensible defaults (a 12-year-old in Sefton, a good PDPS children's home nearby with
one vacancy); ``north(m)`` is the latitude ``m`` miles due north of :data:`HOME`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from allocator.check import (
    EARTH_RADIUS_MILES,
    UNPLACED,
    CheckReport,
    Market,
    check_allocation,
    shared_violations,
    split_groups,
)
from allocator.validate import Inputs

AS_OF = date(2026, 11, 25)
HOME = (53.48, -3.01)


def north(miles: float) -> float:
    """The latitude ``miles`` due north of :data:`HOME` (same longitude: exact haversine)."""
    return HOME[0] + math.degrees(miles / EARTH_RADIUS_MILES)


def child(child_id: str, **cells: Any) -> dict[str, str]:
    row = {"child_id": child_id, "date_of_birth": "2014-06-01", "sex": "M",
           "settings": "residential", "home_lat": str(HOME[0]), "home_lon": str(HOME[1])}
    row.update({k: str(v) for k, v in cells.items()})
    return row


def unit(unit_id: str, miles: float = 1.0, **cells: Any) -> dict[str, str]:
    row = {"unit_id": unit_id, "provider_id": f"P{unit_id}", "provider_name": f"Provider {unit_id}",
           "setting": "residential", "route": "pdps", "local_authority": "Sefton",
           "lat": repr(north(miles)), "lon": str(HOME[1]), "ofsted_rating": "good",
           "vacancies": "1", "weekly_price": "4000"}
    row.update({k: str(v) for k, v in cells.items()})
    return row


def frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    """Rows of text cells as a table; a column some rows lack is blank there."""
    return pd.DataFrame(rows, dtype=object).fillna("")


@dataclass(frozen=True)
class Optimum:
    objective_pence: int
    assignment: dict[str, str]
    feasible_count: int  # leaves reached (all feasible ones when exhaustive)


def _search_order(market: Market) -> list[str]:
    """Children in referral order, but each sibling group's members next to each other, so a
    group is judged as soon as possible."""
    order: list[str] = []
    for cid, row in market.children.items():
        if cid in order:
            continue
        group = row.get("sibling_group")
        members = market.groups.get(str(group), (cid,)) if isinstance(group, str) else (cid,)
        order += [m for m in members if m not in order]
    return order


def brute_force(inputs: Inputs, *, exhaustive: bool = False) -> Optimum:
    """The lowest objective over every feasible allocation, judged by the checker alone."""
    found = _search(inputs, exhaustive, {})
    assert found is not None, "leaving everyone unplaced is always feasible"
    return found


def forced_optimum(inputs: Inputs, fixed: dict[str, str]) -> int | None:
    """The optimum (pence) with some children held to one option each: a runner-up's "what
    if this child had to go there". None when no feasible allocation allows it."""
    found = _search(inputs, False, fixed)
    return None if found is None else found.objective_pence


def _search(inputs: Inputs, exhaustive: bool, fixed: dict[str, str]) -> Optimum | None:
    market = Market.of(inputs)
    order = _search_order(market)
    options = {c: market.options(c) for c in order}
    for c, option in fixed.items():
        options[c] = [option] if option in options[c] else []
        if not options[c]:
            return None
    cost = {(c, o): market.cost(c, o) for c in order for o in options[c]}
    cheapest = [min(cost[c, o] for o in options[c]) for c in order]
    rest = [sum(cheapest[k:]) for k in range(len(order) + 1)]
    split = market.split_pence()
    best: list[Any] = [math.inf, None]
    leaves = [0]
    assignment: dict[str, str] = {}

    def place(k: int, spent: int) -> None:
        if not exhaustive and spent + rest[k] >= best[0]:
            return
        if k == len(order):
            leaves[0] += 1
            total = spent + split * len(split_groups(assignment, market))
            if total < best[0]:
                best[0], best[1] = total, dict(assignment)
            return
        c = order[k]
        for option in options[c]:
            assignment[c] = option
            if not shared_violations(assignment, market):
                place(k + 1, spent + cost[c, option])
            del assignment[c]

    place(0, 0)
    if best[1] is None:
        return None
    report = check_table(best[1], inputs)
    assert report.ok and report.objective_pence == best[0], report.text()
    return Optimum(int(best[0]), best[1], leaves[0])


def check_table(assignment: dict[str, str], inputs: Inputs) -> CheckReport:
    """Check a bare assignment (child -> option label) as a two-column allocation table."""
    table = pd.DataFrame({"child_id": list(assignment), "option": list(assignment.values())})
    return check_allocation(table, inputs)


def options_of(table: pd.DataFrame) -> dict[str, str]:
    """child_id -> option of an allocation table."""
    return dict(zip(table["child_id"].astype(str), table["option"].astype(str), strict=True))


__all__ = ["AS_OF", "HOME", "UNPLACED", "Optimum", "brute_force", "check_table", "child",
           "forced_optimum", "frame", "north", "options_of", "unit"]
