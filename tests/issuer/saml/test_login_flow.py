"""End-to-end logins through the development IdP: POST and Artifact binding, both schemes.

Everything is real: the SP and the dev IdP run under uvicorn on one origin (artifact
resolution is a real SOAP call), the store is the embedded Valkey, every message is
signed with xmlsec.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis
from structlog.testing import capture_logs

from inspraak.clock import FixedClock
from inspraak.logging import configure_logging
from inspraak.settings import Settings
from issuer.identifiers import pepper_bytes, subject_key
from issuer.session import COOKIE_NAME, SessionCodec
from tests.issuer.saml.harness import (
    CONSULTATION,
    LiveSite,
    build_site,
    form_fields,
    free_port,
    live_settings,
    login_through_idp,
    now_clock,
)

BSN = "999993653"
KVK = "90001234"


@pytest.fixture
def clock() -> FixedClock:
    return now_clock()


@pytest.fixture
def live(settings: Settings, clock: FixedClock) -> Iterator[tuple[Settings, httpx.Client]]:
    port = free_port()
    site_settings = live_settings(settings, port)
    site = LiveSite(build_site(site_settings, clock), port)
    with site.running(), httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
        yield site_settings, client


@pytest.mark.parametrize("binding", ["post", "artifact"])
def test_digid_login_sets_session_and_returns_to_next(
    live: tuple[Settings, httpx.Client], clock: FixedClock, binding: str
) -> None:
    settings, client = live
    done = login_through_idp(
        client, scheme="digid", identifier=BSN, level="substantieel", binding=binding
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{settings.public_url}/c/raad-2026"
    session = SessionCodec.from_settings(settings, clock=clock).decode(client.cookies[COOKIE_NAME])
    assert session is not None
    assert session.scheme == "digid"
    assert session.level == "substantieel"
    assert session.subject_key == subject_key(pepper_bytes(settings), "digid", BSN)


@pytest.mark.parametrize("binding", ["post", "artifact"])
def test_eherkenning_login_decrypts_the_kvk_number(
    live: tuple[Settings, httpx.Client], clock: FixedClock, binding: str
) -> None:
    settings, client = live
    done = login_through_idp(
        client, scheme="eherkenning", identifier=KVK, level="loa3", binding=binding
    )
    assert done.status_code == 303, done.text
    session = SessionCodec.from_settings(settings, clock=clock).decode(client.cookies[COOKIE_NAME])
    assert session is not None
    assert (session.scheme, session.level) == ("eherkenning", "loa3")
    assert session.subject_key == subject_key(pepper_bytes(settings), "eherkenning", KVK)


def _store_dump(store: redis.Redis) -> bytes:
    """Every key and every value in the store, concatenated."""
    parts: list[bytes] = []
    for key in store.scan_iter():
        parts.append(key)
        kind = store.type(key)
        if kind == b"string":
            parts.append(store.get(key) or b"")
        elif kind == b"hash":
            for field, value in store.hgetall(key).items():
                parts += [field, value]
        elif kind == b"set":
            parts += list(store.smembers(key))
        elif kind == b"list":
            parts += store.lrange(key, 0, -1)
        elif kind == b"zset":
            parts += [m for m, _ in store.zrange(key, 0, -1, withscores=True)]
    return b"\n".join(parts)


@pytest.mark.parametrize(
    ("scheme", "identifier", "level", "binding"),
    [
        ("digid", BSN, "hoog", "artifact"),
        ("digid", BSN, "midden", "post"),
        ("eherkenning", KVK, "loa4", "artifact"),
    ],
)
def test_identifier_never_reaches_store_or_log(
    live: tuple[Settings, httpx.Client],
    sync_store: redis.Redis,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    scheme: str,
    identifier: str,
    level: str,
    binding: str,
) -> None:
    _, client = live
    with capture_logs() as events:
        done = login_through_idp(
            client, scheme=scheme, identifier=identifier, level=level, binding=binding
        )
    assert done.status_code == 303
    # The capture did see the login, with its level (under a key structlog leaves alone).
    assert any(e["event"] == "saml_login" and e["assurance"] == level for e in events)
    assert identifier not in repr(events)
    # And once more with the real renderers writing to stderr, configured here: another test
    # in this worker may have left logging pointed at its own stream or at a higher level.
    configure_logging(log_format="json", level="INFO")
    again = login_through_idp(
        client, scheme=scheme, identifier=identifier, level=level, binding=binding
    )
    assert again.status_code == 303
    out, err = capfd.readouterr()
    assert "saml_login" in out + err + caplog.text  # logging did run
    assert identifier not in out + err + caplog.text
    dump = _store_dump(sync_store)
    assert dump  # the replay cache holds the used assertion ids
    assert identifier.encode() not in dump


def test_cancel_at_the_idp_shows_the_cancel_page(live: tuple[Settings, httpx.Client]) -> None:
    _, client = live
    done = login_through_idp(
        client, scheme="digid", identifier="", level="", binding="artifact", action="cancel"
    )
    assert done.status_code == 200
    assert "U heeft het inloggen gestopt" in done.text
    assert COOKIE_NAME not in client.cookies


def test_an_artifact_resolves_once(live: tuple[Settings, httpx.Client]) -> None:
    _, client = live
    start = client.get(
        "/issuer/saml/digid/login", params={"consultation": CONSULTATION, "next": "/"}
    )
    _, fields = form_fields(client.get(start.headers["location"]).text)
    fields.update(identifier=BSN, level="midden", binding="artifact", action="login")
    artifact_url = client.post("/idp/login", data=fields).headers["location"]
    assert client.get(artifact_url).status_code == 303
    client.cookies.clear()
    again = client.get(artifact_url)
    assert again.status_code == 400
    assert COOKIE_NAME not in client.cookies


def test_artifact_link_cannot_log_in_another_browser(live: tuple[Settings, httpx.Client]) -> None:
    """Login CSRF: the attacker's artifact URL opened in the victim's browser is refused."""
    _, attacker = live
    start = attacker.get(
        "/issuer/saml/digid/login", params={"consultation": CONSULTATION, "next": "/"}
    )
    _, fields = form_fields(attacker.get(start.headers["location"]).text)
    fields.update(identifier=BSN, level="midden", binding="artifact", action="login")
    link = attacker.post("/idp/login", data=fields).headers["location"]
    with httpx.Client(base_url=str(attacker.base_url), timeout=20) as victim:
        answer = victim.get(link)
        assert answer.status_code == 400
        assert COOKIE_NAME not in victim.cookies


def test_browser_binding_cookie_is_gone_after_login(live: tuple[Settings, httpx.Client]) -> None:
    _, client = live
    done = login_through_idp(client, scheme="digid", identifier=BSN, level="midden", binding="post")
    assert done.status_code == 303
    assert [name for name in client.cookies if name.startswith("inspraak_saml_")] == []
