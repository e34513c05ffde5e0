"""dashboards/grafana/olmo-green.json: importable as Grafana's dashboard JSON model, and every PromQL
expression in it names only metrics and labels a real /metrics endpoint serves (read back with
prometheus_client's parser)."""

import json
import re
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from olmo_green.telemetry.meter import EnergyMeter

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "grafana" / "olmo-green.json"
# Labels Prometheus itself attaches to every scraped series (its scrape config's target labels).
TARGET_LABELS = {"job", "instance"}
PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "irate",
                "predict_linear", "label_values", "on", "ignoring", "group_left", "group_right", "offset",
                "and", "or", "unless", "bool", "deriv", "delta"}
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, set[str]]:
    """Sample names and their label names, scraped over HTTP from a live meter and parsed."""
    run = tmp_path_factory.mktemp("grafana") / "run"
    with EnergyMeter(run, "mosaicml-a100", simulate=True, sampling_interval_s=0.01, metrics_port=0) as meter:
        for _ in range(3):
            meter.step(tokens=100)
        with urllib.request.urlopen(f"http://127.0.0.1:{meter.live.endpoint.port}/metrics", timeout=5) as r:
            text = r.read().decode()
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("olmo_green_"):
                names.setdefault(sample.name, set()).update(sample.labels)
    return names


def expressions(dashboard: dict) -> list[str]:
    found = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    found += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return found


def metrics_and_labels(expr: str) -> tuple[set[str], set[str]]:
    """The metric names an expression selects and every label name it matches or groups by."""
    values = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", expr.strip())  # a Grafana variable query
    if values:
        metrics, labels = metrics_and_labels(values.group(1))
        return metrics, labels | {values.group(2)}
    text = re.sub(r'"[^"]*"', '""', expr)  # label values ($job, ...) are not names
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors: [5m], [$__range]
    labels = {m for g in GROUPING.findall(text) for m in re.findall(r"[a-zA-Z_]\w*", g)}
    metrics = set()
    for name, matchers in SELECTOR.findall(re.sub(GROUPING, " ", text)):
        if name in PROMQL_WORDS:
            continue
        metrics.add(name)
        labels |= set(MATCHER.findall(matchers or ""))
    return metrics, labels


def test_the_scrape_holds_what_the_exporter_documents(exported):
    assert {"olmo_green_energy_joules_total", "olmo_green_power_watts", "olmo_green_emissions_grams_total",
            "olmo_green_step", "olmo_green_tokens_total", "olmo_green_method_info"} <= set(exported)
    assert exported["olmo_green_power_watts"] == {"node", "device", "domain"}


def test_every_expression_names_only_exported_metrics_and_their_labels(dashboard, exported):
    exprs = expressions(dashboard)
    assert len(exprs) >= 12
    used = set()
    for expr in exprs:
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr
        metrics, labels = metrics_and_labels(expr)
        assert metrics, expr
        unknown = metrics - set(exported)
        assert not unknown, f"{expr}: {unknown} is not exported"
        allowed = set.union(*(exported[m] for m in metrics)) | TARGET_LABELS
        assert labels <= allowed, f"{expr}: labels {labels - allowed} are not on {metrics}"
        used |= metrics
    # power, energy, emissions (with a forecast), steps and tokens, method: every exported series shown
    assert used == set(exported)
    assert any("predict_linear" in e for e in exprs)


def test_the_checker_catches_a_misspelt_metric_or_label(exported):
    metrics, labels = metrics_and_labels('sum by (job, nodes) (olmo_green_power_wats{domain="gpu"})')
    assert metrics == {"olmo_green_power_wats"} and labels == {"job", "nodes", "domain"}


def test_the_dashboard_follows_grafanas_json_model_with_a_datasource_variable(dashboard):
    assert dashboard["id"] is None and dashboard["uid"] and isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    source = variables["datasource"]
    assert source["type"] == "datasource" and source["query"] == "prometheus"
    assert {"job", "node"} <= set(variables)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        where = panel["gridPos"]
        assert set(where) == {"h", "w", "x", "y"} and where["x"] + where["w"] <= 24
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])
    assert "DS_" not in DASHBOARD.read_text()  # no export-time input to fill in: importable as is
