"""Assurance levels of DigiD and eHerkenning, in order, with their SAML AuthnContextClassRefs.

python3-saml does not order levels, so the issuer compares them here. DigiD's class refs
come from the Logius "DigiD Koppelvlakspecificatie SAML" (betrouwbaarheidsniveaus);
eHerkenning's from the eToegang "Afsprakenstelsel", Interface specifications DV-HM (LoA).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "LEVELS",
    "SCHEMES",
    "Level",
    "Scheme",
    "UnknownLevel",
    "get_level",
    "level_at_least",
    "level_from_class_ref",
]

Scheme = Literal["digid", "eherkenning"]
SCHEMES: tuple[Scheme, ...] = get_args(Scheme)


class UnknownLevel(ValueError):
    """A level name or AuthnContextClassRef that the scheme does not define."""


@dataclass(frozen=True, slots=True)
class Level:
    """One assurance level: our name, its rank within the scheme, and its class ref."""

    scheme: Scheme
    name: str
    rank: int
    class_ref: str


def _ordered(scheme: Scheme, pairs: tuple[tuple[str, str], ...]) -> tuple[Level, ...]:
    return tuple(Level(scheme, name, rank, ref) for rank, (name, ref) in enumerate(pairs))


_AC = "urn:oasis:names:tc:SAML:2.0:ac:classes:"
_ETOEGANG = "urn:etoegang:core:assurance-class:"

LEVELS: dict[Scheme, tuple[Level, ...]] = {
    # DigiD Basis < Midden < Substantieel < Hoog (Logius, SAML koppelvlak).
    "digid": _ordered(
        "digid",
        (
            ("basis", _AC + "PasswordProtectedTransport"),
            ("midden", _AC + "MobileTwoFactorContract"),
            ("substantieel", _AC + "Smartcard"),
            ("hoog", _AC + "SmartcardPKI"),
        ),
    ),
    # eHerkenning EH2 < EH2+ < EH3 < EH4 (eToegang afsprakenstelsel).
    "eherkenning": _ordered(
        "eherkenning",
        tuple((name, _ETOEGANG + name) for name in ("loa2", "loa2plus", "loa3", "loa4")),
    ),
}
"""Every scheme's levels, lowest first."""


def _levels(scheme: str) -> tuple[Level, ...]:
    try:
        return LEVELS[scheme]  # type: ignore[index]
    except KeyError:
        raise UnknownLevel(f"unknown scheme {scheme!r}") from None


def get_level(scheme: str, name: str) -> Level:
    """The level called ``name`` in ``scheme``; raises :class:`UnknownLevel`."""
    for level in _levels(scheme):
        if level.name == name:
            return level
    raise UnknownLevel(f"{scheme} has no level {name!r}")


def level_from_class_ref(scheme: str, class_ref: str) -> Level:
    """The level whose AuthnContextClassRef is ``class_ref``; raises :class:`UnknownLevel`."""
    for level in _levels(scheme):
        if level.class_ref == class_ref.strip():
            return level
    raise UnknownLevel(f"{scheme} has no level with class ref {class_ref!r}")


def level_at_least(scheme: str, level: str, minimum: str) -> bool:
    """Whether ``level`` is ``minimum`` or higher; raises :class:`UnknownLevel` on unknown names."""
    return get_level(scheme, level).rank >= get_level(scheme, minimum).rank
