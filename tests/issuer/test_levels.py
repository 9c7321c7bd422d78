"""Level ordering and class refs (issuer.levels)."""

from __future__ import annotations

import pytest

from issuer.levels import LEVELS, UnknownLevel, get_level, level_at_least, level_from_class_ref


def test_digid_levels_are_ordered() -> None:
    names = [level.name for level in LEVELS["digid"]]
    assert names == ["basis", "midden", "substantieel", "hoog"]
    assert level_at_least("digid", "substantieel", "midden")
    assert level_at_least("digid", "midden", "midden")
    assert not level_at_least("digid", "basis", "midden")
    assert not level_at_least("digid", "substantieel", "hoog")


def test_eherkenning_levels_are_ordered() -> None:
    assert level_at_least("eherkenning", "loa2plus", "loa2")
    assert not level_at_least("eherkenning", "loa2plus", "loa3")
    assert level_at_least("eherkenning", "loa4", "loa3")


@pytest.mark.parametrize(
    ("scheme", "ref", "name"),
    [
        ("digid", "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport", "basis"),
        ("digid", "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract", "midden"),
        ("digid", "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard", "substantieel"),
        ("digid", "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", "hoog"),
        ("eherkenning", "urn:etoegang:core:assurance-class:loa2plus", "loa2plus"),
    ],
)
def test_class_ref_round_trip(scheme: str, ref: str, name: str) -> None:
    assert level_from_class_ref(scheme, ref).name == name
    assert get_level(scheme, name).class_ref == ref


def test_unknown_levels_raise() -> None:
    with pytest.raises(UnknownLevel):
        level_from_class_ref("digid", "urn:etoegang:core:assurance-class:loa4")
    with pytest.raises(UnknownLevel):
        level_at_least("digid", "loa3", "basis")
    with pytest.raises(UnknownLevel):
        get_level("itsme", "basis")
