"""Ages in whole years at a date, as statements of purpose and the approvals table use them."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd


def age_years(date_of_birth: pd.Series | np.ndarray, as_of: date) -> np.ndarray:
    """Completed years at ``as_of`` (a birthday on ``as_of`` counts); -1 where unknown."""
    born = pd.DatetimeIndex(pd.to_datetime(date_of_birth))
    known = ~born.isna()
    years = as_of.year - born.year.to_numpy(dtype=float, na_value=0)
    before_birthday = (as_of.month < born.month.to_numpy(dtype=float, na_value=0)) | (
        (as_of.month == born.month.to_numpy(dtype=float, na_value=0))
        & (as_of.day < born.day.to_numpy(dtype=float, na_value=0)))
    return np.where(known, years - before_birthday, -1).astype(np.int64)


def birthday(date_of_birth: pd.Series | np.ndarray, years: int) -> np.ndarray:
    """The date each child turns ``years`` old (29 February birthdays fall on 1 March)."""
    born = pd.DatetimeIndex(pd.to_datetime(date_of_birth))
    year = born.year + years
    # Day before the same month-day in the target year, plus one day, handles 29 February.
    shifted = pd.to_datetime(
        pd.DataFrame({"year": year, "month": born.month, "day": 1})) + pd.to_timedelta(
        born.day - 1, unit="D")
    return shifted.to_numpy(dtype="datetime64[ns]")
