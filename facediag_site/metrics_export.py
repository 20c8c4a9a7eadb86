"""Serving the metrics: ``/metrics`` on the web, a small HTTP endpoint in each Celery worker.

Neither is public. A scrape is answered when it carries ``Authorization: Bearer <METRICS_TOKEN>``, or when
it comes from the loopback address without any proxy header (a reverse proxy on the same host would
otherwise make every visitor look local). Everything else gets 403.

The web's scrape also reports, read at scrape time, what no single process counts: the Redis queue
length, the scans waiting (queued or analysing) and the oldest one's age, the backpressure limit, the active
and shadow models and the active one's health, the latest drift check, and each version's agreement with the
reviewers (``review.metrics``). These collectors are added to the scrape itself, never registered in a
process's registry: in multiprocess mode the scrape reads only the shared files, and a collector registered
in the default registry would not be seen.

Process CPU and memory: prometheus-client's ``ProcessCollector`` reports the one process it runs in, and the
multiprocess files carry no ``process_*`` samples, so in multiprocess mode the scrape (web and worker alike)
adds ``ContainerProcessesCollector``: ``process_cpu_seconds_total``, ``process_resident_memory_bytes`` … with a
``pid`` label for every live process that writes metrics to the shared folder (gunicorn's workers, the
Celery pool), the one answering, and gunicorn's master.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, make_server

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus.middleware import PrometheusAfterMiddleware as _PrometheusAfterMiddleware
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, make_wsgi_app, multiprocess
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, ThreadingWSGIServer
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
FORBIDDEN_TEXT = b"Metrics need a bearer token (METRICS_TOKEN), or a request from this host.\n"


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def scrape_allowed(environ: dict[str, Any]) -> bool:
    """A WSGI environ (or Django's request.META) may read the metrics."""
    token = getattr(settings, "METRICS_TOKEN", "")
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    if token and authorization[:7].lower() == "bearer ":
        if hmac.compare_digest(authorization[7:].strip().encode(), token.encode()):
            return True
    if not getattr(settings, "METRICS_ALLOW_LOOPBACK", True) or any(environ.get(h) for h in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(str(environ.get("REMOTE_ADDR", "")).split("%")[0]).is_loopback
    except ValueError:
        return False


def process_registry() -> CollectorRegistry:
    """Every process's samples: the multiprocess files and the processes' CPU and memory when configured, else
    this process's registry (whose ProcessCollector reports this process)."""
    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(ContainerProcessesCollector(multiprocess_dir()))
    return registry


_PID_IN_FILE = re.compile(r"_(\d+)\.db$")


class ContainerProcessesCollector(Collector):
    """``process_*`` gauges and counters, one series per process (label ``pid``), read from /proc at scrape
    time, for the processes of this container's metrics folder. Linux only (nothing elsewhere)."""

    def __init__(self, folder: str, proc: str = "/proc"):
        self.folder, self.proc = folder, proc

    def pids(self) -> list[int]:
        found = {os.getpid()}
        try:
            names = os.listdir(self.folder)
        except OSError:
            names = []
        for name in names:
            match = _PID_IN_FILE.search(name)
            if match:
                found.add(int(match.group(1)))
        parent = os.getppid()
        if parent > 1 and "gunicorn" in self._cmdline(parent):  # the master writes no metrics of its own
            found.add(parent)
        return sorted(pid for pid in found if os.path.exists(os.path.join(self.proc, str(pid), "stat")))

    def _cmdline(self, pid: int) -> str:
        try:
            with open(os.path.join(self.proc, str(pid), "cmdline"), "rb") as f:
                return f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        if not os.path.isdir(self.proc):
            return
        ticks = os.sysconf("SC_CLK_TCK")
        page = os.sysconf("SC_PAGE_SIZE")
        boot = self._boot_time()
        cpu = CounterMetricFamily("process_cpu_seconds_total", "User and system CPU time of the process, seconds.",
                                  labels=["pid"])
        rss = GaugeMetricFamily("process_resident_memory_bytes", "Resident memory of the process, bytes.",
                                labels=["pid"])
        vms = GaugeMetricFamily("process_virtual_memory_bytes", "Virtual memory of the process, bytes.",
                                labels=["pid"])
        start = GaugeMetricFamily("process_start_time_seconds", "Start of the process since the epoch, seconds.",
                                  labels=["pid"])
        fds = GaugeMetricFamily("process_open_fds", "Open file descriptors of the process.", labels=["pid"])
        for pid in self.pids():
            try:
                with open(os.path.join(self.proc, str(pid), "stat"), "rb") as f:
                    parts = f.read().split(b")")[-1].split()
                open_fds = len(os.listdir(os.path.join(self.proc, str(pid), "fd")))
            except OSError:  # it ended meanwhile, or is not ours to read
                continue
            label = [str(pid)]
            cpu.add_metric(label, (float(parts[11]) + float(parts[12])) / ticks)
            rss.add_metric(label, float(parts[21]) * page)
            vms.add_metric(label, float(parts[20]))
            if boot is not None:
                start.add_metric(label, float(parts[19]) / ticks + boot)
            fds.add_metric(label, float(open_fds))
        yield from (cpu, rss, vms, start, fds)

    def _boot_time(self) -> float | None:
        try:
            with open(os.path.join(self.proc, "stat"), "rb") as f:
                for line in f:
                    if line.startswith(b"btime "):
                        return float(line.split()[1])
        except OSError:
            pass
        return None


class _Combined:
    """A registry view that adds collectors to another registry's output without registering on it."""

    def __init__(self, base: CollectorRegistry, extra: Iterable[Collector]):
        self.base, self.extra = base, list(extra)

    def collect(self) -> Iterator[Metric]:
        yield from self.base.collect()
        for collector in self.extra:
            yield from collector.collect()


class ScanStateCollector(Collector):
    """Scrape-time gauges about the whole service, read from the database and the broker."""

    def collect(self) -> Iterator[Metric]:
        yield from self._guarded("queue", self._queue)
        yield from self._guarded("backlog", self._backlog)
        yield from self._guarded("model", self._model)
        yield from self._guarded("model health", self._model_health)
        yield from self._guarded("oldest waiting scan", self._oldest_waiting)

    def _guarded(self, name: str, read: Callable[[], list[Metric]]) -> Iterator[Metric]:
        try:
            yield from read()
        except Exception as exc:  # a down database or broker must not break the rest of the scrape
            logger.warning("metrics: could not read %s (%s)", name, type(exc).__name__)

    def _queue(self) -> list[Metric]:
        length = broker_queue_length()
        if length is None:
            return []
        gauge = GaugeMetricFamily("facediag_queue_length", "Analysis messages waiting in the broker's queue "
                                  "(Redis LLEN; messages a worker already prefetched are not in it).")
        gauge.add_metric([], length)
        return [gauge]

    def _backlog(self) -> list[Metric]:
        from diagnosis import backpressure

        load = backpressure.current_load(use_cache=False)
        backlog = GaugeMetricFamily("facediag_scans_backlog", "Scans accepted and not finished "
                                    "(queued or being analysed).")
        backlog.add_metric([], load.backlog)
        rate = GaugeMetricFamily("facediag_analysis_rate", "Scans per second the workers finished over the "
                                 "last SCAN_RATE_WINDOW_SECONDS, at least SCAN_ANALYSIS_RATE.")
        rate.add_metric([], load.rate)
        seconds = GaugeMetricFamily("facediag_backlog_seconds", "Seconds of work waiting: backlog / rate.")
        seconds.add_metric([], load.seconds)
        limit = GaugeMetricFamily("facediag_backlog_limit_seconds", "Uploads are refused (503) above this "
                                  "many seconds of waiting work (SCAN_BACKLOG_LIMIT_SECONDS; 0: never).")
        limit.add_metric([], load.limit_seconds)
        return [backlog, rate, seconds, limit]

    def _model(self) -> list[Metric]:
        from ml.selectors import active_version, shadow_version

        version = active_version()
        active = GaugeMetricFamily("facediag_model_active", "1 when a model version is active, else 0.")
        active.add_metric([], 1 if version is not None else 0)
        info = InfoMetricFamily("facediag_active_model", "The active model version.")
        if version is not None:
            info.add_metric([], {"version": version.name})
        # One series per serving role: the version that answers people and the one measured in its shadow.
        roles = InfoMetricFamily("facediag_model", "The model versions serving, by role (active, shadow).")
        if version is not None:
            roles.add_metric([], {"version": version.name, "role": "active"})
        shadow = shadow_version()
        if shadow is not None:
            roles.add_metric([], {"version": shadow.name, "role": "shadow"})
        return [active, info, roles]


    def _model_health(self) -> list[Metric]:
        from diagnosis.selectors import model_serving

        serving = model_serving()
        failing = GaugeMetricFamily("facediag_model_failing", "1 when the active model failed at least "
                                    "MODEL_FAILING_MIN_SCANS and MODEL_FAILING_SHARE of its recent scans at "
                                    "inference (what /healthz/ reports), else 0.")
        failing.add_metric([], 1 if serving.failing else 0)
        analysed = GaugeMetricFamily("facediag_model_recent_scans", "Scans the active model finished in the "
                                     "last MODEL_HEALTH_WINDOW_SECONDS (at most MODEL_HEALTH_SCANS), by outcome: "
                                     "result or failed at inference.", labels=["outcome"])
        analysed.add_metric(["result"], serving.judged - serving.failed)
        analysed.add_metric(["inference_failed"], serving.failed)
        return [failing, analysed]

    def _oldest_waiting(self) -> list[Metric]:
        from diagnosis.selectors import oldest_waiting_scan_age

        age = GaugeMetricFamily("facediag_oldest_waiting_scan_age_seconds", "Seconds since the oldest scan "
                                "still queued or being analysed was uploaded; 0 when none waits.")
        age.add_metric([], oldest_waiting_scan_age())
        return [age]


_redis_client: dict[str, Any] = {}


def broker_queue_length() -> int | None:
    """LLEN of the default Celery queue on a Redis broker; None for other brokers."""
    url = str(getattr(settings, "CELERY_BROKER_URL", ""))
    if url.startswith("redis+socket://"):  # the embedded default's Redis: redis-py reads the cache's spelling
        url = settings.REDIS_URL
    elif not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    client = _redis_client.get(url)
    if client is None:
        client = _redis_client[url] = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    return int(client.llen(getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")))


def scrape_collectors() -> list[Collector]:
    """What the web's scrape reads from the database and the broker, whatever the registry."""
    from review.metrics import DriftCollector, ReviewAgreementCollector

    return [ScanStateCollector(), DriftCollector(), ReviewAgreementCollector()]


def web_metrics_text() -> bytes:
    return generate_latest(_Combined(process_registry(), scrape_collectors()))


def metrics_response(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(request.META):
        return HttpResponse(FORBIDDEN_TEXT, status=403, content_type="text/plain; charset=utf-8")
    response = HttpResponse(web_metrics_text(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


class MetricsEndpointMiddleware:
    """Answers ``/metrics`` first in the chain: a scraper reaches the pod by IP (no allowed host name) over
    plain HTTP inside the cluster, so the host check and the HTTPS redirect must not see this path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/metrics" and request.method in ("GET", "HEAD"):
            return metrics_response(request)
        return self.get_response(request)


# --- the Celery worker's endpoint ----------------------------------------------------------------------


class _NamelessServerHandler(ServerHandler):
    server_software = None  # type: ignore[assignment]  # wsgiref then writes no Server header


class _QuietHandler(WSGIRequestHandler):
    """No log line per scrape, and no ``Server: WSGIServer/0.2 CPython/3.x`` (the web sends none either)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the stdlib's name)
        pass  # one line per scrape would drown the worker's log

    def send_response(self, code: int, message: str | None = None) -> None:
        # http.server's, without its Server header (used for the errors it answers itself, e.g. a bad request)
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def handle(self) -> None:
        # wsgiref.simple_server's, with a ServerHandler that names no server software
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _NamelessServerHandler(self.rfile, self.wfile,  # type: ignore[arg-type]  # stubs: IO[bytes]
                                         self.get_stderr(), self.get_environ(), multithread=False)
        handler.request_handler = self  # type: ignore[attr-defined]  # backpointer for logging, as wsgiref does
        handler.run(self.server.get_app())  # type: ignore[attr-defined]  # a WSGIServer


def worker_metrics_app() -> Callable[..., Iterable[bytes]]:
    prometheus_app = make_wsgi_app(process_registry())

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").rstrip("/") == "/healthz":  # the kubelet's liveness probe: no data
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        if not scrape_allowed(environ):
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [FORBIDDEN_TEXT]
        return prometheus_app(environ, start_response)

    return app


def start_worker_metrics_server(port: int, addr: str = "0.0.0.0") -> ThreadingWSGIServer | None:
    """Serve every pool process's metrics from the worker's main process, in a daemon thread."""
    if not multiprocess_dir():
        logger.error("worker metrics need PROMETHEUS_MULTIPROC_DIR (a folder shared by the pool processes); "
                     "not serving them on port %d", port)
        return None
    server = make_server(addr, port, worker_metrics_app(), ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("worker metrics on %s:%d/metrics", addr, server.server_port)
    return server


# --- the web's request metrics ---------------------------------------------------------------------------

class PrometheusAfterMiddleware(_PrometheusAfterMiddleware):
    """django_prometheus's, with every ``method`` label one of the known HTTP methods or ``<invalid method>``:
    its latency histogram took the raw method, so random method names made a new series each (10,000 of
    them: 157k series, a 16.6 MB scrape)."""

    def label_metric(self, metric: Any, request: Any, response: Any = None, **labels: Any) -> Any:
        if "method" in labels:
            labels["method"] = self._method(request)
        return super().label_metric(metric, request, response, **labels)
