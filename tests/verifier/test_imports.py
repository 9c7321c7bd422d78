"""``verifier`` imports cleanly whichever package a process imports first.

inspraak.settings imports every service's config, participation imports verifier, and
verifier imports inspraak: each order is tried in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "first",
    ["verifier", "verifier.config", "participation"],
)
def test_verifier_imports_after(first: str) -> None:
    code = f"import {first}; import verifier; assert callable(verifier.create_app)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


REDEEM_ALONE = """
import base64, sys
from fastapi.testclient import TestClient
from inspraak.settings import Settings
from tokens import create_token_request, finalize_token, generate_private_key, issue_token_response
from verifier import StaticKeySource, VerificationKey, challenge_for, create_app

settings = Settings(dev_mode=True, data_dir=sys.argv[1], redis_url=sys.argv[2])
key = generate_private_key()
keys = StaticKeySource({"alone": [VerificationKey.from_public_key(key.public_key())]})
request, state = create_token_request(key.public_key(), challenge_for(settings, "alone"))
token = finalize_token(state, issue_token_response(key, request)).to_bytes()
with TestClient(create_app(settings, key_source=keys)) as client:
    body = {"consultation": "alone", "token": base64.urlsafe_b64encode(token).decode()}
    assert client.post("/redeem", json=body).status_code == 200
    assert client.post("/redeem", json=body).status_code == 401
others = {"participation", "analysis", "issuer"}
print(sorted({name.split(".")[0] for name in sys.modules} & others))
"""


def test_the_verifier_redeems_without_loading_the_other_services(
    tmp_path: Path, redis_url: str
) -> None:
    # The stand-alone verifier once imported all of participation (and scikit-learn through
    # analysis) on its first spend, for one key name: a second's pause on every worker's
    # first redemption. Its keys are named in inspraak.keyspace, which both services share.
    result = subprocess.run(
        [sys.executable, "-c", REDEEM_ALONE, str(tmp_path), redis_url],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "[]"
