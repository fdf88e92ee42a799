"""Build the allocation model: one column per (entity, option), rows for every side rule.

An *entity* is what takes an option in one choice: a single child, or a sibling group kept
together (one column per option with room for the whole group, never k linked variables: a
much tighter formulation). A group that may be split gets a "together" entity plus one
entity per member and a split variable ``w`` paying ``sibling_split``::

    sum(together columns) + w = 1        every member:  sum(member columns) - w = 0

Rows: an assignment row per entity; vacancies (``capacity_use``), staff capacity and
``max_new_admissions`` per unit; capacity per fallback; and one row per conflict pair and
shared unit. Rows that cannot bind are left out. Everything is built from arrays; Python
loops run over sibling groups and conflict pairs, never over pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.arrays import Children, Units
from allocator.costs import PairCosts, fallback_pence, to_pence, unplaced_pence
from allocator.eligibility import Eligibility
from allocator.sorting import lexsort
from models.policy import Policy

SINGLE, GROUP, TOGETHER, MEMBER = 0, 1, 2, 3


@dataclass(frozen=True)
class Model:
    """The allocation model as flat arrays; see the module docstring for its shape.

    Columns ``0..K-1`` are (entity, option) choices; the ``S`` split variables follow them.
    Options are unit indices ``0..m-1``, fallbacks ``m..m+F-1`` and ``m+F`` for unplaced.
    """

    n_children: int
    n_units: int
    n_fallbacks: int
    entity_kind: np.ndarray
    entity_group: np.ndarray  # sibling group of the entity, -1 for a single child
    entity_ptr: np.ndarray  # CSR of entity -> member children
    entity_children: np.ndarray
    col_entity: np.ndarray
    col_option: np.ndarray
    col_cost: np.ndarray  # pence
    col_use: np.ndarray
    col_staff: np.ndarray
    col_heads: np.ndarray
    member_ptr: np.ndarray  # CSR of column -> (child, pair) members
    member_child: np.ndarray
    member_pair: np.ndarray  # eligible pair index, -1 for a fallback or unplaced
    split_group: np.ndarray  # sibling group of each split variable
    split_cost: np.ndarray
    split_together: np.ndarray  # entity row of the together choice
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_kind: np.ndarray  # see ROW_KINDS
    row_ref: np.ndarray  # entity, unit, fallback or conflict the row is about
    a_row: np.ndarray  # COO of the constraint matrix over columns then split variables
    a_col: np.ndarray
    a_val: np.ndarray
    vacancies: np.ndarray  # the limits themselves, for heuristics that fill places in turn
    staff_capacity: np.ndarray
    max_new: np.ndarray  # -1: no limit
    fallback_capacity: np.ndarray  # -1: no limit
    conflicts: np.ndarray  # (k, 2) child indices

    @property
    def unplaced_option(self) -> int:
        return self.n_units + self.n_fallbacks

    @property
    def n_columns(self) -> int:
        return len(self.col_entity)

    @property
    def n_vars(self) -> int:
        return self.n_columns + len(self.split_group)

    @property
    def n_entities(self) -> int:
        return len(self.entity_kind)

    def members(self, column: int) -> np.ndarray:
        return self.member_child[self.member_ptr[column]:self.member_ptr[column + 1]]

    def by_column(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The constraint matrix column by column: variable ``j``'s rows and coefficients are
        ``rows[start[j]:start[j + 1]]`` and ``values[...]``, in row order."""
        order = lexsort((self.a_row, self.a_col))
        start = np.searchsorted(self.a_col[order], np.arange(self.n_vars + 1))
        return start, self.a_row[order], self.a_val[order]

    def is_network(self) -> bool:
        """True when the model is a transportation problem that min-cost flow solves exactly."""
        simple = np.isin(self.row_kind, [ROW_ASSIGN, ROW_VACANCY, ROW_ADMISSION, ROW_FALLBACK])
        return bool(len(self.split_group) == 0 and simple.all()
                    and (self.col_heads == 1).all() and (self.col_use <= 1).all())


ROW_ASSIGN, ROW_VACANCY, ROW_STAFF, ROW_ADMISSION, ROW_FALLBACK, ROW_CONFLICT = range(6)
ROW_KINDS = ("assign", "vacancy", "staff", "admission", "fallback", "conflict")


@dataclass
class _Block:
    entity: np.ndarray
    option: np.ndarray
    cost: np.ndarray
    use: np.ndarray
    staff: np.ndarray
    heads: np.ndarray
    member_count: np.ndarray
    member_child: np.ndarray
    member_pair: np.ndarray


def build_model(children: Children, units: Units, elig: Eligibility, costs: PairCosts,
                policy: Policy, conflicts: np.ndarray,
                candidates: np.ndarray | None = None) -> Model:
    """Assemble columns and rows. ``conflicts`` is an (k, 2) array of child indices.

    ``candidates`` (eligible pair indices) limits the columns of children choosing alone,
    for markets too large to hold every pair as a column; sibling groups always see all
    their members' pairs. Column ``member_pair`` values index the full eligible pairs.
    """
    n, m, F = children.n, units.m, len(policy.fallbacks)
    unplaced = m + F
    kinds, groups, ent_members = _entities(children)
    entity_of_child = np.full(n, -1, dtype=np.int64)  # the entity that places it alone
    for e, (kind, members) in enumerate(zip(kinds, ent_members, strict=True)):
        if kind in (SINGLE, MEMBER):
            entity_of_child[members[0]] = e
    fb_cost = fallback_pence(policy)
    each_unplaced = unplaced_pence(policy)
    blocks: list[_Block] = []
    # Children choosing alone: singles and split-mode members.
    alone = entity_of_child >= 0
    pool = np.arange(elig.pairs) if candidates is None else np.asarray(candidates, np.int64)
    p = pool[alone[elig.child[pool]]]
    pair_child = elig.child[p].astype(np.int64)
    blocks.append(_single_block(entity_of_child[pair_child], elig.unit[p], costs.pence[p],
                                elig.use[p], children.staff[pair_child], pair_child, p))
    # A fallback with capacity 0 is closed: no column, so no runner-up can name it either.
    open_fallback = np.array([f.capacity is None or f.capacity > 0 for f in policy.fallbacks],
                             dtype=bool)
    fb_child, fb_index = np.nonzero(elig.fallback & alone[:, None] & open_fallback[None, :])
    blocks.append(_single_block(entity_of_child[fb_child], m + fb_index, fb_cost[fb_index],
                                np.ones(len(fb_child), np.int64), np.zeros(len(fb_child),
                                                                            np.int64),
                                fb_child, np.full(len(fb_child), -1)))
    lone = np.flatnonzero(alone)
    blocks.append(_single_block(entity_of_child[lone], np.full(len(lone), unplaced),
                                np.full(len(lone), each_unplaced), np.zeros(len(lone), np.int64),
                                np.zeros(len(lone), np.int64), lone, np.full(len(lone), -1)))
    # Groups choosing together.
    conflict_set = {(int(a), int(b)) for a, b in conflicts} | {(int(b), int(a))
                                                               for a, b in conflicts}
    for e, (kind, members) in enumerate(zip(kinds, ent_members, strict=True)):
        if kind in (GROUP, TOGETHER):
            blocks.append(_group_block(e, members, children, units, elig, costs, policy,
                                       fb_cost, each_unplaced, conflict_set))
    cols = _concat(blocks)
    split_groups = np.array([groups[e] for e in range(len(kinds)) if kinds[e] == TOGETHER],
                            dtype=np.int64)
    split_together = np.array([e for e in range(len(kinds)) if kinds[e] == TOGETHER],
                              dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum([len(x) for x in ent_members])]).astype(np.int64)
    model = dict(
        n_children=n, n_units=m, n_fallbacks=F,
        entity_kind=np.array(kinds, dtype=np.int64), entity_group=np.array(groups, np.int64),
        entity_ptr=ptr, entity_children=np.concatenate(ent_members or [np.zeros(0, np.int64)]),
        col_entity=cols.entity, col_option=cols.option, col_cost=cols.cost, col_use=cols.use,
        col_staff=cols.staff, col_heads=cols.heads,
        member_ptr=np.concatenate([[0], np.cumsum(cols.member_count)]).astype(np.int64),
        member_child=cols.member_child, member_pair=cols.member_pair,
        split_group=split_groups,
        split_cost=np.full(len(split_groups), int(to_pence(policy.weights.sibling_split)),
                           dtype=np.int64),
        split_together=split_together,
    )
    rows = _rows(model, kinds, ent_members, units, policy, conflicts)
    limits = dict(
        vacancies=units.vacancies, staff_capacity=units.staff_capacity, max_new=units.max_new,
        fallback_capacity=np.array([-1 if f.capacity is None else f.capacity
                                    for f in policy.fallbacks], dtype=np.int64),
        conflicts=np.asarray(conflicts, dtype=np.int64).reshape(-1, 2),
    )
    return Model(**model, **rows, **limits)


def _entities(children: Children) -> tuple[list[int], list[int], list[np.ndarray]]:
    kinds: list[int] = []
    groups: list[int] = []
    members: list[np.ndarray] = []
    for i in np.flatnonzero(children.group < 0):
        kinds.append(SINGLE)
        groups.append(-1)
        members.append(np.array([i], dtype=np.int64))
    order = np.argsort(children.group, kind="stable")
    grouped = order[children.group[order] >= 0]
    for g, idx in pd.Series(grouped).groupby(children.group[grouped], sort=True):
        who = np.sort(idx.to_numpy(dtype=np.int64))
        if children.keep_group[g] or len(who) == 1:
            kinds.append(GROUP if len(who) > 1 else SINGLE)
            groups.append(int(g))
            members.append(who)
            continue
        kinds.append(TOGETHER)
        groups.append(int(g))
        members.append(who)
        for i in who:
            kinds.append(MEMBER)
            groups.append(int(g))
            members.append(np.array([i], dtype=np.int64))
    return kinds, groups, members


def _single_block(entity: np.ndarray, option: np.ndarray, cost: np.ndarray, use: np.ndarray,
                  staff: np.ndarray, child: np.ndarray, pair: np.ndarray) -> _Block:
    k = len(entity)
    return _Block(entity.astype(np.int64), option.astype(np.int64), cost.astype(np.int64),
                  use.astype(np.int64), staff.astype(np.int64), np.ones(k, np.int64),
                  np.ones(k, np.int64), child.astype(np.int64), pair.astype(np.int64))


def _group_block(entity: int, members: np.ndarray, ch: Children, un: Units, elig: Eligibility,
                 costs: PairCosts, policy: Policy, fb_cost: np.ndarray, each_unplaced: int,
                 conflict_set: set[tuple[int, int]]) -> _Block:
    """Columns where the whole group takes one option together."""
    size = len(members)
    starts = np.searchsorted(elig.child, members.astype(elig.child.dtype))
    ends = np.searchsorted(elig.child, members.astype(elig.child.dtype), side="right")
    common = None
    for s, e in zip(starts, ends, strict=True):
        here = elig.unit[s:e]
        common = here if common is None else np.intersect1d(common, here, assume_unique=True)
    internal_conflict = any((int(a), int(b)) in conflict_set for a in members for b in members
                            if a < b)
    if common is None or internal_conflict:
        common = np.zeros(0, dtype=np.int64)
    # pair index of each member at each common unit
    pair = np.stack([s + np.searchsorted(elig.unit[s:e], common.astype(elig.unit.dtype))
                     for s, e in zip(starts, ends, strict=True)], axis=1) if len(common) else \
        np.zeros((0, size), dtype=np.int64)
    use = elig.use[pair].sum(axis=1) if len(common) else np.zeros(0, np.int64)
    staff = int(ch.staff[members].sum())
    room = (use <= un.vacancies[common]) & (staff <= un.staff_capacity[common])
    room &= (un.max_new[common] < 0) | (size <= un.max_new[common])
    common, pair, use = common[room], pair[room], use[room]
    unit_cost = costs.pence[pair].sum(axis=1) if len(common) else np.zeros(0, np.int64)
    options = [common]
    cost = [unit_cost]
    uses = [use]
    member_pairs = [pair]
    for f, fallback in enumerate(policy.fallbacks):
        if elig.fallback[members, f].all() and (fallback.capacity is None
                                                 or fallback.capacity >= size):
            options.append(np.array([un.m + f]))
            cost.append(np.array([fb_cost[f] * size]))
            uses.append(np.array([size]))
            member_pairs.append(np.full((1, size), -1))
    options.append(np.array([un.m + len(policy.fallbacks)]))
    cost.append(np.array([each_unplaced * size]))
    uses.append(np.array([0]))
    member_pairs.append(np.full((1, size), -1))
    option = np.concatenate(options).astype(np.int64)
    k = len(option)
    is_unit = option < un.m
    return _Block(
        entity=np.full(k, entity, np.int64), option=option,
        cost=np.concatenate(cost).astype(np.int64), use=np.concatenate(uses).astype(np.int64),
        staff=np.where(is_unit, staff, 0).astype(np.int64), heads=np.full(k, size, np.int64),
        member_count=np.full(k, size, np.int64),
        member_child=np.tile(members, k).astype(np.int64),
        member_pair=np.concatenate(member_pairs).reshape(-1).astype(np.int64),
    )


def _concat(blocks: list[_Block]) -> _Block:
    fields = _Block.__dataclass_fields__
    return _Block(**{name: np.concatenate([getattr(b, name) for b in blocks])
                     for name in fields})


def _rows(model: dict, kinds: list[int], ent_members: list[np.ndarray], units: Units,
          policy: Policy, conflicts: np.ndarray) -> dict[str, np.ndarray]:
    col_entity = model["col_entity"]
    option = model["col_option"]
    k = len(col_entity)
    n_ent = len(kinds)
    m = model["n_units"]
    rows_lo: list[np.ndarray] = []
    rows_hi: list[np.ndarray] = []
    rows_kind: list[np.ndarray] = []
    rows_ref: list[np.ndarray] = []
    a_row: list[np.ndarray] = []
    a_col: list[np.ndarray] = []
    a_val: list[np.ndarray] = []
    cols = np.arange(k)

    def add_rows(kind: int, refs: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> int:
        first = sum(len(r) for r in rows_kind)
        rows_kind.append(np.full(len(refs), kind, np.int64))
        rows_ref.append(refs.astype(np.int64))
        rows_lo.append(lower.astype(float))
        rows_hi.append(upper.astype(float))
        return first

    # Assignment rows, one per entity: 1 for singles, groups and together; 0 for members.
    kind_arr = np.array(kinds, dtype=np.int64)
    rhs = np.where(kind_arr == MEMBER, 0.0, 1.0)
    first = add_rows(ROW_ASSIGN, np.arange(n_ent), rhs, rhs)
    a_row.append(first + col_entity)
    a_col.append(cols)
    a_val.append(np.ones(k))
    split_together = model["split_together"]
    for s, together in enumerate(split_together):
        var = k + s
        a_row.append(np.array([first + together]))
        a_col.append(np.array([var]))
        a_val.append(np.array([1.0]))
        members = [e for e in range(n_ent) if kinds[e] == MEMBER
                   and model["entity_group"][e] == model["entity_group"][together]]
        a_row.append(first + np.array(members, dtype=np.int64))
        a_col.append(np.full(len(members), var))
        a_val.append(np.full(len(members), -1.0))
    at_unit = option < m
    unit_cols = cols[at_unit]
    unit_of = option[at_unit]
    # Vacancies, staff and admissions per unit, only where they can bind.
    for kind, weight, limit in (
        (ROW_VACANCY, model["col_use"], units.vacancies),
        (ROW_STAFF, model["col_staff"], units.staff_capacity),
        (ROW_ADMISSION, model["col_heads"], np.where(units.max_new < 0, np.iinfo(np.int64).max,
                                                     units.max_new)),
    ):
        w = weight[at_unit].astype(float)
        demand = np.bincount(unit_of, weights=w, minlength=m)
        binding = np.flatnonzero(demand > limit)
        if not len(binding):
            continue
        first = add_rows(kind, binding, np.full(len(binding), -np.inf),
                         limit[binding].astype(float))
        row_of_unit = np.full(m, -1, dtype=np.int64)
        row_of_unit[binding] = first + np.arange(len(binding))
        sel = (row_of_unit[unit_of] >= 0) & (w > 0)
        a_row.append(row_of_unit[unit_of[sel]])
        a_col.append(unit_cols[sel])
        a_val.append(w[sel])
    # Fallback capacity.
    for f, fallback in enumerate(policy.fallbacks):
        if fallback.capacity is None:
            continue
        here = np.flatnonzero(option == m + f)
        if model["col_heads"][here].sum() <= fallback.capacity:
            continue
        first = add_rows(ROW_FALLBACK, np.array([f]), np.array([-np.inf]),
                         np.array([float(fallback.capacity)]))
        a_row.append(np.full(len(here), first))
        a_col.append(here)
        a_val.append(model["col_heads"][here].astype(float))
    # Conflicts: the two children never share a unit.
    if len(conflicts):
        _conflict_rows(model, conflicts, add_rows, a_row, a_col, a_val)
    row_kind = np.concatenate(rows_kind)
    return dict(
        row_lower=np.concatenate(rows_lo), row_upper=np.concatenate(rows_hi),
        row_kind=row_kind, row_ref=np.concatenate(rows_ref),
        a_row=np.concatenate(a_row).astype(np.int64), a_col=np.concatenate(a_col).astype(
            np.int64), a_val=np.concatenate(a_val).astype(float),
    )


def _conflict_rows(model: dict, conflicts: np.ndarray, add_rows, a_row: list, a_col: list,
                   a_val: list) -> None:
    m = model["n_units"]
    counts = np.diff(model["member_ptr"])
    col_of_member = np.repeat(np.arange(len(counts)), counts)
    unit_of_member = model["col_option"][col_of_member]
    keep = unit_of_member < m
    presence = pd.DataFrame({"child": model["member_child"][keep], "unit": unit_of_member[keep],
                             "col": col_of_member[keep]})
    pairs = pd.DataFrame({"a": conflicts[:, 0], "b": conflicts[:, 1],
                          "conflict": np.arange(len(conflicts))})
    side_a = pairs.merge(presence, left_on="a", right_on="child")[["conflict", "unit", "col"]]
    side_b = pairs.merge(presence, left_on="b", right_on="child")[["conflict", "unit", "col"]]
    shared = side_a[["conflict", "unit"]].drop_duplicates().merge(
        side_b[["conflict", "unit"]].drop_duplicates())
    if shared.empty:
        return
    shared = shared.sort_values(["conflict", "unit"]).reset_index(drop=True)
    first = add_rows(ROW_CONFLICT, shared["conflict"].to_numpy(),
                     np.full(len(shared), -np.inf), np.ones(len(shared)))
    shared["row"] = first + np.arange(len(shared))
    terms = pd.concat([side_a.merge(shared), side_b.merge(shared)]).drop_duplicates(
        ["row", "col"])
    a_row.append(terms["row"].to_numpy(dtype=np.int64))
    a_col.append(terms["col"].to_numpy(dtype=np.int64))
    a_val.append(np.ones(len(terms)))
