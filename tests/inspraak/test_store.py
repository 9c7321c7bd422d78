"""The embedded store is a real Valkey server with AOF, and keeps data across restarts."""

from __future__ import annotations

from pathlib import Path

from inspraak.store import EmbeddedStore, connect


def test_embedded_store_persists_with_aof_across_restart(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path, appendfsync="always") as store:
        client = connect(store.url)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("bind")["bind"].startswith("127.0.0.1")
        # The ledger's order must not be insertion order (issuer.ledger-order).
        client.hset("ledger", mapping={f"{i:064x}": 1 for i in range(3)})
        assert client.object("encoding", "ledger") == b"hashtable"
        client.set("vote", "1")
        store.kill()  # no clean shutdown: only the AOF can bring it back
    assert (tmp_path / "aof").is_dir()
    with EmbeddedStore(tmp_path) as store:
        assert connect(store.url).get("vote") == b"1"


def test_test_store_is_flushed_per_test(sync_store) -> None:  # type: ignore[no-untyped-def]
    assert sync_store.dbsize() == 0
    sync_store.set("left-over", "x")
