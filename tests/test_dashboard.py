"""The Grafana dashboard and the compose file's monitoring: valid JSON and YAML, and every
metric a panel queries is one that a live server's ``/metrics`` exports."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).parent / "api"))
from _server import server, sqlite_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "actorflow.json"
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)          # strings
    text = re.sub(r"\{[^}]*\}", "", text)                   # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)                  # range selectors
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", text)   # label lists
    names = re.findall(r"(?<![\w.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {n for n in names if n.lower() not in KEYWORDS}


def exported(text: str) -> set[str]:
    """Every series name ``/metrics`` can produce (a family with no samples yet included)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {s.name for s in family.samples}
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_sum", "_count")}
        else:
            names.add(family.name)
    return names


def targets(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"]
            for target in panel.get("targets", [])]


def test_metric_names_are_read_from_promql() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, node) (rate(a_bucket{x="y"}[5m]))) / '
            'clamp_min(sum(rate(b_total[$__rate_interval])), 1e-9)')
    assert metric_names(expr) == {"a_bucket", "b_total"}


def test_dashboard_queries_only_metrics_a_live_server_exports(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "actorflow" and dashboard["panels"]
    queried = {title: metric_names(expr) for title, expr in targets(dashboard)}
    assert all(queried.values()), f"a panel selects no metric: {queried}"
    with server("asyncio", sqlite_url(tmp_path), tmp_path) as srv:
        text = httpx.get(srv.url + "/metrics", timeout=10).text
    names = exported(text)
    unknown = {title: sorted(q - names) for title, q in queried.items() if q - names}
    assert not unknown, f"panels query metrics /metrics does not export: {unknown}"
    # and every exported family is on the dashboard (``_created``: a counter's start time)
    families = {f.name for f in text_string_to_metric_families(text)
                if f.name.startswith("actorflow_") and not f.name.endswith("_created")}
    shown = set().union(*queried.values())
    missing = {f for f in families if not any(n.startswith(f) for n in shown)}
    assert not missing, f"metrics without a panel: {missing}"


def test_compose_runs_prometheus_and_grafana_with_the_dashboard_provisioned() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"api", "prometheus", "grafana"} <= set(services)
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    [job] = prometheus["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == ["api:8000"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in services["grafana"]["volumes"]
              if v.startswith("./")}
    assert mounts["./grafana/dashboards"] == "/var/lib/grafana/dashboards"
    provider = yaml.safe_load((ROOT / "deploy" / "grafana" / "provisioning" / "dashboards" /
                               "actorflow.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = yaml.safe_load((ROOT / "deploy" / "grafana" / "provisioning" / "datasources" /
                             "prometheus.yml").read_text())
    uids = {panel["datasource"]["uid"] for panel in json.loads(DASHBOARD.read_text())["panels"]}
    assert uids == {source["datasources"][0]["uid"]}
