"""Fixtures for the production-shape tests: a real Valkey Cluster (once per worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis.cluster

from tests.production.harness import ValkeyCluster


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    cluster = ValkeyCluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster_url(valkey_cluster: ValkeyCluster) -> str:
    """The cluster's URL, every primary flushed for this test."""
    client = redis.cluster.RedisCluster.from_url(valkey_cluster.url)
    client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    client.close()
    return valkey_cluster.url
