"""``inspraak admin ...``: keys and consultations made on the command line work in the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from participation import admin_app
from tests.participation.conftest import World


@pytest.fixture
def cli_env(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INSPRAAK_DEV_MODE", "true")
    monkeypatch.setenv("INSPRAAK_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("INSPRAAK_REDIS_URL", str(world.settings.redis_url))


@pytest.mark.usefixtures("cli_env")
def test_create_key_consultation_and_seed(world: World, tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        admin_app,
        [
            "create-key",
            "--name",
            "Olaf",
            "--organisation",
            "Gemeente Utrecht",
            "--role",
            "organiser",
        ],
    )
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("isk_")

    created = runner.invoke(
        admin_app,
        [
            "create-consultation",
            "parkeren",
            "--title",
            "Parkeren in de binnenstad",
            "--organisation",
            "Gemeente Utrecht",
            "--opens",
            "2026-03-01",
            "--closes",
            "2026-04-30",
            "--language",
            "nl",
            "--language",
            "en",
            "--moderation",
            "permissive",
        ],
    )
    assert created.exit_code == 0, created.output
    statements = tmp_path / "stellingen.txt"
    statements.write_text("Parkeren moet duurder worden.\n\nMeer fietsenstallingen graag.\n")
    seeded = runner.invoke(admin_app, ["seed", "parkeren", str(statements)])
    assert seeded.exit_code == 0, seeded.output

    detail = world.client.get("/api/admin/c/parkeren", headers={"Authorization": f"Bearer {key}"})
    assert detail.status_code == 200
    body = detail.json()
    assert (body["moderation"], body["languages"], body["statements"]) == (
        "permissive",
        ["nl", "en"],
        2,
    )


@pytest.mark.usefixtures("cli_env")
def test_cli_refuses_bad_input_clearly(world: World) -> None:
    runner = CliRunner()
    bad_role = runner.invoke(
        admin_app, ["create-key", "--name", "X", "--organisation", "Y", "--role", "boss"]
    )
    assert bad_role.exit_code != 0
    bad_dates = runner.invoke(
        admin_app,
        [
            "create-consultation",
            "x",
            "--title",
            "X",
            "--organisation",
            "Y",
            "--opens",
            "2026-05-01",
            "--closes",
            "2026-04-01",
        ],
    )
    assert bad_dates.exit_code == 1
    world.create("stadspark")
    taken = runner.invoke(
        admin_app,
        [
            "create-consultation",
            "stadspark",
            "--title",
            "X",
            "--organisation",
            "Y",
            "--opens",
            "2026-03-01",
            "--closes",
            "2026-04-01",
        ],
    )
    assert taken.exit_code == 1
    assert "already exists" in taken.output
