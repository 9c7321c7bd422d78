"""The logging pipeline scrubs identifiers whatever the caller passes."""

from __future__ import annotations

import io
import json
import logging

import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

import inspraak.logging as log_module
from inspraak.logging import configure_logging, scrub_text


def test_scrub_text_blanks_identifiers() -> None:
    text = "bsn 999990019 kvk 12345678 from 192.168.1.20 and 2001:db8::1 by a@b.nl"
    scrubbed = scrub_text(text)
    for secret in ("999990019", "12345678", "192.168.1.20", "2001:db8::1", "a@b.nl"):
        assert secret not in scrubbed


def test_structlog_and_stdlib_records_are_scrubbed() -> None:
    stream = io.StringIO()
    configure_logging(log_format="json", level="INFO", stream=stream)
    log = structlog.get_logger("test")
    log.info("login", bsn="999990019", token="abc", cid="c1", note="from 10.0.0.7")
    logging.getLogger("uvicorn.error").info("client 10.1.2.3:5000 said 999990019")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "login" and lines[0]["cid"] == "c1"
    assert "bsn" not in lines[0] and "token" not in lines[0]
    output = stream.getvalue()
    for secret in ("999990019", "10.0.0.7", "10.1.2.3"):
        assert secret not in output


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("0123456789٣.:@ab-_x \t")), max_size=60))
def test_the_quick_check_skips_only_text_no_pattern_can_match(text: str) -> None:
    """scrub_text returns text without a digit, ":" or "@" untouched: none of its patterns
    can match there, so the answer is the same as running every pattern."""
    full = text
    for pattern in (log_module._EMAIL, log_module._IPV4, log_module._IPV6, log_module._ID_NUMBER):
        full = pattern.sub("[scrubbed]", full)
    assert scrub_text(text) == full
