"""Every figure the synthetic market is calibrated to, in one place, each with its source.

``docs/data.md`` explains each figure and which parameter it sets. Sources follow
``../shared/domain.md``: DfE = children looked after in England, 31 March 2024; Ofsted =
children's social care data 2022/2023; CMA = children's social care market study 2021-22;
Sefton = Sefton Cabinet minutes. Anything marked ASSUMPTION is ours: it makes the demo look
like a strained North West market, and is a parameter to change, not a fact.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------------------------
# Children: who is referred
# ---------------------------------------------------------------------------------------------

#: Share of referrals by age band (inclusive years). ASSUMPTION, shaped like the DfE's age
#: split of looked-after children (teenagers the largest group) and tilted further towards
#: teenagers, who are most of the children a placement team is searching for.
AGE_BANDS: Final[dict[tuple[int, int], float]] = {
    (0, 0): 0.06, (1, 4): 0.12, (5, 9): 0.16, (10, 15): 0.40, (16, 17): 0.26,
}

#: The settings a care plan allows, by age group. Tuned so that across all referrals about 70%
#: allow foster care and about 16% a children's home: DfE 2024, 68-72% of looked-after children
#: in foster care, 15-17% in children's homes, secure units or semi-independent settings.
#: ``supported`` only at 16-17 (2021 ban on unregulated settings under 16, DfE/Ofsted 2023
#: registration); ``parent_child`` only for young parents of 16-17. Mixes are ASSUMPTION.
SETTING_PLANS: Final[dict[tuple[int, int], dict[str, float]]] = {
    (0, 9): {"foster": 0.975, "foster;residential": 0.015, "residential": 0.010},
    (10, 15): {"foster": 0.700, "foster;residential": 0.065, "residential": 0.235},
    (16, 17): {"foster": 0.060, "foster;supported": 0.080, "supported": 0.640,
               "residential": 0.050, "residential;supported": 0.050,
               "foster;residential": 0.020, "parent_child": 0.060,
               "parent_child;supported": 0.040},
}

#: Share of children referred as emergencies. ASSUMPTION within the 15-25% band the brief
#: sets; DfE/Ofsted 2022: about 70% of children ever placed out of area move there within two
#: weeks of entering care, so emergencies are common and drive distance.
EMERGENCY_SHARE: Final = 0.20

#: Share of children male, by profile. ASSUMPTION (DfE reports a majority of looked-after
#: children are boys; unaccompanied children are mostly boys; young parents here are mothers).
MALE_SHARE: Final[dict[str, float]] = {
    "foster": 0.53, "residential": 0.60, "supported": 0.58, "parent_child": 0.05, "UASC": 0.93,
}

#: Needs: the probability that a child of each profile has each need (profile = the most
#: intensive setting the plan allows). Residential SEND rates give about 80% of children who
#: may live in a children's home at least one SEND need: Ofsted 2023, 80% of children in
#: children's homes have SEN. Other rates are ASSUMPTION.
NEED_RATES: Final[dict[str, dict[str, float]]] = {
    #         foster residential supported parent_child
    "SEMH": {"foster": 0.30, "residential": 0.62, "supported": 0.35, "parent_child": 0.30},
    "ASD": {"foster": 0.08, "residential": 0.25, "supported": 0.08, "parent_child": 0.03},
    "LD": {"foster": 0.06, "residential": 0.20, "supported": 0.06, "parent_child": 0.10},
    "SLCN": {"foster": 0.08, "residential": 0.12, "supported": 0.04, "parent_child": 0.05},
    "CH": {"foster": 0.03, "residential": 0.05, "supported": 0.02, "parent_child": 0.03},
    "PD": {"foster": 0.02, "residential": 0.04, "supported": 0.01, "parent_child": 0.01},
    "SI": {"foster": 0.01, "residential": 0.03, "supported": 0.01, "parent_child": 0.01},
    "MH": {"foster": 0.04, "residential": 0.20, "supported": 0.15, "parent_child": 0.20},
    "HSB": {"foster": 0.02, "residential": 0.08, "supported": 0.03, "parent_child": 0.01},
    "CSE": {"foster": 0.04, "residential": 0.20, "supported": 0.10, "parent_child": 0.10},
    "CCE": {"foster": 0.04, "residential": 0.20, "supported": 0.15, "parent_child": 0.02},
    "MFH": {"foster": 0.06, "residential": 0.35, "supported": 0.20, "parent_child": 0.10},
    "SUB": {"foster": 0.02, "residential": 0.15, "supported": 0.20, "parent_child": 0.10},
    "UASC": {"foster": 0.03, "residential": 0.01, "supported": 0.35, "parent_child": 0.00},
}

#: Youngest age at which each need is recorded. ASSUMPTION (no toddler is at risk of criminal
#: exploitation in these files, unaccompanied children here are 14 or over).
NEED_MIN_AGE: Final[dict[str, int]] = {
    "SEMH": 3, "ASD": 2, "LD": 1, "SLCN": 2, "CH": 0, "PD": 0, "SI": 0, "MH": 10, "HSB": 8,
    "CSE": 10, "CCE": 10, "MFH": 10, "SUB": 12, "UASC": 14,
}

#: Exploitation risk by sex, as a multiplier of the rate above. ASSUMPTION.
NEED_SEX_FACTOR: Final[dict[str, dict[str, float]]] = {
    "CSE": {"M": 0.45, "F": 1.6}, "CCE": {"M": 1.5, "F": 0.45},
}

#: Enhanced staffing by profile: standard, 1:1, 2:1, 3:1. ASSUMPTION.
STAFFING: Final[dict[str, tuple[float, float, float, float]]] = {
    "foster": (0.98, 0.02, 0.0, 0.0), "residential": (0.78, 0.16, 0.05, 0.01),
    "supported": (0.95, 0.05, 0.0, 0.0), "parent_child": (0.97, 0.03, 0.0, 0.0),
}

#: Evidenced need for therapeutic wrap-around support (Sefton: the PDPS covers it). ASSUMPTION.
THERAPY_NEED: Final[dict[str, float]] = {
    "foster": 0.08, "residential": 0.30, "supported": 0.08, "parent_child": 0.10,
}

#: Share of children with a school location: of compulsory school age (and reception), and
#: of 16-17 year olds (college). ASSUMPTION.
IN_SCHOOL: Final[dict[str, float]] = {"school_age": 0.96, "post_16": 0.50, "UASC": 0.60}

#: Children in sibling groups and the group sizes. ASSUMPTION (the brief: about 10%).
SIBLING_SHARE: Final = 0.10
SIBLING_GROUP_SIZES: Final[dict[int, float]] = {2: 0.75, 3: 0.25}
KEEP_TOGETHER: Final = 0.85

#: Own distance cap (share of children, and the caps), "place away" floors for children at
#: risk of exploitation, and authorities avoided for safety. ASSUMPTION.
OWN_MAX_DISTANCE: Final = 0.30
MAX_DISTANCE_MILES: Final[dict[float, float]] = {15.0: 0.15, 20.0: 0.40, 30.0: 0.35, 40.0: 0.10}
PLACE_AWAY: Final = 0.50
MIN_DISTANCE_MILES: Final[dict[float, float]] = {10.0: 0.3, 15.0: 0.5, 20.0: 0.2}
AVOID_WHEN_EXPLOITED: Final = 0.30
AVOID_OTHERWISE: Final = 0.01
AVOIDED_AUTHORITIES: Final[dict[str, float]] = {
    "Liverpool": 0.40, "Sefton": 0.25, "Knowsley": 0.25, "Wirral": 0.10,
}

#: Planned length of the placement in weeks. ASSUMPTION.
EXPECTED_WEEKS: Final[dict[str, dict[int, float]]] = {
    "planned": {12: 0.10, 26: 0.25, 39: 0.10, 52: 0.25, 78: 0.10, 104: 0.20},
    "emergency": {4: 0.30, 6: 0.20, 8: 0.20, 12: 0.20, 26: 0.10},
}

#: Days between referral and ``--as-of``. ASSUMPTION: a planned search runs up to six weeks.
REFERRAL_DAYS: Final[dict[str, int]] = {"planned": 42, "emergency": 2}

#: SSDA903 legal status by age group. ASSUMPTION, shaped by DfE 2024 (most children on care
#: orders, many 16-17 year olds accommodated under s20); unaccompanied children are s20 (V2).
LEGAL_STATUS: Final[dict[tuple[int, int], dict[str, float]]] = {
    (0, 0): {"C1": 0.55, "C2": 0.10, "V2": 0.20, "E1": 0.05, "L2": 0.10},
    (1, 4): {"C1": 0.35, "C2": 0.30, "E1": 0.15, "V2": 0.15, "L2": 0.05},
    (5, 9): {"C1": 0.30, "C2": 0.45, "V2": 0.20, "L1": 0.05},
    (10, 15): {"C1": 0.25, "C2": 0.40, "V2": 0.28, "L1": 0.04, "J1": 0.03},
    (16, 17): {"C1": 0.15, "C2": 0.30, "V2": 0.45, "L1": 0.05, "J1": 0.05},
}

#: SSDA903 category of need. Approximately the DfE 2024 split (abuse or neglect about two
#: thirds) but not given in domain.md, so treat as ASSUMPTION; unaccompanied children are N8.
CATEGORY_OF_NEED: Final[dict[str, float]] = {
    "N1": 0.64, "N2": 0.03, "N3": 0.03, "N4": 0.08, "N5": 0.14, "N6": 0.01, "N7": 0.005,
    "N8": 0.065,
}

#: Pairs of children who must not share a unit, per child referred, and their reasons.
#: ASSUMPTION.
CONFLICTS_PER_CHILD: Final = 0.05
CONFLICT_REASONS: Final[tuple[str, ...]] = (
    "previous peer conflict", "previous placement together broke down",
    "police advice: known association", "bullying in a previous placement",
)

# ---------------------------------------------------------------------------------------------
# Where children live (home locations)
# ---------------------------------------------------------------------------------------------

#: Home towns of referred children: 85% in Sefton, weighted towards Bootle, Netherton and
#: Southport where need is highest; the rest live nearby. ASSUMPTION.
HOME_TOWNS: Final[dict[str, float]] = {
    "Bootle": 0.19, "Litherland": 0.07, "Seaforth": 0.04, "Netherton": 0.10, "Crosby": 0.07,
    "Waterloo": 0.04, "Aintree": 0.02, "Maghull": 0.06, "Formby": 0.03, "Ainsdale": 0.03,
    "Southport": 0.20,
}
HOME_AUTHORITIES: Final[dict[str, float]] = {
    "Liverpool": 0.06, "Knowsley": 0.03, "West Lancashire": 0.02, "Wirral": 0.02,
    "St Helens": 0.01, "Wigan": 0.01,
}

# ---------------------------------------------------------------------------------------------
# Units: the market
# ---------------------------------------------------------------------------------------------

#: Units by setting, mirroring the DfE 2024 split of children (foster majority, 15-17% in
#: children's homes and similar). ASSUMPTION: the same split holds for units listed.
UNIT_SETTINGS: Final[dict[str, float]] = {
    "foster": 0.69, "residential": 0.16, "supported": 0.12, "parent_child": 0.03,
}

#: Share of each setting's units that are the council's own (PR1, ``in_house``). ASSUMPTION;
#: DfE 2024: about 16% of children are in kinship foster care, mostly with council carers.
IN_HOUSE: Final[dict[str, float]] = {
    "foster": 0.35, "residential": 0.04, "supported": 0.0, "parent_child": 0.0,
}
IN_HOUSE_PROVIDER: Final = "Sefton Council Children's Services"

#: Purchasing route of a provider's units (bought places). Sefton's PDPS covers residential
#: care and fostering including SEND; LCR and regional systems stay as a contingency; the North
#: West 16+ framework buys supported accommodation; spot purchase is the last resort (Sefton).
#: The shares are ASSUMPTION.
ROUTES: Final[dict[str, dict[str, float]]] = {
    "foster": {"pdps": 0.55, "regional": 0.30, "spot": 0.15},
    "residential": {"pdps": 0.58, "lcr": 0.16, "regional": 0.05, "spot": 0.21},
    "supported": {"regional": 0.60, "spot": 0.40},
    "parent_child": {"pdps": 0.50, "regional": 0.20, "spot": 0.30},
}

#: Mean units per bought provider. ASSUMPTION; Ofsted 2023: 2,880 homes for 10,818 places, so
#: a home has about 3.8 places; CMA: the largest providers own many homes.
UNITS_PER_PROVIDER: Final[dict[str, float]] = {
    "foster": 12.0, "residential": 4.0, "supported": 6.0, "parent_child": 2.0,
}
VOLUNTARY_PROVIDERS: Final = 0.20  # PR5 rather than PR4. ASSUMPTION.

#: PDPS lots (Sefton: residential, fostering, SEND, emergency, parent and child, therapeutic).
LOT_MAIN: Final[dict[str, str]] = {
    "residential": "L1-residential", "foster": "L2-fostering", "parent_child": "L3-parent_child",
}
LOT_EXTRA: Final[dict[str, float]] = {"L4-SEND": 0.45, "L5-emergency": 0.40,
                                      "L6-therapeutic": 0.25}  # ASSUMPTION

#: Admission to the PDPS (it stays open: providers join over time) or a framework. Share of
#: PDPS providers admitted after ``--as-of`` (not yet eligible). ASSUMPTION.
PDPS_ADMITTED_DAYS: Final = (30, 900)
PDPS_ADMITTED_LATER: Final = 0.06
FRAMEWORK_ADMITTED_DAYS: Final = (200, 2000)

#: Where units stand: authority weights by setting. Ofsted 2023: the North West has about a
#: quarter of England's children's homes; domain.md: Sefton hosts many private children's homes
#: that take other councils' children; DfE 2024: almost half of children live outside their
#: council's area; Ofsted 2022: children in children's homes live on average 36 miles from home.
#: The weights themselves are ASSUMPTION.
UNIT_AUTHORITIES: Final[dict[str, dict[str, float]]] = {
    "residential": {
        "Sefton": 0.16, "Liverpool": 0.07, "Knowsley": 0.04, "West Lancashire": 0.04,
        "Wirral": 0.06, "St Helens": 0.04, "Halton": 0.03, "Warrington": 0.04, "Wigan": 0.05,
        "Lancashire": 0.12, "Blackburn with Darwen": 0.03, "Blackpool": 0.04,
        "Manchester": 0.03, "Salford": 0.02, "Bolton": 0.02, "Stockport": 0.015,
        "Oldham": 0.02, "Rochdale": 0.02, "Trafford": 0.01,
        "Cheshire West and Chester": 0.02, "Cheshire East": 0.02,
        "Westmorland and Furness": 0.03, "Cumberland": 0.015,
        "Stoke-on-Trent": 0.02, "Shropshire": 0.015, "Derbyshire": 0.02, "Kirklees": 0.015,
        "Leeds": 0.015, "North Yorkshire": 0.015,
    },
    "foster": {
        "Sefton": 0.22, "Liverpool": 0.20, "Knowsley": 0.08, "West Lancashire": 0.07,
        "Wirral": 0.10, "St Helens": 0.06, "Halton": 0.04, "Warrington": 0.04, "Wigan": 0.06,
        "Lancashire": 0.06, "Manchester": 0.03, "Salford": 0.02, "Bolton": 0.02,
    },
    "supported": {
        "Sefton": 0.30, "Liverpool": 0.28, "Knowsley": 0.05, "Wirral": 0.10, "St Helens": 0.05,
        "Wigan": 0.05, "Lancashire": 0.05, "Manchester": 0.08, "Salford": 0.04,
    },
    "parent_child": {
        "Liverpool": 0.25, "Sefton": 0.15, "Wirral": 0.10, "Lancashire": 0.15,
        "Manchester": 0.12, "Salford": 0.05, "Warrington": 0.08,
        "Cheshire West and Chester": 0.10,
    },
}
IN_HOUSE_AUTHORITIES: Final[dict[str, dict[str, float]]] = {
    "foster": {"Sefton": 0.85, "Liverpool": 0.06, "West Lancashire": 0.05, "Knowsley": 0.04},
    "residential": {"Sefton": 1.0},
}

#: Ofsted rating mix: children's homes and family centres by unit, agencies by provider,
#: supported accommodation (registered since 28 October 2023, so mostly not yet inspected).
#: ASSUMPTION, shaped by Ofsted's published mix (most good, some outstanding).
OFSTED: Final[dict[str, dict[str, float]]] = {
    "residential": {"outstanding": 0.18, "good": 0.60, "requires_improvement": 0.12,
                    "inadequate": 0.03, "not_yet_inspected": 0.07},
    "foster": {"outstanding": 0.20, "good": 0.65, "requires_improvement": 0.10,
               "inadequate": 0.02, "not_yet_inspected": 0.03},
    "supported": {"outstanding": 0.03, "good": 0.22, "requires_improvement": 0.04,
                  "inadequate": 0.01, "not_yet_inspected": 0.70},
    "parent_child": {"outstanding": 0.15, "good": 0.60, "requires_improvement": 0.15,
                     "inadequate": 0.03, "not_yet_inspected": 0.07},
}
IN_HOUSE_RATING: Final = "good"  # ASSUMPTION: the council's fostering service rating.

#: Age ranges from statements of purpose (reg 14), as (age_min, age_max): share. ASSUMPTION.
AGE_RANGES: Final[dict[str, dict[tuple[int, int], float]]] = {
    "residential": {(5, 17): 0.05, (8, 17): 0.15, (10, 17): 0.25, (11, 17): 0.30,
                    (12, 17): 0.20, (13, 17): 0.05},
    "foster": {(0, 17): 0.35, (0, 10): 0.25, (0, 4): 0.08, (5, 17): 0.12, (11, 17): 0.20},
    "supported": {(16, 17): 1.0},
    "parent_child": {(14, 21): 0.15, (14, 25): 0.15, (16, 21): 0.35, (16, 25): 0.35},
}
SEXES: Final[dict[str, dict[str, float]]] = {
    "residential": {"any": 0.78, "M": 0.13, "F": 0.09},
    "foster": {"any": 0.92, "M": 0.04, "F": 0.04},
    "supported": {"any": 0.70, "M": 0.20, "F": 0.10},
    "parent_child": {"any": 0.60, "F": 0.40},
}

#: Need areas (SEND and clinical mental health) a unit supports. Ofsted 2023: four-fifths of
#: homes accept two or more need areas, so a fifth of homes keep one area only. Rates are
#: ASSUMPTION.
NEED_AREAS: Final[tuple[str, ...]] = ("SEMH", "ASD", "LD", "SLCN", "MH", "CH", "PD", "SI")
SINGLE_AREA_SHARE: Final[dict[str, float]] = {
    "residential": 0.20, "foster": 0.35, "supported": 0.30, "parent_child": 0.20,
}
NEEDS_SUPPORTED: Final[dict[str, dict[str, float]]] = {
    "residential": {"SEMH": 0.90, "ASD": 0.45, "LD": 0.35, "SLCN": 0.30, "MH": 0.35,
                    "CH": 0.12, "PD": 0.08, "SI": 0.06, "HSB": 0.15, "CSE": 0.45, "CCE": 0.45,
                    "MFH": 0.60, "SUB": 0.30, "UASC": 0.15, "PC": 0.0},
    "foster": {"SEMH": 0.55, "ASD": 0.20, "LD": 0.15, "SLCN": 0.20, "MH": 0.08, "CH": 0.10,
               "PD": 0.06, "SI": 0.05, "HSB": 0.04, "CSE": 0.12, "CCE": 0.10, "MFH": 0.20,
               "SUB": 0.05, "UASC": 0.12, "PC": 0.0},
    "supported": {"SEMH": 0.60, "ASD": 0.10, "LD": 0.10, "SLCN": 0.05, "MH": 0.25, "CH": 0.03,
                  "PD": 0.03, "SI": 0.02, "HSB": 0.05, "CSE": 0.30, "CCE": 0.35, "MFH": 0.40,
                  "SUB": 0.40, "UASC": 0.45, "PC": 0.08},
    "parent_child": {"SEMH": 0.50, "ASD": 0.10, "LD": 0.30, "SLCN": 0.10, "MH": 0.40,
                     "CH": 0.10, "PD": 0.05, "SI": 0.05, "HSB": 0.0, "CSE": 0.20, "CCE": 0.05,
                     "MFH": 0.10, "SUB": 0.25, "UASC": 0.05, "PC": 1.0},
}

#: Places free now. Many homes are full (domain.md: local beds are not all available to
#: Sefton); foster households take one or two. ASSUMPTION.
VACANCIES: Final[dict[str, dict[int, float]]] = {
    "residential": {0: 0.42, 1: 0.36, 2: 0.16, 3: 0.06},
    "foster": {1: 0.65, 2: 0.30, 3: 0.05},
    "supported": {0: 0.10, 1: 0.30, 2: 0.30, 3: 0.15, 4: 0.10, 6: 0.05},
    "parent_child": {0: 0.30, 1: 0.60, 2: 0.10},
}
STAFF_CAPACITY: Final[dict[str, dict[int, float]]] = {
    "residential": {0: 0.45, 1: 0.30, 2: 0.18, 3: 0.07},
    "supported": {0: 0.70, 1: 0.30},
    "parent_child": {0: 0.80, 1: 0.20},
}
ACCEPTS_EMERGENCY: Final[dict[str, float]] = {
    "residential": 0.30, "foster": 0.30, "supported": 0.45, "parent_child": 0.20,
}
MAX_NEW_ADMISSIONS: Final[dict[str, tuple[float, int]]] = {
    "residential": (0.45, 1), "supported": (0.20, 2),
}
THERAPEUTIC: Final[dict[str, float]] = {
    "residential": 0.22, "foster": 0.06, "supported": 0.03, "parent_child": 0.15,
}

#: When the place is free: now (up to 90 days ago), within the 28-day planned window, or later.
#: ASSUMPTION.
AVAILABLE: Final[dict[str, float]] = {"now": 0.60, "within_window": 0.25, "later": 0.15}

#: Weekly prices (£ per child). CMA 2021-22: largest private children's home providers about
#: £3,830, independent fostering agencies about £820; domain.md: council in-house fostering
#: roughly £400-600; recent council figures for children's homes £5,000-£6,600. The home median
#: sits between the CMA and council figures; supported and parent-and-child prices, the route
#: mark-ups and the spreads are ASSUMPTION. (median, log-sd, floor, ceiling, rounding)
PRICES: Final[dict[str, tuple[float, float, float, float, float]]] = {
    "foster": (820.0, 0.12, 650.0, 1300.0, 1.0),
    "residential": (4900.0, 0.15, 3600.0, 8500.0, 10.0),
    "supported": (1700.0, 0.25, 900.0, 3500.0, 10.0),
    "parent_child": (3800.0, 0.20, 2500.0, 6500.0, 10.0),
}
IN_HOUSE_FOSTER_PRICE: Final = (400.0, 600.0)
IN_HOUSE_RESIDENTIAL_FACTOR: Final = 0.90
ROUTE_MARKUP: Final[dict[str, float]] = {
    "pdps": 1.00, "lcr": 1.05, "regional": 1.05, "spot": 1.18, "in_house": 1.00,
}
THERAPEUTIC_PREMIUM: Final[dict[str, float]] = {
    "residential": 600.0, "foster": 250.0, "supported": 150.0, "parent_child": 400.0,
}
NEED_AREA_PREMIUM: Final = 150.0  # per need area beyond two, children's homes. ASSUMPTION.
#: Enhanced staffing add-on a unit prices itself (the rest use the policy default, £1,800 per
#: member of staff). ASSUMPTION.
OWN_STAFFING_PRICE: Final = 0.60
STAFFING_PRICE_1TO1: Final = (1800.0, 200.0)

# ---------------------------------------------------------------------------------------------
# Scenario simulation: demand over time (scenarios/demand.py, docs/scenarios.md)
# ---------------------------------------------------------------------------------------------

#: DfE 2024 (England, year to 31 March 2024): children looked after, starts and placement
#: changes, and the reasons for changes that end a placement before its plan did.
ENGLAND_LOOKED_AFTER: Final = 83_630
ENGLAND_STARTS_PER_YEAR: Final = 33_000
ENGLAND_PLACEMENT_CHANGES: Final = 66_070
#: Reasons for placement change: "status of placement" 24% and "carer requests end due to
#: behaviour" 8% end a placement early; "care plan" 31% are planned moves, part of a
#: placement's planned length; "other" 22% is left out.
UNPLANNED_CHANGE_SHARE: Final = 0.24 + 0.08

#: Children entering care per looked-after child per year (DfE 2024: 33,000 / 83,630): the
#: demand model scales this by the council's own number of looked-after children.
ENTRIES_PER_CHILD_YEAR: Final = ENGLAND_STARTS_PER_YEAR / ENGLAND_LOOKED_AFTER

#: Weekly chance that a placement breaks down (ends early, the child needs a new one): the
#: DfE 2024 unplanned changes per looked-after child per year, over 52 weeks (about 0.49%).
BREAKDOWN_PER_WEEK: Final = (ENGLAND_PLACEMENT_CHANGES * UNPLANNED_CHANGE_SHARE
                             / ENGLAND_LOOKED_AFTER / 52)

#: Looked-after children the council has. ASSUMPTION: an order of magnitude for a borough of
#: Sefton's size; set it to the council's own SSDA903 count.
LOOKED_AFTER: Final = 600

#: Planned placement length by setting, weeks: lognormal (median, log spread). ASSUMPTION,
#: anchored on DfE 2024: 83,630 children over 33,000 starts plus 66,070 changes a year is a
#: mean placement of about 44 weeks; foster placements last longest, parent-and-child
#: assessments are short (about 12 weeks).
PLACEMENT_WEEKS: Final[dict[str, tuple[float, float]]] = {
    "foster": (30.0, 0.9), "residential": (22.0, 0.8), "supported": (30.0, 0.7),
    "parent_child": (12.0, 0.5),
}

#: What a child waiting for a placement costs a week: an emergency spot purchase, the
#: setting's median price (``PRICES``) with the spot mark-up (``ROUTE_MARKUP``) and a 25%
#: emergency premium. The premium is ASSUMPTION.
EMERGENCY_PREMIUM: Final = 1.25
WAITING_COST: Final[dict[str, float]] = {
    setting: round(PRICES[setting][0] * ROUTE_MARKUP["spot"] * EMERGENCY_PREMIUM, -1)
    for setting in ("foster", "residential", "supported", "parent_child")
}
