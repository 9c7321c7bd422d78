"""Hostile input: schemathesis against each service's own OpenAPI document.

Every service runs as ``inspraak serve <service>`` on loopback with a real store and a
real consultation; schemathesis sends generated (valid and invalid) requests for every
operation and checks: no 5xx, status codes, content types and bodies as documented,
invalid input refused. Bounded: a few examples per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    positive_data_acceptance,
    unsupported_method,
)

import issuer
from inspraak.clock import SYSTEM_CLOCK
from inspraak.store import EmbeddedStore
from tests.production.harness import ADMIN_KEY, Driver, ServiceProcess, production_settings

CID = "stadspark"
EXAMPLES = 12
AUTH: dict[str, str] = {}
"""Admin credentials, so that generated requests reach the admin operations' logic."""


def _headers(service: str, case: schemathesis.Case[Any]) -> dict[str, str] | None:
    if "/admin/" in case.operation.path and "authorization" not in {
        k.lower() for k in (case.headers or {})
    }:
        return {"Authorization": AUTH[service]}
    return None


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("schemathesis")
    store = EmbeddedStore(root / "store", appendfsync="everysec")
    store.start()
    running: list[ServiceProcess] = []
    try:
        settings = production_settings(root / "data", store.url, keys_file=root / "keys.json")
        with TestClient(issuer.create_app(settings, clock=SYSTEM_CLOCK)) as issuer_client:
            driver = Driver(settings, issuer_client, issuer_client)
            driver.open_issuer_side(CID)
            driver.write_keys_file(root / "keys.json")
        urls: dict[str, str] = {}
        for name in ("issuer", "participation", "verifier"):
            service = ServiceProcess(settings, name, root / f"{name}.log")
            service.start()
            running.append(service)
            urls[name] = service.url
        with httpx.Client(base_url=urls["participation"]) as client:
            driver.participation = client
            driver.open_participation_side(CID)
        AUTH["issuer"] = f"Bearer {ADMIN_KEY}"
        AUTH["participation"] = f"Bearer {driver.organiser_key}"
        yield urls
    finally:
        for service in running:
            service.stop()
        store.stop()


def _schema(url: str) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{url}/openapi.json")


@pytest.fixture(scope="module")
def issuer_schema(services: dict[str, str]) -> BaseSchema:
    return _schema(services["issuer"])


@pytest.fixture(scope="module")
def participation_schema(services: dict[str, str]) -> BaseSchema:
    return _schema(services["participation"])


@pytest.fixture(scope="module")
def verifier_schema(services: dict[str, str]) -> BaseSchema:
    return _schema(services["verifier"])


# Method semantics (TRACE answered 404 by the pages' catch-all, Allow listing only the
# methods of the first matching route) are Starlette routing behaviour, not schema
# violations; every other check runs.
EXCLUDED = [unsupported_method, allow_header_conformance]

issuer_api = schemathesis.pytest.from_fixture("issuer_schema")
participation_api = schemathesis.pytest.from_fixture("participation_schema")
verifier_api = schemathesis.pytest.from_fixture("verifier_schema")

BOUNDED = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
    database=None,
)


@issuer_api.parametrize()
@BOUNDED
def test_issuer_api(case: schemathesis.Case[Any]) -> None:
    # The issuer refuses, rightly, some schema-valid input the schema cannot express:
    # a policy whose ``min_level`` lacks one of its ``schemes`` (a cross-field rule), and
    # an empty form field (``SAMLResponse=``), which FastAPI reads as missing.
    excluded = [*EXCLUDED, positive_data_acceptance]
    case.call_and_validate(excluded_checks=excluded, headers=_headers("issuer", case))


@participation_api.parametrize()
@BOUNDED
def test_participation_api(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(excluded_checks=EXCLUDED, headers=_headers("participation", case))


@verifier_api.parametrize()
@BOUNDED
def test_verifier_api(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(excluded_checks=EXCLUDED)


@schemathesis.serializer("application/private-token-request")
def _private_token_request(_ctx: object, value: object) -> bytes:
    """Token requests are raw bytes (RFC 9578 §6.1); generated values arrive as bytes/str."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")
