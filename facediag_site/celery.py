import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facediag_site.settings")

app = Celery("facediag")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _add_heartbeat() -> None:
    from .heartbeat import WorkerHeartbeat  # /healthz/ tells a dead or stuck worker by its silence

    app.steps["worker"].add(WorkerHeartbeat)


_add_heartbeat()


@setup_logging.connect
def use_django_logging(**_kwargs):
    """Workers and beat log like the web (JSON lines with request ids, LOG_LEVEL), not in Celery's format."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@worker_ready.connect
def serve_worker_metrics(**_kwargs):
    from django.conf import settings

    if settings.WORKER_METRICS_PORT:
        from .metrics_export import start_worker_metrics_server

        start_worker_metrics_server(settings.WORKER_METRICS_PORT, settings.WORKER_METRICS_ADDR)


def _connect_request_ids():
    from . import logging as request_logging

    before_task_publish.connect(request_logging.add_request_id_header, weak=False)
    task_prerun.connect(request_logging.bind_batch, weak=False)
    task_postrun.connect(request_logging.unbind_batch, weak=False)


_connect_request_ids()
