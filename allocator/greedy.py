"""Today's practice, and a repair heuristic: place entities one at a time.

A placement team rings round: emergencies first, then by referral date, each child (or
sibling group kept together) into the cheapest option still open. :func:`place_in_order`
does exactly that over the model's columns, honouring every side rule as places fill, so
its result is always feasible. The optimiser reuses it, ordered and preferring columns by an
LP solution, to get an incumbent quickly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.arrays import Children
from allocator.model import MEMBER, TOGETHER, Model
from allocator.sorting import lexsort


@dataclass
class _State:
    vacancies: np.ndarray
    staff: np.ndarray
    admissions: np.ndarray
    fallback: np.ndarray
    occupants: dict[int, set[int]]


def entity_columns(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Columns grouped by entity: (order, ptr) so entity e owns order[ptr[e]:ptr[e+1]]."""
    order = np.argsort(model.col_entity, kind="stable")
    ptr = np.searchsorted(model.col_entity[order], np.arange(model.n_entities + 1))
    return order, ptr


def priority_order(model: Model, children: Children) -> np.ndarray:
    """Entities that decide (not split members), emergencies first, then referral date."""
    deciding = np.flatnonzero(model.entity_kind != MEMBER)
    emergency = np.zeros(len(deciding), dtype=bool)
    referral = np.zeros(len(deciding), dtype=np.int64)
    first = np.zeros(len(deciding), dtype=np.int64)
    for k, e in enumerate(deciding):
        who = model.entity_children[model.entity_ptr[e]:model.entity_ptr[e + 1]]
        emergency[k] = children.emergency[who].any()
        referral[k] = children.referral_day[who].min()
        first[k] = who.min()
    return deciding[np.lexsort((first, referral, ~emergency))]


def place_in_order(model: Model, order: np.ndarray,
                   preference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Place entities in ``order``, each in its most preferred feasible column.

    ``preference`` ranks columns (lower is better). Returns the chosen column indices and
    the split-variable values.
    """
    unlimited = np.iinfo(np.int64).max // 2
    state = _State(model.vacancies.astype(np.int64).copy(),
                   model.staff_capacity.astype(np.int64).copy(),
                   np.where(model.max_new < 0, unlimited, model.max_new).astype(np.int64),
                   np.where(model.fallback_capacity < 0, unlimited,
                            model.fallback_capacity).astype(np.int64), {})
    partners: dict[int, set[int]] = {}
    for a, b in model.conflicts:
        partners.setdefault(int(a), set()).add(int(b))
        partners.setdefault(int(b), set()).add(int(a))
    by_entity, ptr = entity_columns(model)
    # Every entity's columns, most preferred first (ties: lower option index, stable).
    keyed = by_entity[lexsort((model.col_option[by_entity], preference[by_entity],
                                  model.col_entity[by_entity]))]
    ranked = [keyed[ptr[e]:ptr[e + 1]] for e in range(model.n_entities)]
    chosen: list[int] = []
    split = np.zeros(len(model.split_group), dtype=np.int64)
    split_of_together = {int(t): s for s, t in enumerate(model.split_together)}
    members_of_group: dict[int, list[int]] = {}
    for e in np.flatnonzero(model.entity_kind == MEMBER):
        members_of_group.setdefault(int(model.entity_group[e]), []).append(int(e))
    for e in order:
        e = int(e)
        together = _first_feasible(model, ranked[e], state, partners)
        if model.entity_kind[e] != TOGETHER:
            _commit(model, together, state)
            chosen.append(together)
            continue
        # A group that may be split: together, or each member alone plus the split weight.
        members = members_of_group[int(model.entity_group[e])]
        trial = _State(state.vacancies.copy(), state.staff.copy(), state.admissions.copy(),
                       state.fallback.copy(), {u: set(s) for u, s in state.occupants.items()})
        apart = []
        for member in members:
            column = _first_feasible(model, ranked[member], trial, partners)
            _commit(model, column, trial)
            apart.append(column)
        s = split_of_together[e]
        apart_cost = model.col_cost[apart].sum() + model.split_cost[s]
        if apart_cost < model.col_cost[together]:
            state.vacancies, state.staff = trial.vacancies, trial.staff
            state.admissions, state.fallback = trial.admissions, trial.fallback
            state.occupants = trial.occupants
            chosen += apart
            split[s] = 1
        else:
            _commit(model, together, state)
            chosen.append(together)
    return np.sort(np.array(chosen, dtype=np.int64)), split


def _first_feasible(model: Model, columns: np.ndarray, state: _State,
                    partners: dict[int, set[int]]) -> int:
    m = model.n_units
    for col in columns:
        option = int(model.col_option[col])
        if option == model.unplaced_option:
            return int(col)
        heads = int(model.col_heads[col])
        if option >= m:
            if state.fallback[option - m] >= heads:
                return int(col)
            continue
        if (state.vacancies[option] < model.col_use[col]
                or state.staff[option] < model.col_staff[col]
                or state.admissions[option] < heads):
            continue
        there = state.occupants.get(option)
        if there and any(partners.get(int(c), set()) & there for c in model.members(col)):
            continue
        return int(col)
    raise AssertionError("every entity has an unplaced column")  # pragma: no cover


def _commit(model: Model, col: int, state: _State) -> None:
    option = int(model.col_option[col])
    m = model.n_units
    if option == model.unplaced_option:
        return
    if option >= m:
        state.fallback[option - m] -= model.col_heads[col]
        return
    state.vacancies[option] -= model.col_use[col]
    state.staff[option] -= model.col_staff[col]
    state.admissions[option] -= model.col_heads[col]
    state.occupants.setdefault(option, set()).update(int(c) for c in model.members(col))
