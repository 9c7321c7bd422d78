"""Consultations: the organiser API creates and changes them, the public API lists them."""

from __future__ import annotations

import base64

from tests.participation.conftest import World
from verifier import challenge_for


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_create_then_details_and_listing(world: World) -> None:
    world.create("stadspark")
    world.create("oud-plan", opens_at="2025-01-01", closes_at="2025-02-01")
    world.create("later", opens_at="2026-06-01", closes_at="2026-07-01")

    listing = world.client.get("/api/consultations").json()
    statuses = {c["id"]: c["status"] for c in listing["consultations"]}
    assert statuses == {"stadspark": "open", "oud-plan": "closed", "later": "upcoming"}
    assert listing["other_options"][0]["url"].startswith("https://")

    park = next(c for c in listing["consultations"] if c["id"] == "stadspark")
    assert (
        _b64decode(park["token_challenge"]) == challenge_for(world.settings, "stadspark").to_bytes()
    )
    assert park["issuer_directory_url"] == (
        "http://127.0.0.1:8000/issuer/c/stadspark/.well-known/private-token-issuer-directory"
    )

    detail = world.client.get("/api/c/stadspark").json()
    assert detail["description_html"] == "<p>Wat vindt <strong>u</strong> van het park?</p>\n"
    assert detail["moderation"] == "strict"
    assert detail["statements"] == 0


def test_markdown_is_rendered_safely(world: World) -> None:
    world.create(
        "veilig",
        description="<script>alert(1)</script>\n\n[klik](javascript:alert(1)) "
        '<img src=x onerror="alert(1)">',
    )
    html = world.client.get("/api/c/veilig").json()["description_html"]
    assert "<script" not in html
    assert 'href="javascript:' not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html  # shown as text, not run


def test_unknown_and_malformed_ids_are_404_in_dutch_and_english(world: World) -> None:
    for path in ("/api/c/bestaat-niet", "/api/c/NOT_A_SLUG", "/api/c/%7Bc%3Ax%7D"):
        response = world.client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["detail"] == "Deze raadpleging bestaat niet."
        assert body["detail_en"] == "This consultation does not exist."


def test_duplicate_id_conflicts_and_nothing_changes(world: World) -> None:
    world.create("stadspark")
    again = world.client.post(
        "/api/admin/consultations",
        json={
            "id": "stadspark",
            "title": "Anders",
            "opens_at": "2026-03-01",
            "closes_at": "2026-03-31",
        },
        headers=world.admin(),
    )
    assert again.status_code == 409
    assert world.client.get("/api/c/stadspark").json()["title"] == "Het nieuwe stadspark"


def test_input_is_validated_with_a_clear_message(world: World) -> None:
    response = world.client.post(
        "/api/admin/consultations",
        json={"id": "Geen Slug!", "title": "", "opens_at": "2026-03-10", "closes_at": "2026-03-01"},
        headers=world.admin(),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["detail"].startswith("Wat u stuurde klopt niet")
    assert {tuple(e["loc"][-1:]) for e in body["errors"]} >= {("id",), ("title",)}
    assert "Geen Slug!" not in response.text  # the submitted value is not echoed


def test_update_by_owner_only(world: World) -> None:
    world.create("stadspark")
    changed = world.client.patch(
        "/api/admin/c/stadspark",
        json={"title": "Stadspark Noord", "closes_at": "2026-04-30", "moderation": "permissive"},
        headers=world.admin(),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["closes_at"] == "2026-04-30"
    public = world.client.get("/api/c/stadspark").json()
    assert (public["title"], public["moderation"]) == ("Stadspark Noord", "permissive")

    bad_dates = world.client.patch(
        "/api/admin/c/stadspark", json={"closes_at": "2026-02-01"}, headers=world.admin()
    )
    assert bad_dates.status_code == 422

    other = world.admin(organisation="Gemeente Zwolle", name="Zwolle")
    assert (
        world.client.patch(
            "/api/admin/c/stadspark", json={"title": "Overgenomen"}, headers=other
        ).status_code
        == 403
    )
    assert world.client.get("/api/c/stadspark").json()["title"] == "Stadspark Noord"


def test_admin_needs_a_key_and_the_right_role(world: World) -> None:
    body = {"id": "x", "title": "X", "opens_at": "2026-03-01", "closes_at": "2026-03-02"}
    missing = world.client.post("/api/admin/consultations", json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = world.client.post(
        "/api/admin/consultations", json=body, headers={"Authorization": "Bearer isk_nope"}
    )
    assert wrong.status_code == 401
    moderator = world.admin(role="moderator", name="Mo")
    assert (
        world.client.post("/api/admin/consultations", json=body, headers=moderator).status_code
        == 403
    )


def test_api_keys_are_stored_hashed(world: World) -> None:
    key = world.api_key()
    assert key.encode() not in world.all_store_bytes()


def test_own_listing_shows_only_the_organisation(world: World) -> None:
    world.create("stadspark")
    mine = world.client.get("/api/admin/consultations", headers=world.admin()).json()
    assert [c["id"] for c in mine] == ["stadspark"]
    other = world.admin(organisation="Gemeente Zwolle", name="Zwolle")
    assert world.client.get("/api/admin/consultations", headers=other).json() == []


def test_openapi_is_published(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    assert "/api/c/{cid}/join" in spec["paths"]
    assert "/api/admin/c/{cid}/export/{name}.csv" in spec["paths"]
    assert spec["components"]["securitySchemes"]["OrganisationApiKey"]["scheme"] == "bearer"
    create = spec["paths"]["/api/admin/consultations"]["post"]
    assert create["security"] == [{"OrganisationApiKey": []}]


def test_delete_removes_everything_but_the_spent_set(world: World) -> None:
    world.create("stadspark")
    world.create("stadspark-2")
    [sid] = world.seed("stadspark", ["Er moeten meer bomen komen."])
    world.seed("stadspark-2", ["Er moeten meer bomen komen."])
    session = world.join("stadspark")
    world.vote("stadspark", session, sid, "agree")
    moderator = world.admin(role="moderator", name="Mo")
    assert world.client.delete("/api/admin/c/stadspark", headers=moderator).status_code == 403
    deleted = world.client.delete("/api/admin/c/stadspark", headers=world.admin())
    assert deleted.status_code == 204
    left = sorted(k.decode() for k in world.store.scan_iter(match="{c:stadspark}:*"))
    assert left == ["{c:stadspark}:spent"]
    assert world.store.exists("{c:stadspark-2}:consultation")
    assert world.client.get("/api/c/stadspark").status_code == 404
    listed = [c["id"] for c in world.client.get("/api/consultations").json()["consultations"]]
    assert listed == ["stadspark-2"]
    assert world.vote("stadspark", session, sid, "agree").status_code == 404
