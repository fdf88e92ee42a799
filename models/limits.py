"""Upper limits on numbers the contract leaves open, so absurd input is named, not crashed on.

Money is held in whole pence in 64-bit integers, and OR-Tools' min-cost flow scales costs by
the number of nodes: a weekly price of £10^17 overflowed silently and the solver failed with
an internal error. No placement costs anything like £10 million a week (the most expensive in
``../shared/domain.md`` are tens of thousands), so a larger figure is a typing slip and is
refused with the file, row and column, or the policy key.
"""

from __future__ import annotations

from datetime import date

#: Most pounds any price, add-on or weight may be (per week, per mile or per point).
MAX_POUNDS = 10_000_000
#: Most miles a costed distance (a fallback's) may be: half the Earth's circumference.
MAX_MILES = 12_500
#: Most years a unit's ``age_min`` or ``age_max`` may give (99 is a common "no upper age").
MAX_AGE = 120
#: Most children a fallback's ``capacity`` may name. Capacities become 64-bit integers in the
#: model (2**63 was an internal error); no purchasing system takes a million children in one
#: batch, and ``null`` already means no limit.
MAX_PLACES = 1_000_000
#: HiGHS's ``random_seed`` is a C ``int``.
MAX_SEED = 2**31 - 1
#: Placement lengths past which every child turns 18 within the placement (30 years): longer
#: ones are counted as this, which changes no answer and keeps dates in range (10**7 weeks
#: wrapped the engine's nanosecond dates to 1677 and overflowed the checker's).
ADULT_WITHIN_WEEKS = 30 * 53
#: Run dates supported (``--as-of``, a scenario's ``as_of``, the register's decision and
#: report dates). Engine dates are nanosecond timestamps, which end in 1677 and 2262: an
#: --as-of past 2262 wrapped round and told every child their birthday was after it, and one
#: within a placement's length of 2262 wrapped the end of the placement. Two centuries either
#: side of today leave every such date well inside.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2200, 12, 31)


def outside_run_days(day: date) -> str | None:
    """Why ``day`` cannot be a run date, or None: one message for ``--as-of``, a scenario's
    ``as_of`` and the register's dates."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"must be between {FIRST_DAY} and {LAST_DAY}, found {day}"
