"""The weekly £-equivalent cost of each option (contract section 7), as integer pence.

A child's cost for an option is summed in pounds and then rounded to whole pence, half away
from zero, exactly as the contract reads; the solver only ever sees the integers, so the
objective is exact and a gap below one penny proves optimality.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.arrays import RATINGS, ROUTES, Children, Units, miles
from allocator.eligibility import Offers
from models.policy import Fallback, Policy

#: Float sums of pounds land a hair either side of a half penny; this nudge makes 0.125 or
#: 1.005 round as the decimal numbers people wrote, not as their binary approximations.
HALF_PENNY_NUDGE = 1e-6


def to_pence(pounds: np.ndarray | float) -> np.ndarray:
    """Round pounds to whole pence, half away from zero."""
    value = np.asarray(pounds, dtype=float) * 100.0
    return (np.sign(value) * np.floor(np.abs(value) + 0.5 + HALF_PENNY_NUDGE)).astype(np.int64)


@dataclass(frozen=True)
class PairCosts:
    """The objective term of every eligible pair, in pence (what the solver sees)."""

    pence: np.ndarray


@dataclass(frozen=True)
class PairDetail:
    """What explanations need about some pairs, recomputed on demand (cheap for a few)."""

    paid: np.ndarray  # £ per week actually paid to the provider
    miles: np.ndarray
    school_move: np.ndarray  # a key stage 4 child placed over the school-move distance


def _paid_and_move(children: Children, units: Units, policy: Policy, offers: Offers | None,
                   c: np.ndarray, u: np.ndarray,
                   offer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if offers is not None:
        paid = offers.price[offer]
    else:
        therapy = children.therapy[c] & ~units.therapeutic[u]
        paid = units.price[u] + units.addon[u, children.staff[c]] + policy.therapy_addon * therapy
    school_known = ~np.isnan(children.school[c, 0])
    move = np.zeros(len(c), dtype=bool)
    ks4 = np.flatnonzero(children.ks4[c] & school_known)
    if len(ks4):
        away = miles(children.school[c[ks4]], units.location[u[ks4]])
        move[ks4] = away > policy.rules.school_move_miles
    return paid, move


def pair_pence(children: Children, units: Units, policy: Policy, offers: Offers | None,
               c: np.ndarray, u: np.ndarray, distance: np.ndarray,
               offer: np.ndarray) -> np.ndarray:
    """Objective pence of pairs (children ``c`` in units ``u`` at ``distance`` miles)."""
    w = policy.weights
    paid, move = _paid_and_move(children, units, policy, offers, c, u, offer)
    quality = np.array([getattr(w.quality, r) for r in RATINGS])
    route = np.array([getattr(w.route, r) for r in ROUTES])
    # The unit's own terms are summed once per unit, not once per pair.
    unit_terms = (w.out_of_area * ~units.in_home + w.at_distance * units.at_distance
                  + quality[units.rating] + route[units.route])
    pounds = paid + w.distance_per_mile * distance + unit_terms[u] + w.school_move_ks4 * move
    if offers is not None:
        score = offers.quality[offer]
        pounds = pounds + np.where(np.isnan(score), 0.0,
                                   w.offer_quality_point * (100.0 - np.nan_to_num(score)))
    return to_pence(pounds)


def pair_detail(children: Children, units: Units, policy: Policy, offers: Offers | None,
                c: np.ndarray, u: np.ndarray, offer: np.ndarray) -> PairDetail:
    paid, move = _paid_and_move(children, units, policy, offers, c, u, offer)
    return PairDetail(paid, miles(children.home[c], units.location[u]), move)


def fallback_pounds(fallback: Fallback, policy: Policy) -> float:
    """A fallback's cost: its location is unknown, so it pays out-of-area and at-distance."""
    w = policy.weights
    return (fallback.weekly_price + getattr(w.route, fallback.route.value)
            + w.distance_per_mile * fallback.distance_miles + w.out_of_area + w.at_distance)


def fallback_pence(policy: Policy) -> np.ndarray:
    return to_pence(np.array([fallback_pounds(f, policy) for f in policy.fallbacks], dtype=float))


def unplaced_pence(policy: Policy) -> int:
    return int(to_pence(policy.weights.unplaced))
