"""Code lists of the data contract and of SSDA903, the DfE looked-after children return.

Every code list is a ``str`` enum so that values compare equal to the text users write.
Councils' extracts spell codes loosely (``Foster``, ``semh``, SSDA903 ``1``/``2`` for sex), so
each enum also knows the spellings it accepts: :meth:`CodeEnum.lookup` maps a normalised
token (stripped, case-folded) to the canonical value, and the table readers use that mapping
for whole columns at once.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache


class CodeEnum(StrEnum):
    """A code list whose members accept case-insensitive spellings and declared aliases."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def lookup(cls) -> dict[str, str]:
        """Map every accepted spelling (case-folded) to the canonical value."""
        return _lookup(cls)

    @classmethod
    def _missing_(cls, value: object) -> CodeEnum | None:
        if isinstance(value, str):
            canonical = cls.lookup().get(value.strip().casefold())
            if canonical is not None:
                return cls(canonical)
        return None

    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]


@cache
def _lookup(cls: type[CodeEnum]) -> dict[str, str]:
    table = {m.value.casefold(): m.value for m in cls}
    table.update({k.casefold(): v for k, v in ALIASES.get(cls.__name__, {}).items()})
    return table


class Setting(CodeEnum):
    """The kinds of placement a care plan may allow."""

    FOSTER = "foster"
    RESIDENTIAL = "residential"
    SUPPORTED = "supported"
    PARENT_CHILD = "parent_child"


class Route(CodeEnum):
    """How a place is bought; anything but ``in_house`` is a call-off needing delegated approval."""

    IN_HOUSE = "in_house"
    PDPS = "pdps"
    LCR = "lcr"
    REGIONAL = "regional"
    SPOT = "spot"


class OfstedRating(CodeEnum):
    OUTSTANDING = "outstanding"
    GOOD = "good"
    REQUIRES_IMPROVEMENT = "requires_improvement"
    INADEQUATE = "inadequate"
    NOT_YET_INSPECTED = "not_yet_inspected"


class Staffing(CodeEnum):
    """Enhanced staffing ratios; the number of extra staff each uses is :data:`STAFF_USE`."""

    STANDARD = "standard"
    ONE_TO_ONE = "1:1"
    TWO_TO_ONE = "2:1"
    THREE_TO_ONE = "3:1"


#: Extra staff a child at each staffing level takes from a unit's ``staff_capacity``.
STAFF_USE: dict[str, int] = {"standard": 0, "1:1": 1, "2:1": 2, "3:1": 3}


class Urgency(CodeEnum):
    EMERGENCY = "emergency"
    PLANNED = "planned"


class Sex(CodeEnum):
    """A child's sex; SSDA903 writes 1 for male and 2 for female."""

    M = "M"
    F = "F"


class UnitSexes(CodeEnum):
    """Which sexes a unit's statement of purpose admits."""

    M = "M"
    F = "F"
    ANY = "any"


class NeedCode(CodeEnum):
    """Need codes of contract section 5. ``EBD`` is the older name of ``SEMH``."""

    SEMH = "SEMH"
    LD = "LD"
    ASD = "ASD"
    PD = "PD"
    SI = "SI"
    CH = "CH"
    MH = "MH"
    SLCN = "SLCN"
    HSB = "HSB"
    CSE = "CSE"
    CCE = "CCE"
    MFH = "MFH"
    SUB = "SUB"
    UASC = "UASC"
    PC = "PC"


#: Needs that make a child a child with special educational needs and disabilities.
SEND_NEEDS: frozenset[str] = frozenset({"LD", "ASD", "PD", "SI", "CH", "SLCN", "SEMH"})


class PlaceProvider(CodeEnum):
    """SSDA903 ``PLACE_PROVIDER``: who provides the placement."""

    PR0 = "PR0"  # parents or other person with parental responsibility
    PR1 = "PR1"  # the council's own provision
    PR2 = "PR2"  # another council
    PR3 = "PR3"  # other public provision
    PR4 = "PR4"  # private provision
    PR5 = "PR5"  # voluntary or third sector


class Ownership(CodeEnum):
    """A unit's ``ownership``: the ``PLACE_PROVIDER`` codes a placement unit can have.

    ``PR0`` (parents or another person with parental responsibility) is a placement
    provider in SSDA903 but never a unit a council lists, and the contract allows
    ``PR1``-``PR5`` only.
    """

    PR1 = "PR1"
    PR2 = "PR2"
    PR3 = "PR3"
    PR4 = "PR4"
    PR5 = "PR5"


class PlaceCode(CodeEnum):
    """SSDA903 ``PLACE``: the placement type reported to the DfE.

    ``K3`` is not in the DfE list we cite but appears in the data contract's own example, so
    it is accepted rather than rejected.
    """

    U1 = "U1"  # foster with relative or friend, long term
    U2 = "U2"  # foster with relative or friend, fostering for adoption
    U3 = "U3"  # foster with relative or friend, other
    U4 = "U4"  # foster with other carer, long term
    U5 = "U5"  # foster with other carer, fostering for adoption
    U6 = "U6"  # foster with other carer, other
    K1 = "K1"  # secure children's home
    K2 = "K2"  # children's home
    K3 = "K3"
    H5 = "H5"  # semi-independent / supported accommodation
    R1 = "R1"  # residential care home
    R3 = "R3"  # family centre or mother and baby unit
    S1 = "S1"  # residential school
    P1 = "P1"  # with parents
    P2 = "P2"  # independent living
    Z1 = "Z1"  # other


class LegalStatus(CodeEnum):
    """SSDA903 ``LS``: the legal basis on which the child is looked after."""

    C1 = "C1"  # interim care order
    C2 = "C2"  # full care order
    D1 = "D1"  # freeing order granted
    E1 = "E1"  # placement order
    V2 = "V2"  # accommodated under s20
    V3 = "V3"  # short breaks, single
    V4 = "V4"  # short breaks, series
    L1 = "L1"  # police protection
    L2 = "L2"  # emergency protection order
    L3 = "L3"  # child assessment order
    J1 = "J1"  # remanded to local authority
    J2 = "J2"  # placed under PACE
    J3 = "J3"  # sentenced to a youth rehabilitation order with residence


class CategoryOfNeed(CodeEnum):
    """SSDA903 ``CIN``: the main reason the child needs services."""

    N1 = "N1"  # abuse or neglect
    N2 = "N2"  # child's disability
    N3 = "N3"  # parental illness or disability
    N4 = "N4"  # family in acute stress
    N5 = "N5"  # family dysfunction
    N6 = "N6"  # socially unacceptable behaviour
    N7 = "N7"  # low income
    N8 = "N8"  # absent parenting


class Approval(CodeEnum):
    """Approvals a placement needs before it takes effect (contract, approvals table)."""

    EXECUTIVE_DIRECTOR_CSC = "executive_director_csc"
    NOMINATED_OFFICER = "nominated_officer"
    DCS = "dcs"
    KS4_NOMINATED_OFFICER = "ks4_nominated_officer"
    EXECUTIVE_DIRECTOR_ASC = "executive_director_asc"


#: Spellings found in councils' extracts, by code list, mapped to the canonical value.
ALIASES: dict[str, dict[str, str]] = {
    "Sex": {"1": "M", "2": "F", "male": "M", "female": "F"},
    "UnitSexes": {"male": "M", "female": "F", "mixed": "any", "both": "any"},
    "NeedCode": {"ebd": "SEMH"},
}
