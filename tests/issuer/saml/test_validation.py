"""Strict validation of Responses at the ACS, each check proven by a crafted message.

Every message is real XML signed with xmlsec (by the development IdP's key unless the
test says otherwise) and answers a real AuthnRequest the SP remembered in the store.
Refusals are 400 with a clear page (403 for a too-low level), never a 500, and set no
session cookie; the log records the precise reason code.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from structlog.testing import capture_logs

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from issuer.levels import get_level
from issuer.saml.keys import make_pair
from issuer.saml.store import assertion_key, request_key
from issuer.session import COOKIE_NAME
from tests.issuer.saml.crafting import Crafter
from tests.issuer.saml.harness import build_site, now_clock

NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML, "ds": C.NS_DS}


@pytest.fixture
def clock() -> FixedClock:
    return now_clock()


@pytest.fixture
def crafter(settings: Settings, clock: FixedClock) -> Iterator[Crafter]:
    with TestClient(build_site(settings, clock), base_url="http://127.0.0.1:8000") as client:
        yield Crafter(client, settings, clock)


def refused(
    crafter: Crafter, message: Any, reason: str | None, *, status: int = 400, scheme: str = "digid"
) -> str:
    """POST ``message``; assert the refusal, no cookie, and (if given) the logged reason."""
    with capture_logs() as logs:
        answer = crafter.post(message, scheme=scheme)
    assert answer.status_code == status, answer.text
    assert COOKIE_NAME not in answer.headers.get("set-cookie", "")
    assert '<html lang="nl">' in answer.text
    reasons = [e.get("reason") for e in logs if e.get("event") == "saml_login_refused"]
    assert len(reasons) == 1
    if reason is not None:
        assert reasons[0] == reason or reasons[0].startswith(reason), reasons
    return reasons[0]


def test_valid_crafted_response_is_accepted(crafter: Crafter) -> None:
    """The baseline every other test changes in one place: without the change it passes."""
    request_id = crafter.start()
    answer = crafter.post(crafter.build(crafter.spec(request_id)))
    assert answer.status_code == 303, answer.text
    assert COOKIE_NAME in answer.headers["set-cookie"]
    assert answer.headers["location"] == "http://127.0.0.1:8000/c/raad-2026"


def test_outstanding_request_is_stored_with_a_ttl(
    crafter: Crafter, sync_store: redis.Redis
) -> None:
    request_id = crafter.start()
    ttl = sync_store.ttl(request_key(request_id))
    assert 0 < ttl <= crafter.settings.issuer.saml.request_ttl_seconds


# -- InResponseTo, replay -------------------------------------------------------------------


def test_unsolicited_response_is_refused(crafter: Crafter) -> None:
    refused(crafter, crafter.build(crafter.spec(None)), "unsolicited")


def test_response_to_a_request_we_never_sent_is_refused(crafter: Crafter) -> None:
    crafter.start()
    refused(crafter, crafter.build(crafter.spec("_never_sent_1234")), "unsolicited_or_expired")


def test_a_request_is_answered_once(crafter: Crafter) -> None:
    request_id = crafter.start()
    assert crafter.post(crafter.build(crafter.spec(request_id))).status_code == 303
    refused(crafter, crafter.build(crafter.spec(request_id)), "unsolicited_or_expired")


def test_replayed_assertion_is_refused(crafter: Crafter, sync_store: redis.Redis) -> None:
    request_id = crafter.start()
    message = etree.tostring(crafter.build(crafter.spec(request_id, assertion_id="_a123")))
    assert crafter.post(message).status_code == 303
    # Kept until NotOnOrAfter (300 s) plus the allowed skew, no longer.
    ttl_ms = sync_store.pttl(assertion_key("_a123"))
    assert 300_000 <= ttl_ms <= (300 + crafter.settings.issuer.saml.clock_skew_seconds) * 1000
    crafter.start()
    refused(crafter, message, "assertion_replayed")


# -- signatures -----------------------------------------------------------------------------


def test_unsigned_assertion_is_refused(crafter: Crafter) -> None:
    refused(crafter, crafter.build(crafter.spec(crafter.start(), signed=False)), "saml_")


def test_assertion_signed_by_another_key_is_refused(crafter: Crafter) -> None:
    evil = make_pair("evil idp")
    refused(crafter, crafter.build(crafter.spec(crafter.start()), keys=evil), "saml_")


def test_deprecated_signature_algorithm_is_refused(crafter: Crafter) -> None:
    spec = crafter.spec(crafter.start(), signature_algorithm=C.RSA_SHA1, digest_algorithm=C.SHA1)
    refused(crafter, crafter.build(spec), "saml_")


def test_changed_name_id_breaks_the_signature(crafter: Crafter) -> None:
    response = crafter.build(crafter.spec(crafter.start()))
    name_id = response.find("saml:Assertion/saml:Subject/saml:NameID", NS)
    name_id.text = "s00000000:999990019"
    refused(crafter, response, "saml_")


@pytest.mark.parametrize("where", ["before", "extensions", "inside_evil"])
def test_signature_wrapping_is_refused(crafter: Crafter, where: str) -> None:
    """XSW: the signed assertion stays intact while an unsigned one carries another BSN."""
    response = crafter.build(crafter.spec(crafter.start()))
    signed = response.find("saml:Assertion", NS)
    evil = copy.deepcopy(signed)
    evil.remove(evil.find("ds:Signature", NS))
    evil.set("ID", "_evil")
    evil.find("saml:Subject/saml:NameID", NS).text = "s00000000:999990019"
    if where == "before":
        signed.addprevious(evil)
    elif where == "extensions":
        extensions = etree.Element(f"{{{C.NS_SAMLP}}}Extensions")
        response.find("saml:Issuer", NS).addnext(extensions)
        response.remove(signed)
        extensions.append(signed)
        response.append(evil)
    else:
        response.remove(signed)
        evil.find("saml:Subject", NS).append(signed)
        response.append(evil)
    refused(crafter, response, None)


# -- audience, destination, recipient, issuer -----------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        {"audience": "https://evil.example/sp"},
        {"destination": "https://evil.example/acs"},
        {"recipient": "https://evil.example/acs"},
        {"issuer": "https://evil.example/idp"},
    ],
    ids=["audience", "destination", "recipient", "issuer"],
)
def test_wrong_party_is_refused(crafter: Crafter, override: dict[str, str]) -> None:
    refused(crafter, crafter.build(crafter.spec(crafter.start(), **override)), "saml_")


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        (
            {"recipient": "https://evil.example/?u=http://127.0.0.1:8000/issuer/saml/digid/acs"},
            "recipient",
        ),
        ({"audience": ""}, "audience"),
        ({"confirmation_in_response_to": ""}, "confirmation_in_response_to"),
    ],
    ids=["recipient-contains-ours", "no-audience", "confirmation-without-request"],
)
def test_what_python3_saml_lets_pass_is_refused(
    crafter: Crafter, override: dict[str, str], reason: str
) -> None:
    refused(crafter, crafter.build(crafter.spec(crafter.start(), **override)), reason)


def test_unsigned_in_response_to_cannot_redirect_an_assertion(crafter: Crafter) -> None:
    """An assertion for request A, put in a Response claiming request B, is refused."""
    first, second = crafter.start(), crafter.start()
    response = crafter.build(crafter.spec(first))
    response.set("InResponseTo", second)
    refused(crafter, response, "saml_")


def test_response_for_another_endpoint_is_refused(crafter: Crafter) -> None:
    """A Response addressed to the Artifact endpoint cannot be POSTed to the ACS."""
    destination = f"{crafter.settings.issuer_url}/saml/digid/artifact"
    spec = crafter.spec(crafter.start(), destination=destination)
    refused(crafter, crafter.build(spec), "saml_")


def test_response_for_the_other_scheme_is_refused(crafter: Crafter) -> None:
    request_id = crafter.start("digid")
    spec = crafter.spec(request_id, scheme="eherkenning")
    refused(crafter, crafter.build(spec), "scheme_mismatch", scheme="eherkenning")


# -- validity window (our injected clock) ---------------------------------------------------


def test_expired_assertion_is_refused_by_our_clock(crafter: Crafter) -> None:
    spec = crafter.spec(crafter.start(), valid_seconds=120)
    message = crafter.build(spec)
    crafter.clock.advance(120 + crafter.settings.issuer.saml.clock_skew_seconds)
    refused(crafter, message, "expired")


def test_assertion_valid_until_the_skew_has_passed(crafter: Crafter) -> None:
    spec = crafter.spec(crafter.start(), valid_seconds=120)
    message = crafter.build(spec)
    crafter.clock.advance(120 + crafter.settings.issuer.saml.clock_skew_seconds - 1)
    assert crafter.post(message).status_code == 303


def test_not_yet_valid_assertion_is_refused_by_our_clock(crafter: Crafter) -> None:
    message = crafter.build(crafter.spec(crafter.start()))
    crafter.clock.advance(-600)  # our clock is ten minutes behind the IdP's
    refused(crafter, message, "not_yet_valid")


def test_not_before_in_the_future_is_refused(crafter: Crafter) -> None:
    spec = crafter.spec(crafter.start())
    message = crafter.build(
        crafter.spec(
            spec.in_response_to, not_before=spec.now + timedelta(minutes=10), valid_seconds=1200
        )
    )
    refused(crafter, message, None)


# -- DigiD identifier and level -------------------------------------------------------------


def test_other_sector_code_is_refused(crafter: Crafter) -> None:
    refused(
        crafter, crafter.build(crafter.spec(crafter.start(), sector="s00000001")), "wrong_sector"
    )


def test_bsn_failing_the_11_proef_is_refused(crafter: Crafter) -> None:
    spec = crafter.spec(crafter.start(), identifier="999993654")
    refused(crafter, crafter.build(spec), "bsn_11_proef")


def test_level_below_the_policy_minimum_is_refused(crafter: Crafter) -> None:
    spec = crafter.spec(crafter.start(), level_ref=get_level("digid", "basis").class_ref)
    page = refused(crafter, crafter.build(spec), "level_too_low", status=403)
    assert page == "level_too_low"


def test_unknown_authn_context_is_refused(crafter: Crafter) -> None:
    spec = crafter.spec(crafter.start(), level_ref="urn:example:level:super")
    refused(crafter, crafter.build(spec), "unknown_level")


# -- cancel ---------------------------------------------------------------------------------


def test_cancel_shows_a_friendly_page_and_ends_the_request(
    crafter: Crafter, sync_store: redis.Redis
) -> None:
    request_id = crafter.start()
    with capture_logs():
        answer = crafter.post(crafter.build(crafter.spec(request_id, cancelled=True)))
    assert answer.status_code == 200
    assert "U heeft het inloggen gestopt" in answer.text
    assert "You cancelled the login" in answer.text
    assert COOKIE_NAME not in answer.headers.get("set-cookie", "")
    assert sync_store.exists(request_key(request_id)) == 0


# -- hostile XML ----------------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0"
 IssueInstant="2026-01-01T00:00:00Z"><samlp:Status><samlp:StatusCode
 Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>&xxe;</samlp:Response>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol4;</samlp:Response>"""


@pytest.mark.parametrize(
    "message", [XXE, LAUGHS, b"<not xml", b"\x00\xff"], ids=["xxe", "laughs", "broken", "binary"]
)
def test_hostile_xml_gets_a_clear_400(crafter: Crafter, message: bytes) -> None:
    crafter.start()
    with capture_logs():
        answer = crafter.post(message)
    assert answer.status_code == 400
    assert "Dit bericht klopt niet" in answer.text
    assert "root:" not in answer.text


def test_not_base64_gets_a_clear_400(crafter: Crafter) -> None:
    with capture_logs():
        answer = crafter.client.post("/issuer/saml/digid/acs", data={"SAMLResponse": "%%%"})
    assert answer.status_code == 400
    assert "Dit bericht klopt niet" in answer.text


# -- the store failing ----------------------------------------------------------------------


def test_store_failure_is_503_and_nothing_is_accepted(crafter: Crafter) -> None:
    """A real connection failure (nothing listens on the port), not a mocked store."""
    request_id = crafter.start()
    message = crafter.build(crafter.spec(request_id))
    broken = crafter.settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"})
    with (
        capture_logs(),
        TestClient(build_site(broken, crafter.clock), base_url="http://127.0.0.1:8000") as other,
    ):
        start = other.get(
            "/issuer/saml/digid/login",
            params={"consultation": "raad-2026"},
            follow_redirects=False,
        )
        assert start.status_code == 503
        assert "Inloggen lukt nu niet" in start.text
        other_crafter = Crafter(other, broken, crafter.clock)
        answer = other_crafter.post(message)
    assert answer.status_code == 503
    assert COOKIE_NAME not in answer.headers.get("set-cookie", "")
    # The Response was not used up: the working issuer still accepts it.
    assert crafter.post(message).status_code == 303


# -- no input gives a 500 -------------------------------------------------------------------


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_responses_never_give_a_500(crafter: Crafter, data: st.DataObject) -> None:
    """Byte changes anywhere in a valid signed Response: refused cleanly (or, if the change
    is outside what any check reads, still a normal answer), never an internal error."""
    xml = bytearray(etree.tostring(crafter.build(crafter.spec(crafter.start()))))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(xml) - 1))
        xml[position] = data.draw(st.integers(0, 255))
    with capture_logs():
        answer = crafter.post(bytes(xml))
    assert answer.status_code in {303, 400, 403}, answer.text


# -- login CSRF -----------------------------------------------------------------------------


def test_response_is_only_accepted_from_the_browser_that_started(crafter: Crafter) -> None:
    """The attacker's own valid Response, pushed into someone else's browser, is refused."""
    message = crafter.build(crafter.spec(crafter.start()))
    victim = TestClient(crafter.client.app, base_url="http://127.0.0.1:8000")
    with victim:
        refused(Crafter(victim, crafter.settings, crafter.clock), message, "other_browser")
