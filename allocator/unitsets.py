"""Which units pass each child-level rule, as packed bit sets: 64 units per machine word.

Every rule except the distance and avoided-authority ones depends on the child only through
a few small attributes (settings, age, sex, needs, urgency, staffing). So for each rule and
each value of its attribute we hold the set of units that pass, as bits; a child's eligible
units are then the AND of a handful of words per 64 units. For 5,000 children and 50,000
units that is about 20 million word operations instead of 250 million pair evaluations, and
the first-failing-rule counts are population counts of ``survivors & ~passes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from allocator.arrays import RATINGS, SUPPORTED, Children, Units
from models.policy import Policy

WORD = 64


def pack(flags: np.ndarray) -> np.ndarray:
    """Bool array(s) over units to uint64 words (little-endian bit order, zero padded)."""
    flags = np.atleast_2d(flags)
    padded = np.zeros((flags.shape[0], -(-flags.shape[1] // WORD) * WORD), dtype=bool)
    padded[:, :flags.shape[1]] = flags
    return np.packbits(padded, axis=1, bitorder="little").view(np.uint64)


def unpack(words: np.ndarray, m: int) -> np.ndarray:
    """uint64 words back to a (rows, m) bool array."""
    return np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :m].astype(bool)


def count(words: np.ndarray) -> np.ndarray:
    """Set bits per row."""
    return np.bitwise_count(words).sum(axis=1, dtype=np.int64)


@dataclass(frozen=True)
class UnitSets:
    """For each rule, the units that pass it, by the value of the child attribute it reads."""

    m: int
    setting_combo: np.ndarray  # (16, W): units of any setting in a settings mask
    unit_level: tuple[tuple[str, np.ndarray], ...]  # (rule, (W,)) in RULES order
    not_supported: np.ndarray  # (W,)
    age: np.ndarray  # (ages, W) for ages 0..max
    sex: np.ndarray  # (2, W): M, F
    need: np.ndarray  # (needs, W): units supporting each need code
    emergency: np.ndarray  # (W,) accepts emergencies
    available: np.ndarray  # (2, W): planned (within the window), emergency (by --as-of)
    staff: np.ndarray  # (4, W): staff capacity for each staffing level
    everything: np.ndarray  # (W,) every real unit


def unit_sets(units: Units, policy: Policy, max_age: int, n_needs: int) -> UnitSets:
    m = units.m
    combos = np.array([[(mask >> s) & 1 for s in range(4)] for mask in range(16)], dtype=bool)
    in_combo = combos[:, units.setting] if m else np.zeros((16, 0), dtype=bool)
    banned = np.zeros(len(RATINGS), dtype=bool)
    banned[RATINGS.index("inadequate")] = policy.rules.inadequate == "exclude"
    banned[RATINGS.index("requires_improvement")] = policy.rules.requires_improvement == "exclude"
    ages = np.arange(max_age + 1)
    return UnitSets(
        m=m,
        setting_combo=pack(in_combo),
        unit_level=(
            ("ofsted", pack(~banned[units.rating])[0]),
            ("admission", pack(units.admitted_day <= 0)[0]),
            ("vacancies", pack(units.vacancies >= 1)[0]),
            ("admissions_limit", pack(units.max_new != 0)[0]),
        ),
        not_supported=pack(units.setting != SUPPORTED)[0],
        age=pack((units.age_min[None, :] <= ages[:, None]) & (ages[:, None] <= units.age_max)),
        sex=pack(np.stack([units.sexes != 1, units.sexes != 0])),
        need=pack(np.stack([(units.needs >> k) & 1 == 1 for k in range(n_needs)])
                  if n_needs else np.zeros((0, m), dtype=bool)),
        emergency=pack(units.emergency)[0],
        available=pack(np.stack([units.available_day <= policy.rules.planned_window_days,
                                 units.available_day <= 0])),
        staff=pack(np.stack([units.staff_capacity >= level for level in range(4)])),
        everything=pack(np.ones(m, dtype=bool))[0],
    )


def rule_stages(sets: UnitSets, ch: Children, who: np.ndarray,
                n_needs: int) -> Iterator[tuple[str, np.ndarray]]:
    """For the children ``who``: (rule, units passing it) in RULES order, as (len(who), W).

    The first stage is "setting"; each later stage's failures among the survivors of the
    earlier ones are the units that rule excluded first.
    """
    yield "setting", sets.setting_combo[ch.settings[who]]
    for name, passing in sets.unit_level:
        yield name, np.broadcast_to(passing, (len(who), len(passing)))
    young = (ch.age[who] < 16)[:, None]
    yield "under_16", np.where(young, sets.not_supported, sets.everything)
    age = np.clip(ch.age[who], 0, len(sets.age) - 1)
    yield "age", sets.age[age]
    yield "sex", sets.sex[ch.female[who].astype(np.int64)]
    needs = np.broadcast_to(sets.everything, (len(who), len(sets.everything))).copy()
    for k in range(n_needs):
        has = ((ch.needs[who] >> k) & 1 == 1)[:, None]
        if has.any():
            needs &= np.where(has, sets.need[k], sets.everything)
    yield "needs", needs
    emergency = ch.emergency[who][:, None]
    yield "emergency", np.where(emergency, sets.emergency, sets.everything)
    yield "availability", sets.available[ch.emergency[who].astype(np.int64)]
    yield "staffing", sets.staff[np.clip(ch.staff[who], 0, 3)]
