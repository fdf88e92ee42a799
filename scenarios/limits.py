"""Upper bounds on the sizes a scenario or ``pdps demo-data`` may ask for.

A slip of the keyboard (``looked_after: 1000000000``, ``--units 100000000``) is refused at
once, naming the key or option and its bound, rather than filling memory or running for
minutes (found in review: one was OOM-killed at 24 GB, another still running after a minute).

The bounds are generous for real use. England has about 84,000 looked-after children
(``calibration.ENGLAND_LOOKED_AFTER``, DfE 2024) and a few tens of thousands of children's
homes and fostering households; the national benchmark runs 5,000 children x 50,000 units.
More than twice England's figures fits any council, region or the whole country, and keeps
one run within a workstation's memory. Kept apart from :mod:`scenarios.config` so the
``demo-data`` command can read them without loading the scenario models.
"""

from __future__ import annotations

from typing import Final

#: Most children: looked after (``demand.looked_after``), referred (``demo-data --children``),
#: in the pool (``demand.pool.children``) and in care at once at the start (Little's law).
MAX_CHILDREN: Final = 200_000
#: Most units listed (``market.demo.units``, ``demo-data --units``).
MAX_UNITS: Final = 200_000
#: Most arrivals a week: England's 33,000 starts a year are about 635 a week. Arrivals are
#: drawn up front at three times the rate (``MAX_DEMAND_FACTOR``) for every simulated week.
MAX_ARRIVALS_PER_WEEK: Final = 2_000
#: Longest placement drawn, weeks (five years): a longer median would only be clipped.
LONGEST_PLACEMENT_WEEKS: Final = 260
