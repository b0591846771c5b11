"""Grafana comes up provisioned from docker-compose.yml: the provisioning it mounts points at
the dashboards it mounts, and every panel asks the provisioned Prometheus, which reads
ops/prometheus.yml. (The PromQL itself is checked against a real Prometheus in
tests/integration/test_prometheus.py.)"""

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "ops" / "grafana"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DATASOURCES = yaml.safe_load(
    (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
)
PROVIDERS = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "gigstream.yml").read_text())
DASHBOARDS = {path.name: json.loads(path.read_text()) for path in GRAFANA.glob("dashboards/*.json")}


def mounts(service: str) -> dict[str, str]:
    """A compose service's bind mounts: host path (from the repository's root) -> container path."""
    volumes = COMPOSE["services"][service]["volumes"]
    return {host: inside for host, inside, *_ in (volume.split(":") for volume in volumes)}


def panels(listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for panel in listed for p in [panel, *panels(panel.get("panels", []))]]


def test_grafana_mounts_its_provisioning_and_the_dashboards_where_the_provider_looks() -> None:
    grafana = mounts("grafana")
    assert grafana["./ops/grafana/provisioning"] == "/etc/grafana/provisioning"
    [provider] = PROVIDERS["providers"]
    assert grafana["./ops/grafana/dashboards"] == provider["options"]["path"]
    home = COMPOSE["services"]["grafana"]["environment"][
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"
    ]
    assert Path(home).parent == Path(provider["options"]["path"])
    assert Path(home).name in DASHBOARDS


def test_grafanas_prometheus_is_the_compose_one_reading_ops_prometheus_yml() -> None:
    assert mounts("prometheus")["./ops/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    [datasource] = DATASOURCES["datasources"]
    port = COMPOSE["services"]["prometheus"]["ports"][0].split(":")[-1]
    assert datasource["url"] == f"http://prometheus:{port}"
    assert "prometheus" in COMPOSE["services"]["grafana"]["depends_on"]


def test_every_panel_and_query_asks_the_provisioned_data_source() -> None:
    [datasource] = DATASOURCES["datasources"]
    wanted = {"type": datasource["type"], "uid": datasource["uid"]}
    for name, dashboard in DASHBOARDS.items():
        for panel in panels(dashboard["panels"]):
            for query in [panel, *panel.get("targets", [])]:
                if panel["type"] != "row":
                    assert query.get("datasource") == wanted, f"{name}: {panel['title']}"


def test_dashboards_have_distinct_uids_and_titles_and_every_panel_a_query() -> None:
    assert DASHBOARDS
    assert len({d["uid"] for d in DASHBOARDS.values()}) == len(DASHBOARDS)
    assert len({d["title"] for d in DASHBOARDS.values()}) == len(DASHBOARDS)
    for name, dashboard in DASHBOARDS.items():
        for panel in panels(dashboard["panels"]):
            if panel["type"] != "row":
                assert [t["expr"] for t in panel["targets"]], f"{name}: {panel['title']}"


def test_every_worker_exports_the_same_figures_so_panels_take_their_max_never_a_sum() -> None:
    from streams.figure_metrics import FIGURE_GAUGES  # imports Faust: only this test

    names = {gauge.describe()[0].name for gauge in FIGURE_GAUGES}
    found = 0
    for name, dashboard in DASHBOARDS.items():
        for panel in panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                expr = target["expr"]
                if any(figure in expr for figure in names):
                    found += 1
                    assert "max" in expr and "sum" not in expr, f"{name}: {panel['title']}"
                    assert 'job="gigstream-worker"' in expr, f"{name}: {panel['title']}"
    assert found
