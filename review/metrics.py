"""The drift alert and each model version's agreement with the reviewers as Prometheus gauges, read from the
database when scraped.

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


class ReviewAgreementCollector(Collector):
    """Per model version, the reviewed scans it judged and how many the reviewer agreed with: as the active
    model (``kind="served"``: the scan's own result, ``Review.model_label``) and in shadow (``kind="shadow"``:
    its stored shadow result). Agreement is the reviewer's label equal to the model's: an abstention
    ("uncertain", "no skin") or a photo the reviewer called unusable is no agreement. With the share, the ends
    of its 95 % Wilson score interval (review.measures.wilson). And the current shadow version's results:
    how many, and the share whose label is the one served on the same scan (no review needed)."""

    def collect(self) -> Iterator[Metric]:
        from django.db import DatabaseError
        from django.db.models import Count, F, Q

        from ml.selectors import shadow_version

        from .measures import wilson
        from .models import ModelResult, Review

        reviews = GaugeMetricFamily("facediag_model_reviews", "Reviewed scans each model version judged, by kind "
                                    "(served, shadow) and whether the reviewer agreed", labels=["version", "kind",
                                                                                               "agreed"])
        ratio = GaugeMetricFamily("facediag_model_reviewer_agreement_ratio", "Share of the reviewed scans a version "
                                  "judged on which the reviewer gave its label", labels=["version", "kind"])
        lower = GaugeMetricFamily("facediag_model_reviewer_agreement_lower", "Lower end of that share's 95 % Wilson "
                                  "score interval", labels=["version", "kind"])
        upper = GaugeMetricFamily("facediag_model_reviewer_agreement_upper", "Upper end of that share's 95 % Wilson "
                                  "score interval", labels=["version", "kind"])
        shadow_results = GaugeMetricFamily("facediag_shadow_results", "Scans the current shadow version analysed "
                                           "(since it was registered)", labels=["version"])
        shadow_same = GaugeMetricFamily("facediag_shadow_agreement_with_served_ratio", "Share of the current shadow "
                                        "version's results with the label served on the same scan",
                                        labels=["version"])
        try:
            rows = [("served", r["scan__model_version__name"], r["n"], r["agreed"]) for r in
                    Review.objects.exclude(scan__model_version=None).values("scan__model_version__name")
                    .annotate(n=Count("id"), agreed=Count("id", filter=Q(label=F("model_label"))))]
            rows += [("shadow", r["model_version__name"], r["n"], r["agreed"]) for r in
                     ModelResult.objects.filter(kind=ModelResult.Kind.SHADOW, scan__review__isnull=False)
                     .values("model_version__name")
                     .annotate(n=Count("id"), agreed=Count("id", filter=Q(label=F("scan__review__label"))))]
            shadow = shadow_version()
            if shadow is not None:
                own = ModelResult.objects.filter(kind=ModelResult.Kind.SHADOW, model_version=shadow)
                counted = own.aggregate(n=Count("id"), same=Count("id", filter=Q(label=F("scan__label"))))
        except DatabaseError:
            logger.warning("review agreement metrics: the database cannot be read")
            return
        for kind, version, n, agreed in sorted(rows):
            reviews.add_metric([version, kind, "true"], agreed)
            reviews.add_metric([version, kind, "false"], n - agreed)
            ratio.add_metric([version, kind], agreed / n)
            low, high = wilson(agreed, n) or (0.0, 1.0)
            lower.add_metric([version, kind], low)
            upper.add_metric([version, kind], high)
        if shadow is not None:
            shadow_results.add_metric([shadow.name], counted["n"])
            if counted["n"]:
                shadow_same.add_metric([shadow.name], counted["same"] / counted["n"])
        yield from (reviews, ratio, lower, upper, shadow_results, shadow_same)

    def describe(self) -> Iterator[Metric]:
        return iter(())


_collector = DriftCollector()


def register(registry: CollectorRegistry = REGISTRY) -> None:
    """Add the drift gauges to ``registry`` (a test's own; /metrics adds the collector itself); safe to call
    twice."""
    try:
        registry.register(_collector)
    except ValueError:  # already registered in this process
        pass
