"""Configuration, log files and exports: planted problems are found with file and line."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
from datetime import date
from pathlib import Path

import pytest
import structlog

from inspraak.audit import AuditOptions, Severity, check_config, read_env_file, run_audit
from inspraak.audit.config_checks import settings_values
from inspraak.logging import configure_logging
from inspraak.sections.organisation import OrganisationSettings
from inspraak.settings import Settings
from tests.audit.world import ORGANISATION_ENV

TODAY = date(2026, 1, 15)
GOOD_PEPPER = "q8Vn3K-x1bZr7TfYp0WcL2sDg9HmJuAe4oNiRk6Ev5M"

ORGANISATION = "".join(f"{name}={value}\n" for name, value in ORGANISATION_ENV.items())
"""What the privacy statement must name (art. 13 AVG), as env-file lines."""


def _env(tmp_path: Path, text: str, *, organisation: bool = True) -> Path:
    """An env file of ``text``, then (so that line numbers stay) the organisation lines."""
    path = tmp_path / "inspraak.env"
    path.write_text(text + (ORGANISATION if organisation else ""), encoding="utf-8")
    return path


def _checks(findings: list) -> list[tuple[str, Severity, int | None]]:  # type: ignore[type-arg]
    return [(f.check, f.severity, f.location.line) for f in findings]


def test_good_env_file_has_no_findings(tmp_path: Path) -> None:
    path = _env(tmp_path, f"# production\nINSPRAAK_PEPPER={GOOD_PEPPER}\nINSPRAAK_LOG_LEVEL=INFO\n")
    assert check_config(read_env_file(path)) == []


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("INSPRAAK_LOG_LEVEL=INFO\n", [("config.pepper-missing", Severity.high, None)]),
        ("INSPRAAK_PEPPER=\n", [("config.pepper-missing", Severity.high, 1)]),
        ("INSPRAAK_PEPPER=changeme\n", [("config.pepper-weak", Severity.high, 1)]),
        ("INSPRAAK_PEPPER='tooshort-but-random-7Q'\n", [("config.pepper-weak", Severity.high, 1)]),
        (f"INSPRAAK_PEPPER={'ab' * 20}\n", [("config.pepper-weak", Severity.high, 1)]),
        (
            f"INSPRAAK_PEPPER={GOOD_PEPPER}\nINSPRAAK_KEY_ENCRYPTION_KEY={GOOD_PEPPER}\n",
            [("config.pepper-reused", Severity.medium, 1)],
        ),
        (
            f"INSPRAAK_PEPPER={GOOD_PEPPER}\nexport INSPRAAK_DEV_MODE=true\n",
            [("config.dev-mode", Severity.high, 2)],
        ),
        (
            f"INSPRAAK_PEPPER={GOOD_PEPPER}\n\nINSPRAAK_LOG_LEVEL=DEBUG\n",
            [("config.debug-logging", Severity.medium, 3)],
        ),
    ],
    ids=["missing", "empty", "placeholder", "short", "low-entropy", "reused", "dev", "debug"],
)
def test_config_problems_are_found(tmp_path: Path, lines: str, expected: list) -> None:  # type: ignore[type-arg]
    findings = check_config(read_env_file(_env(tmp_path, lines)))
    assert _checks(findings) == expected
    assert all(GOOD_PEPPER not in f.detail and "changeme" not in f.detail for f in findings)


def test_dev_mode_is_a_note_in_the_demo(tmp_path: Path) -> None:
    values = read_env_file(_env(tmp_path, f"INSPRAAK_PEPPER={GOOD_PEPPER}\nINSPRAAK_DEV_MODE=1\n"))
    assert _checks(check_config(values, demo=True)) == [("config.dev-mode", Severity.info, 2)]


def test_privacy_statement_gaps_are_found(tmp_path: Path) -> None:
    path = _env(tmp_path, f"INSPRAAK_PEPPER={GOOD_PEPPER}\n", organisation=False)
    (finding,) = check_config(read_env_file(path))
    assert (finding.check, finding.severity) == (
        "config.privacy-statement-incomplete",
        Severity.high,
    )
    assert finding.detail == (
        "the privacy statement (/privacy) lacks INSPRAAK_ORGANISATION__NAME, "
        "INSPRAAK_ORGANISATION__CONTACT, INSPRAAK_ORGANISATION__PRIVACY_OFFICER, "
        "INSPRAAK_ORGANISATION__RETENTION"
    )
    blank = _env(
        tmp_path,
        f"INSPRAAK_PEPPER={GOOD_PEPPER}\n" + ORGANISATION + "INSPRAAK_ORGANISATION__CONTACT=\n",
        organisation=False,
    )
    (finding,) = check_config(read_env_file(blank))
    assert finding.detail.endswith("lacks INSPRAAK_ORGANISATION__CONTACT")


def test_effective_settings_are_checked(settings: Settings) -> None:
    """The test settings (dev mode, random 64-character pepper, no organisation named) are
    fine for a demo only."""
    values = settings_values(settings)
    assert _checks(check_config(values, demo=True)) == [
        ("config.dev-mode", Severity.info, None),
        ("config.privacy-statement-incomplete", Severity.info, None),
    ]
    assert _checks(check_config(values)) == [
        ("config.dev-mode", Severity.high, None),
        ("config.privacy-statement-incomplete", Severity.high, None),
    ]
    named = settings.model_copy(
        update={
            "organisation": OrganisationSettings(
                name="Gemeente Voorbeeld",
                contact="14 020",
                privacy_officer="FG",
                retention="1 jaar",
            )
        }
    )
    assert _checks(check_config(settings_values(named), demo=True)) == [
        ("config.dev-mode", Severity.info, None)
    ]


def _real_log(level: str, events: list[tuple[str, dict[str, object]]]) -> str:
    """Log through the project's own scrubbed pipeline, as a service does."""
    stream = io.StringIO()
    configure_logging(log_format="json", level=level, stream=stream)
    log = structlog.get_logger("inspraak.test")
    for event, fields in events:
        log.info(event, **fields) if event != "debug" else log.debug("cache_miss", **fields)
    logging.getLogger().handlers[:] = []
    return stream.getvalue()


def test_logs_from_the_scrubbing_pipeline_are_clean(tmp_path: Path) -> None:
    text = _real_log(
        "INFO",
        [("token_issued", {"cid": "klimaat", "bsn": "999990019", "note": "from 203.0.113.7"}),
         ("vote_recorded", {"cid": "klimaat", "status": 201})],
    )  # fmt: skip
    path = tmp_path / "participation.log"
    path.write_text(text, encoding="utf-8")
    options = AuditOptions(today=TODAY)
    report = run_audit(options=options, log_files=[path])
    assert report.findings == []


def test_debug_logging_is_found_in_the_log(tmp_path: Path) -> None:
    path = tmp_path / "debug.log"
    path.write_text(_real_log("DEBUG", [("debug", {"cid": "x"})]), encoding="utf-8")
    findings = run_audit(options=AuditOptions(today=TODAY), log_files=[path]).findings
    assert _checks(findings) == [("log.debug", Severity.medium, 1)]


ADDRESS = ("log.client-address", Severity.high)
UVICORN_ACCESS = '203.0.113.7:51234 - "POST /api/c/klimaat/votes HTTP/1.1" 201'
CADDY_JSON = json.dumps(
    {"level": "info", "logger": "http.log.access", "msg": "handled request",
     "request": {"remote_ip": "192.0.2.44", "method": "GET", "uri": "/"}, "status": 200}
)  # fmt: skip


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (UVICORN_ACCESS, {("log.identifier", Severity.high), ADDRESS}),
        (CADDY_JSON, {("log.identifier", Severity.high), ADDRESS}),
        ('127.0.0.1:40000 - "GET /healthz HTTP/1.1" 200', {("log.client-address", Severity.high)}),
        ('{"event": "login", "bsn_hint": "999990019"}', {("log.identifier", Severity.high)}),
        ('{"event": "x", "contact": "jan@voorbeeld.nl"}', {("log.identifier", Severity.high)}),
        ("saml_ok kvk=69599084", {("log.identifier", Severity.high)}),
        (
            '{"event": "redeem", "token": "' + base64.urlsafe_b64encode(
                b"\x00\x02" + os.urandom(352)).decode() + '"}',
            {("log.identifier", Severity.high)},
        ),
        (
            '{"event": "vote", "timestamp": "2026-01-15T10:31:07.123Z"}',
            {("log.fine-timestamp", Severity.low)},
        ),
        ('{"event": "vote", "day": "2026-01-15"}', set()),
    ],
    ids=["uvicorn-access", "caddy-json", "loopback-access", "bsn", "email", "kvk", "token",
         "fine-time", "day-is-fine"],
)  # fmt: skip
def test_log_problems_are_found_with_line_numbers(
    tmp_path: Path, line: str, expected: set[tuple[str, Severity]]
) -> None:
    path = tmp_path / "service.log"
    path.write_text('{"event": "startup"}\n' + line + "\n", encoding="utf-8")
    findings = run_audit(options=AuditOptions(today=TODAY), log_files=[path]).findings
    assert {(f.check, f.severity) for f in findings} == expected
    assert all(f.location.line == 2 and f.location.source == str(path) for f in findings)
    assert all("203.0.113.7" not in f.detail and "999990019" not in f.detail for f in findings)


def test_many_lines_are_summed_up(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text((UVICORN_ACCESS + "\n") * 50, encoding="utf-8")
    findings = run_audit(options=AuditOptions(today=TODAY), log_files=[path]).findings
    address = [f for f in findings if f.check == "log.client-address"]
    assert len(address) == 21 and address[-1].detail == "30 more lines like the above"


def test_exports_are_scanned(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "votes.csv").write_text("timestamp,voter-id,comment-id,vote\n1,4,2,1\n", "utf-8")
    (folder / "participants-votes.csv").write_text(
        "participant,group-id,n-votes\n3,,12\n999990019,,4\n", "utf-8"
    )
    findings = run_audit(options=AuditOptions(today=TODAY), exports=[folder]).findings
    assert _checks(findings) == [("export.identifier", Severity.high, 3)]
    assert findings[0].location.source.endswith("participants-votes.csv")


def test_small_groups_in_an_export_are_found(tmp_path: Path) -> None:
    export = tmp_path / "participants-votes.csv"
    rows = ["participant,group-id,n-votes"] + [f"{n},0,3" for n in range(6)] + ["6,1,2", "7,1,5"]
    export.write_text("\n".join(rows) + "\n", "utf-8")
    findings = run_audit(options=AuditOptions(today=TODAY), exports=[export]).findings
    assert _checks(findings) == [("export.small-group", Severity.high, None)]
    assert findings[0].detail == "group sizes [2] below the minimum of 5"
    export.write_text("participant,group-id,n-votes\n1,,3\n2,,4\n", "utf-8")  # as we export
    assert run_audit(options=AuditOptions(today=TODAY), exports=[export]).findings == []


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    findings = run_audit(
        options=AuditOptions(today=TODAY), log_files=[tmp_path / "absent.log"]
    ).findings
    assert _checks(findings) == [("audit.unreadable", Severity.medium, None)]
