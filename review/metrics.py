"""The drift alert as Prometheus gauges, read from the latest stored drift report when scraped.

Reading the report at scrape time (instead of setting a gauge in the beat process that ran the check)
gives every web process the same answer, whichever process ran the check and however many there are.
The web's ``/metrics`` adds this collector to every scrape (``facediag_site.metrics_export``): registered in
the default registry it would be lost in multiprocess mode, where a scrape reads only the shared files.
Alert on ``facediag_drift_detected == 1``; ``facediag_drift_report_age_seconds`` tells a check that stopped
running from a quiet one, ``facediag_drift_checks_run`` a check that had too few scans to test anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


class DriftCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        from django.db import DatabaseError
        from django.utils import timezone

        from .selectors import latest_drift_report

        detected = GaugeMetricFamily(
            "facediag_drift_detected",
            "1 when the latest daily drift check found a significant change in the last days' scans, else 0",
        )
        checks = GaugeMetricFamily(
            "facediag_drift_check_drifted",
            "Per check of the latest drift report: 1 when significant (after Bonferroni), else 0",
            labels=["check"],
        )
        age = GaugeMetricFamily("facediag_drift_report_age_seconds", "Seconds since the latest drift report")
        ran = GaugeMetricFamily("facediag_drift_checks_run", "Tests the latest drift report ran (0: too few "
                                "scans on a side, DRIFT_MIN_SCANS; nothing was compared)")
        try:
            report = latest_drift_report()
        except DatabaseError:  # the database's own health check reports it; the scrape still answers
            logger.warning("drift metrics: the database cannot be read")
            return
        if report is None:
            return
        detected.add_metric([], 1.0 if report.drifted else 0.0)
        for check in report.checks:
            if check.get("ran"):
                checks.add_metric([check["name"]], 1.0 if check.get("drifted") else 0.0)
        age.add_metric([], (timezone.now() - report.created_at).total_seconds())
        ran.add_metric([], float(sum(1 for check in report.checks if check.get("ran"))))
        yield detected
        yield checks
        yield age
        yield ran

    def describe(self) -> Iterator[Metric]:
        return iter(())  # no database query when the collector is registered


_collector = DriftCollector()


def register(registry: CollectorRegistry = REGISTRY) -> None:
    """Add the drift gauges to ``registry`` (a test's own; /metrics adds the collector itself); safe to call
    twice."""
    try:
        registry.register(_collector)
    except ValueError:  # already registered in this process
        pass
