"""The committed monitoring: alert rules (promtool check + promtool's unit tests), the Prometheus config,
the Grafana dashboard (its queries parsed by promtool, every metric it reads really exported), and the
compose profile that provisions both."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from facediag_site import metrics  # noqa: F401  (registers the product's metrics)

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "monitoring"
RULES = MONITORING / "prometheus" / "rules" / "facediag.yml"
RULE_TESTS = sorted((MONITORING / "prometheus" / "tests").glob("*.test.yml"))
DASHBOARD = MONITORING / "grafana" / "dashboards" / "facediag.json"
PROMETHEUS_CONFIG = MONITORING / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = MONITORING / "alertmanager.yml"
#: Metrics the web's /metrics computes at scrape time (facediag_site.metrics_export.ScanStateCollector).
SCRAPE_TIME = {"facediag_queue_length", "facediag_scans_backlog", "facediag_analysis_rate", "facediag_backlog_seconds",
               "facediag_backlog_limit_seconds", "facediag_model_active", "facediag_active_model_info",
               "facediag_model_failing", "facediag_model_recent_scans", "facediag_oldest_waiting_scan_age_seconds",
               # review.metrics.DriftCollector: present once a drift report exists
               "facediag_drift_detected", "facediag_drift_check_drifted", "facediag_drift_report_age_seconds",
               "facediag_drift_checks_run",
               # issue 31, point 10: the serving versions, reviewer agreement by version, the shadow
               "facediag_model_info", "facediag_model_reviews", "facediag_model_reviewer_agreement_ratio",
               "facediag_model_reviewer_agreement_lower", "facediag_model_reviewer_agreement_upper",
               "facediag_shadow_results", "facediag_shadow_agreement_with_served_ratio"}
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def promtool():
    path = shutil.which("promtool")
    if not path:
        pytest.skip("promtool not installed (Debian package `prometheus`; scripts/test.sh installs it)")
    return path


def run(*args):
    result = subprocess.run([promtool(), *args], capture_output=True, text=True, cwd=ROOT)
    return result.returncode, result.stdout + result.stderr


def test_alert_rules_pass_promtool_check():
    code, out = run("check", "rules", str(RULES))
    assert code == 0, out
    assert "SUCCESS" in out


def test_alert_rules_pass_their_promtool_unit_tests():
    assert RULE_TESTS
    code, out = run("test", "rules", *map(str, RULE_TESTS))
    assert code == 0, out
    assert out.count("SUCCESS") == len(RULE_TESTS)


def test_every_alert_the_issue_asks_for_is_defined_and_unit_tested():
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    wanted = {"FaceDiagQueueBacklogGrowing", "FaceDiagUploadToDoneSlow", "FaceDiagScanFailureRateHigh",
              "FaceDiagNoActiveModel", "FaceDiagWorkerDown", "FaceDiagNoWorkers", "FaceDiagNoSkinRateDoubled",
              # issue 31: read from the database at scrape time
              "FaceDiagModelFailing", "FaceDiagScansWaitingTooLong", "FaceDiagDriftDetected",
              "FaceDiagDriftCheckStale"}
    assert wanted <= alerts
    tested = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            tested |= {t["alertname"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    assert alerts <= tested | {"FaceDiagWebDown"}, alerts - tested  # each one seen firing in a unit test


def test_every_alert_has_a_summary_a_description_and_a_runbook_section():
    """Issue 31: no alert had a runbook, three had no description."""
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    sections = {line[3:].strip().lower() for line in runbooks.splitlines() if line.startswith("## ")}
    alerts = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r]
    for rule in alerts:
        notes = rule["annotations"]
        assert notes.get("summary") and notes.get("description"), rule["alert"]
        assert notes.get("runbook_url") == f"docs/runbooks.md#{rule['alert'].lower()}", rule["alert"]
    assert sections == {rule["alert"].lower() for rule in alerts}  # one section per alert, none stale


def test_add_workers_is_advised_only_while_a_worker_is_up():
    """Issue 31: with no worker up, "add workers" is the wrong advice (FaceDiagNoWorkers says what to do)."""
    for rule in (r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r):
        if "add workers" in rule["annotations"]["description"].lower():
            assert 'count(up{job="facediag-worker"} == 1) > 0' in rule["expr"], rule["alert"]


def test_prometheus_config_is_valid_and_scrapes_what_compose_exposes():
    code, out = run("check", "config", "--syntax-only", str(PROMETHEUS_CONFIG))
    assert code == 0, out
    jobs = {job["job_name"]: job for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]}
    assert set(jobs) == {"facediag-web", "facediag-worker"}  # the names the alert rules use
    assert all(job["authorization"]["type"] == "Bearer" for job in jobs.values())
    assert jobs["facediag-worker"]["dns_sd_configs"][0]["port"] == 9808


def test_prometheus_sends_its_alerts_to_the_alertmanager_of_the_compose_profile():
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert targets == ["alertmanager:9093"]


def test_the_alertmanager_config_is_valid_and_inhibits_only_alerts_that_exist():
    amtool = shutil.which("amtool")
    if not amtool:
        pytest.skip("amtool not installed (Debian package `prometheus-alertmanager`)")
    result = subprocess.run([amtool, "check-config", str(ALERTMANAGER_CONFIG)], capture_output=True, text=True)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    named = set()
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            found = re.fullmatch(r'alertname=~?"([^"]+)"', matcher)
            assert found, matcher
            named |= set(found.group(1).split("|"))
    assert named <= alerts, named - alerts  # a renamed alert would silently stop being inhibited
    receivers = {r["name"] for r in config["receivers"]}
    assert config["route"]["receiver"] in receivers


def test_dashboard_queries_parse_and_read_the_datasource_variable(tmp_path):
    """Issue 31: the data source is a template variable (type prometheus), not a fixed uid, so the dashboard
    imported into another Grafana asks for its Prometheus; provisioned, it picks the default one (ours)."""
    dashboard = json.loads(DASHBOARD.read_text())
    datasource = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["isDefault"] is True  # what the variable starts with
    (variable,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == "prometheus" and variable["name"] == "datasource"
    wanted = {"type": "prometheus", "uid": f"${{{variable['name']}}}"}
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert dashboard["uid"] and len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    assert '"uid": "prometheus"' not in DASHBOARD.read_text()  # no fixed uid left anywhere
    exprs = []
    for panel in panels:
        assert panel["datasource"] == wanted, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", wanted) == wanted, panel["title"]
        exprs += [t["expr"] for t in panel["targets"]]
    # promtool parses PromQL in rule files: each query as a recording rule.
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": e}
                                                          for i, e in enumerate(exprs)]}]}
    check = tmp_path / "dashboard-queries.yml"
    check.write_text(yaml.safe_dump(rules))
    code, out = run("check", "rules", str(check))
    assert code == 0, out


def test_the_dashboard_shows_drift_agreement_per_version_the_shadow_and_the_processes():
    """Issue 31, point 9: panels for drift, per-model-version accuracy (reviewer agreement), the shadow model."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = "\n".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    for needle in ("facediag_drift_detected", "facediag_drift_check_drifted", "facediag_drift_report_age_seconds",
                   "facediag_model_reviewer_agreement_ratio", "facediag_model_reviewer_agreement_lower",
                   'facediag_reviews_done_total{agreed="true"}', "by (version)", "facediag_shadow_results",
                   "facediag_shadow_agreement_with_served_ratio", 'role', "process_cpu_seconds_total",
                   "process_resident_memory_bytes"):
        assert needle in exprs, needle
    # The panels do not overlap (Grafana would push them around).
    cells = set()
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        area = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & area, panel["title"]
        assert g["x"] + g["w"] <= 24
        cells |= area


def metric_names_in(text):
    names = set()
    for name in re.findall(r"\b(?:facediag|django)_[a-z0-9_]+", text):
        for suffix in SUFFIXES:
            if name.endswith(suffix) and not name.endswith("_info"):
                name = name[: -len(suffix)]
                break
        names.add(name)
    return names


@pytest.mark.django_db
def test_every_metric_the_rules_and_dashboard_read_is_exported(client):
    from prometheus_client import REGISTRY

    exported = {m.name for m in REGISTRY.collect()} | SCRAPE_TIME
    scraped = client.get("/metrics").content.decode()  # django-prometheus' names as served
    exported |= metric_names_in(scraped)
    rule_exprs = [r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    dashboard_exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p.get("targets", [])]
    wanted = metric_names_in("\n".join(rule_exprs + dashboard_exprs))
    assert wanted, "no metric names found"
    assert wanted <= exported, sorted(wanted - exported)


def test_the_issue_metrics_are_all_there(db):  # the drift gauges read the database when collected
    from prometheus_client import REGISTRY

    names = {m.name for m in REGISTRY.collect()}
    for name in ("facediag_scans_accepted", "facediag_scans_done", "facediag_scans_failed",
                 "facediag_scan_upload_to_done_seconds", "facediag_scan_queue_wait_seconds",
                 "facediag_inference_seconds", "facediag_preprocess_seconds", "facediag_analysis_batch_size",
                 "facediag_reviews_done", "facediag_uploads_refused"):
        assert name in names, name


# --- docker compose's monitoring profile -----------------------------------------------------------------


def compose_config(*profile):
    import os

    from tests.test_docker_compose import REQUIRED_SECRETS, compose_command

    result = subprocess.run([*compose_command(), *profile, "config"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, **REQUIRED_SECRETS})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_the_monitoring_profile_provisions_prometheus_alertmanager_and_grafana():
    services = compose_config("--profile", "monitoring")
    prometheus, grafana, alertmanager = services["prometheus"], services["grafana"], services["alertmanager"]
    # Off unless asked for; the product itself runs without the profile.
    assert prometheus["profiles"] == grafana["profiles"] == alertmanager["profiles"] == ["monitoring"]
    assert not any(s.get("profiles") for name, s in services.items()
                   if name not in ("prometheus", "grafana", "alertmanager"))
    mounts = [str(v) for v in prometheus["volumes"] + grafana["volumes"] + alertmanager["volumes"]]

    def mounted(local, target):
        return any(m.startswith(f"{ROOT / local}:{target}") for m in mounts)

    assert mounted("monitoring/prometheus/prometheus.yml", "/etc/prometheus/prometheus.yml")
    assert mounted("monitoring/prometheus/rules", "/etc/prometheus/rules")
    assert mounted("monitoring/grafana/provisioning", "/etc/grafana/provisioning")
    assert mounted("monitoring/grafana/dashboards", "/var/lib/grafana/dashboards")
    assert mounted("monitoring/alertmanager.yml", "/etc/alertmanager/alertmanager.yml")
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    assert "alertmanager" in prometheus["depends_on"]
    provider = yaml.safe_load((MONITORING / "grafana/provisioning/dashboards/facediag.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for service in (prometheus, grafana, alertmanager):
        for port in service["ports"]:  # Compose v2 prints the long form, v1 "127.0.0.1:9093:9093"
            assert (port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]) == "127.0.0.1"
    assert "METRICS_TOKEN" in prometheus["environment"]
    # The app side: one metrics folder per container for its processes; the worker serves on 9808.
    for name in ("web", "worker"):
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"] in services[name]["tmpfs"]
    assert str(services["worker"]["environment"]["WORKER_METRICS_PORT"]) == "9808"
