"""A short text picture of validated inputs: who is waiting, what is free, and the gap."""

from __future__ import annotations

import pandas as pd

from allocator.columns import list_items
from allocator.validate import Inputs
from models.codes import Route, Setting, Urgency


def input_summary(inputs: Inputs) -> str:
    """Children by setting and urgency, places by setting and route, demand against vacancies.

    A child whose plan allows several settings is counted under each, so the demand column
    says how many children *could* use a setting, not a partition of the children.
    """
    referrals, units = inputs.referrals, inputs.units
    settings = list_items(referrals["settings"])
    urgency = referrals["urgency"].reindex(settings.index)
    demand = pd.crosstab(settings, urgency).reindex(index=Setting.values(),
                                                    columns=Urgency.values(), fill_value=0)
    places = units.pivot_table(index="setting", columns="route", values="vacancies",
                               aggfunc="sum", fill_value=0)
    places = places.reindex(index=Setting.values(), columns=Route.values(), fill_value=0)
    lines = [
        f"Inputs valid as of {inputs.as_of.isoformat()}: {len(referrals)} referrals, "
        f"{len(units)} units ({int(units['vacancies'].sum())} vacancies) from "
        f"{units['provider_id'].nunique()} providers"
        + (f", {len(inputs.offers)} offers" if inputs.offers is not None else "")
        + (f", {len(inputs.conflicts)} conflicts" if inputs.conflicts is not None else "")
        + ".",
        "",
        "Children by setting allowed and urgency:",
        _table(demand),
        "",
        "Vacancies by setting and route:",
        _table(places),
        "",
        "Demand against vacancies:",
    ]
    for setting in Setting.values():
        wanted = int(demand.loc[setting].sum())
        free = int(places.loc[setting].sum())
        lines.append(f"  {setting:<13} {wanted:>6} children could use it, {free:>6} vacancies")
    if inputs.warnings:
        lines += ["", f"{len(inputs.warnings)} warning(s) printed above."]
    return "\n".join(lines)


def _table(frame: pd.DataFrame) -> str:
    frame = frame.copy()
    frame.index.name = None
    frame.columns.name = None
    return "\n".join("  " + line for line in frame.to_string().splitlines())
