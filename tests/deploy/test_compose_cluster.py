"""The scale-out overlay (deploy/compose.cluster.yml) and its ClickHouse configuration files,
validated as the production compose file is: parsed, never started (no Docker engine here)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml
from compose_spec import ComposeSpecification, PyCompose, Service

REPO = Path(__file__).resolve().parents[2]
OVERLAY = REPO / "deploy" / "compose.cluster.yml"
SECRETS = (
    "CLICKHOUSE_PASSWORD",
    "CLICKHOUSE_CLUSTER_SECRET",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
)


def _overlay() -> dict[str, Any]:
    return yaml.safe_load(OVERLAY.read_text())


def _base() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _known_keys(model: type) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> repository file, for the service's bind mounts of repository files."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts[target] = REPO / source
    return mounts


def _clickhouse_nodes() -> dict[str, dict[str, Any]]:
    return {
        name: s
        for name, s in _overlay()["services"].items()
        if name == "clickhouse" or name.startswith("clickhouse-")
    }


def _cluster_xml() -> ET.Element:
    return ET.parse(REPO / "deploy" / "clickhouse" / "cluster.xml").getroot()


def _shards(cluster: str) -> list[list[str]]:
    node = _cluster_xml().find(f"remote_servers/{cluster}")
    assert node is not None, cluster
    return [[r.findtext("host") or "" for r in s.findall("replica")] for s in node.findall("shard")]


def test_the_overlay_validates_against_the_compose_specification() -> None:
    text = OVERLAY.read_text()
    doc = yaml.safe_load(text)
    ComposeSpecification.model_validate(doc)
    PyCompose.from_yaml(text).to_spec()  # the Rust parser: no merge keys, no misspelt keys
    allowed = _known_keys(Service)
    for name, service in doc["services"].items():
        assert not set(service) - allowed, name
    assert not {k for k in doc if not k.startswith("x-")} - _known_keys(ComposeSpecification)


def test_every_image_is_pinned_and_every_long_running_service_is_health_gated() -> None:
    overlay, base = _overlay()["services"], _base()["services"]
    for name, service in overlay.items():
        if name in base:  # extends a base service: its image and healthcheck come from there
            assert "image" not in service, name
            continue
        image = service["image"]
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), name
        if name != "minio-init":  # a one-shot job
            assert "healthcheck" in service, name
    for name, service in overlay.items():
        for dep, condition in (service.get("depends_on") or {}).items():
            assert dep in overlay or dep in base, (name, dep)
            assert condition == {"condition": "service_healthy"}, (name, dep)


def test_secrets_fail_fast_and_none_is_written_down() -> None:
    text = OVERLAY.read_text()
    for secret in SECRETS:
        assert re.search(r"\$\{" + secret + r":\?[^}]+\}", text), secret
    for name, service in _overlay()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|KEY|ROOT_USER", key):
                assert str(value).startswith("${") and ":?" in str(value), (name, key)
    example = (REPO / ".env.example").read_text()
    for secret in SECRETS:
        line = next(x for x in example.splitlines() if x.startswith(secret + "="))
        assert "replace" in line, line
    # Between nodes: the cluster secret from the environment, never a password in the XML.
    for element in _cluster_xml().iter():
        if element.tag in ("password", "secret", "access_key_id", "secret_access_key"):
            assert not (element.text or "").strip() and element.get("from_env"), element.tag


def test_mounted_configuration_files_exist_and_are_well_formed() -> None:
    mounted = [p for s in _overlay()["services"].values() for p in _mounts(s).values()]
    assert mounted
    for path in mounted:
        assert path.is_file(), path
        ET.parse(path)  # raises on malformed XML


def test_every_nodes_macros_match_its_place_in_the_cluster_definitions() -> None:
    nodes = _clickhouse_nodes()
    assert len(nodes) == 4
    sharded, single = _shards("merajut_sharded"), _shards("merajut")
    assert [len(s) for s in sharded] == [2, 2]
    assert len(single) == 1 and sorted(single[0]) == sorted(nodes)
    assert sorted(h for s in sharded for h in s) == sorted(nodes)
    replicas = set()
    for name, service in nodes.items():
        mounts = _mounts(service)
        assert mounts["/etc/clickhouse-server/config.d/cluster.xml"].name == "cluster.xml", name
        macros = ET.parse(mounts["/etc/clickhouse-server/config.d/macros.xml"]).getroot()
        shard, replica = macros.findtext("macros/shard"), macros.findtext("macros/replica")
        assert shard and replica, name
        assert name in sharded[int(shard) - 1], (name, shard)  # the shard that lists the host
        replicas.add(replica)
    assert len(replicas) == 4  # unique across all nodes: the one-shard cluster replicates to all


def test_the_keeper_ensemble_is_three_nodes_every_server_knows() -> None:
    overlay = _overlay()["services"]
    keeper = ET.parse(REPO / "deploy" / "clickhouse" / "keeper.xml").getroot()
    raft = {
        s.findtext("hostname"): s.findtext("id")
        for s in keeper.findall("keeper_server/raft_configuration/server")
    }
    assert len(raft) == 3
    for host, server_id in raft.items():
        assert overlay[host]["environment"]["KEEPER_SERVER_ID"] == server_id, host
    port = keeper.findtext("keeper_server/tcp_port")
    clients = {
        (n.findtext("host"), n.findtext("port")) for n in _cluster_xml().findall("zookeeper/node")
    }
    assert clients == {(host, port) for host in raft}
    for name, service in _clickhouse_nodes().items():
        assert set(service["depends_on"]) == set(raft), name


def test_every_variable_the_server_configuration_reads_is_in_each_nodes_environment() -> None:
    wanted = {e.get("from_env") for e in _cluster_xml().iter() if e.get("from_env")}
    assert wanted
    for name, service in _clickhouse_nodes().items():
        assert wanted <= set(service["environment"]), (name, wanted - set(service["environment"]))


def test_the_bucket_is_created_by_a_job_and_named_where_clickhouse_reads_the_lake() -> None:
    services = _overlay()["services"]
    job = " ".join(services["minio-init"]["command"])
    bucket = re.search(r"mc mb --ignore-existing lake/([\w-]+)", job)
    assert bucket
    url = _cluster_xml().findtext("named_collections/lake/url") or ""
    assert url == f"http://minio:9000/{bucket.group(1)}/"
    assert services["minio-init"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
