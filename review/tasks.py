from celery import shared_task

from . import services


@shared_task(name="review.tasks.check_drift")
def check_drift():
    """Daily (beat): compare the last week's scans with the four weeks before; the report goes on the dashboard."""
    report = services.run_drift_check()
    return {"drifted": report.drifted, "recent": report.recent_n, "baseline": report.baseline_n}
