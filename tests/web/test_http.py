"""The pages over HTTP (no browser): security headers, languages, HTML errors on pages but
problem+json on the API, the organiser cookie, and the no-JavaScript forms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from inspraak.settings import Settings
from participation import create_app

pytestmark = pytest.mark.xdist_group("web-http")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as c:
        yield c


def test_pages_send_a_strict_csp(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_dutch_first_and_english_by_switch(client: TestClient) -> None:
    dutch = client.get("/")
    assert '<html lang="nl">' in dutch.text
    assert "Geef uw mening over plannen van de overheid" in dutch.text
    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.text
    assert "Have your say on government plans" in english.text
    assert "httponly" in english.headers["set-cookie"].lower()
    remembered = client.get("/")  # the cookie keeps the choice
    assert '<html lang="en">' in remembered.text
    unknown = client.get("/?lang=xx")
    assert '<html lang="en">' in unknown.text  # an unknown value falls back to the cookie


def test_page_errors_are_html_and_api_errors_stay_problems(client: TestClient) -> None:
    page = client.get("/c/bestaat-niet")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Pagina niet gevonden" in page.text
    assert "Traceback" not in page.text
    api = client.get("/api/c/bestaat-niet")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] == "unknown_consultation"
    unknown_code = client.get("/fout/iets-anders")
    assert unknown_code.status_code == 404


def test_static_files_are_fingerprinted_and_cached(client: TestClient) -> None:
    page = client.get("/").text
    start = page.index("/static/css/site.css?v=")
    url = page[start : page.index('"', start)]
    asset = client.get(url)
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    module = client.get("/static/js/consultation.mjs")
    assert module.headers["content-type"].startswith("text/javascript")


def test_organiser_login_sets_an_httponly_cookie(client: TestClient, settings: Settings) -> None:
    assert client.get("/organiser", follow_redirects=False).headers["location"] == (
        "/organiser/login"
    )
    refused = client.post("/organiser/login", data={"api_key": "isk_wrong"}, follow_redirects=False)
    assert refused.headers["location"] == "/organiser/login?failed=true"
    key = _create_key(settings)
    accepted = client.post("/organiser/login", data={"api_key": key}, follow_redirects=False)
    assert accepted.status_code == 303
    cookie = accepted.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/organiser" in cookie
    home = client.get("/organiser")
    assert "Your consultations" in home.text


def _create_key(settings: Settings, organisation: str = "Gemeente Test") -> str:
    import asyncio

    from inspraak.clock import SYSTEM_CLOCK
    from inspraak.store import open_store
    from participation.services import ApiKeyService
    from tokens import SYSTEM_RNG

    async def work() -> str:
        assert settings.redis_url is not None
        async with open_store(settings.redis_url) as store:
            keys = ApiKeyService(store=store, clock=SYSTEM_CLOCK, settings=settings, rng=SYSTEM_RNG)
            return await keys.create(name="Olga", organisation=organisation, role="organiser")

    return asyncio.run(work())


def test_another_organisations_consultation_is_a_plain_403_page(
    client: TestClient, settings: Settings
) -> None:
    owner = {"Authorization": f"Bearer {_create_key(settings)}"}
    made = client.post(
        "/api/admin/consultations",
        json={
            "id": "stadspark",
            "title": "Park",
            "opens_at": "2026-01-01",
            "closes_at": "2026-12-31",
        },
        headers=owner,
    )
    assert made.status_code == 201, made.text
    other = _create_key(settings, organisation="Gemeente Elders")
    client.post("/organiser/login", data={"api_key": other})
    page = client.get("/organiser/c/stadspark")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "You are not allowed to do this here." in page.text  # organiser pages: English
    assert "Park" not in page.text


def test_organiser_creates_seeds_edits_and_exports(client: TestClient, settings: Settings) -> None:
    client.post("/organiser/login", data={"api_key": _create_key(settings)})
    form = {
        "cid": "stadspark",
        "title": "Het nieuwe stadspark",
        "opens_at": "2026-01-01",
        "closes_at": "2026-12-31",
        "moderation": "permissive",
        "allow_statements": "true",
    }
    bad = client.post("/organiser/new", data={**form, "closes_at": "2025-01-01"})
    assert bad.status_code == 422
    assert "closes_at must not be before opens_at" in bad.text
    made = client.post("/organiser/new", data=form, follow_redirects=False)
    assert made.headers["location"] == "/organiser/c/stadspark"
    detail = client.get("/api/c/stadspark").json()
    assert detail["moderation"] == "permissive" and detail["allow_statements"] is True

    seeded = client.post(
        "/organiser/c/stadspark/seed",
        data={"statements": "Meer bomen in het park.\n\nEen speeltuin bij de vijver."},
        follow_redirects=False,
    )
    assert seeded.headers["location"] == "/organiser/c/stadspark?done=seeded"
    assert client.get("/api/c/stadspark").json()["statements"] == 2

    edited = client.post(
        "/organiser/c/stadspark",
        data={**form, "title": "Het stadspark", "moderation": "strict"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    detail = client.get("/api/c/stadspark").json()
    assert detail["title"] == "Het stadspark"
    assert detail["moderation"] == "strict"
    assert detail["allow_statements"] is True

    export = client.get("/organiser/c/stadspark/export.zip")
    assert export.headers["content-type"] == "application/zip"
    assert export.content[:2] == b"PK"
    client.post("/organiser/logout")
    assert (
        client.get("/organiser/c/stadspark/export.zip", follow_redirects=False).status_code == 303
    )


def _open_consultation(client: TestClient, settings: Settings, cid: str = "stadspark") -> None:
    from inspraak.clock import SYSTEM_CLOCK

    today = SYSTEM_CLOCK.now().date()
    made = client.post(
        "/api/admin/consultations",
        json={
            "id": cid,
            "title": "Het nieuwe stadspark",
            "opens_at": today.isoformat(),
            "closes_at": today.replace(year=today.year + 1).isoformat(),
        },
        headers={"Authorization": f"Bearer {_create_key(settings)}"},
    )
    assert made.status_code == 201, made.text


def test_every_citizen_page_links_the_privacy_and_accessibility_statements(
    client: TestClient, settings: Settings
) -> None:
    _open_consultation(client, settings)
    for path in ("/", "/c/stadspark", "/c/stadspark/report", "/fout/error", "/privacy",
                 "/toegankelijkheid", "/c/bestaat-niet"):  # fmt: skip
        for lang in ("nl", "en"):
            footer = client.get(path, params={"lang": lang}).text.split(
                '<footer class="page-footer">'
            )
            assert len(footer) == 2, path
            assert (
                '<a href="/privacy">' in footer[1] and '<a href="/toegankelijkheid">' in footer[1]
            )
    # The join panel links the statement next to the login, before anything is collected.
    join = client.get("/c/stadspark?lang=nl").text
    panel = join[
        join.index('<section id="join"') : join.index("</section>", join.index('id="join"'))
    ]
    assert '<a href="/privacy" id="privacy-before-login">' in panel
    assert panel.index("privacy-before-login") < panel.index('id="join-status"')
    assert "Voordat u inlogt: zo gaan we om met uw gegevens" in panel


def test_privacy_statement_marks_what_the_organisation_has_not_filled_in(
    client: TestClient, settings: Settings
) -> None:
    from inspraak import cookies

    dutch = client.get("/privacy")
    assert dutch.status_code == 200
    assert "<title>Privacyverklaring | Inspraak</title>" in dutch.text
    assert 'id="statement-incomplete"' in dutch.text
    for gap in ("naam van de organisatie", "contactgegevens", "naam en contactgegevens",
                "bewaartermijn"):  # fmt: skip
        assert f'<mark class="to-fill">[{gap}]</mark>' in dutch.text
    # What the code enforces, as configured: group minimum, time unit, cookies and their lives.
    assert f"minstens {settings.participation.min_group_size} mensen" in dutch.text
    assert "We bewaren alleen de dag, geen precieze tijd." in dutch.text
    for name in (cookies.SAML_BINDING_PREFIX, cookies.PARTICIPANT_SESSION_PREFIX):
        assert f"<code>{name}…</code>" in dutch.text
    for name in (cookies.ISSUER_SESSION, cookies.LANGUAGE):
        assert f"<code>{name}</code>" in dutch.text
    idle = settings.issuer.session_idle_seconds // 60
    assert f"Tot u {idle} minuten niets doet" in dutch.text
    english = client.get("/privacy?lang=en")
    assert "<title>Privacy statement | Inspraak</title>" in english.text
    assert '<mark class="to-fill">[name of the organisation]</mark>' in english.text
    assert f"Until you have done nothing for {idle} minutes" in english.text


def test_privacy_statement_names_the_organisation_and_follows_the_settings(
    settings: Settings,
) -> None:
    from inspraak.sections.organisation import OrganisationSettings

    configured = settings.model_copy(
        update={
            "organisation": OrganisationSettings(
                name="Gemeente <Voorbeeld>",
                address="Postbus 1, 1000 AA Voorbeeld",
                contact="privacy@voorbeeld.example",
                privacy_officer="Functionaris gegevensbescherming, fg@voorbeeld.example",
                retention="tot drie maanden na het einde van de raadpleging",
                accessibility_statement_url="https://www.toegankelijkheidsverklaring.nl/register/42",
            ),
            "participation": settings.participation.model_copy(update={"min_group_size": 8}),
            "timestamp_resolution_seconds": 3600,
        }
    )
    with TestClient(create_app(configured), base_url="http://127.0.0.1:8000") as client:
        dutch = client.get("/privacy").text
        english = client.get("/privacy?lang=en").text
        access = client.get("/toegankelijkheid?lang=nl").text
    assert "to-fill" not in dutch and 'id="statement-incomplete"' not in dutch
    assert "Gemeente &lt;Voorbeeld&gt;, Postbus 1, 1000 AA Voorbeeld." in dutch  # escaped
    assert "Functionaris gegevensbescherming, fg@voorbeeld.example" in dutch
    assert dutch.count("tot drie maanden na het einde van de raadpleging") == 2
    assert "minstens 8 mensen" in dutch and "We bewaren alleen het uur" in dutch
    # No English retention text given: the Dutch one stands in English too.
    assert "to-fill" not in english
    assert "at least 8 people in it" in english and "We keep only the hour" in english
    assert english.count("tot drie maanden na het einde van de raadpleging") == 2
    assert "to-fill" not in access
    assert '<a href="https://www.toegankelijkheidsverklaring.nl/register/42">' in access
    assert "Laat het ons weten via privacy@voorbeeld.example." in access


def test_accessibility_statement_marks_the_missing_register_entry(client: TestClient) -> None:
    dutch = client.get("/toegankelijkheid")
    assert dutch.status_code == 200
    assert "WCAG 2.1, niveau AA" in dutch.text
    assert '<mark class="to-fill">[adres van de verklaring in het register]</mark>' in dutch.text
    english = client.get("/toegankelijkheid?lang=en")
    assert "<title>Accessibility | Inspraak</title>" in english.text
    assert '<mark class="to-fill">[address of the statement in the register]</mark>' in english.text
