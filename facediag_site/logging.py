"""Logs: one JSON object a line, a request id that follows a scan from its upload into the worker, and no
e-mail address or token in any line.

- ``RequestIdMiddleware`` gives every request an id (the client's ``X-Request-ID`` when it is a sane token,
  else a new one), answers it in ``X-Request-ID`` and keeps it in a context variable for the request's lines.
- ``diagnosis.services.enqueue_analysis`` publishes the analysis message inside that request, and the
  ``before_task_publish`` hook below copies the id into the message's headers. In the worker a batch holds
  many scans: ``task_prerun`` maps each scan id of the batch to its message's request id, and
  ``RequestContext`` stamps a line with the request id of the scan it names (the code's rule: lines about a
  scan carry its id). A retry published from the batch keeps the scan's request id.
- ``RedactPersonalData`` scrubs the message, ``JsonFormatter`` every string it writes (tracebacks too).
- ``AccessLogMiddleware`` writes the one line per request (replacing gunicorn's plain access line): request
  id, method, path (its credentials redacted, the query's values too), status, duration in ms. Probes and
  scrapes that pass are DEBUG; a refusal (4xx, a 503 from backpressure) is that one line, not two.
- Celery's own lines name a task id (``Task name[id] received``): it goes under ``task_id``, never
  ``scan_id``; the beat's routine housekeeping tasks (the sweeper every few seconds) log their
  received/succeeded/sent lines at DEBUG: the sweeper itself writes a line when it did something.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from .lib import secret_urls

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
BEARER = re.compile(r"(?i)(bearer\s+|token[\"'=:\s]+)[\w.\-]{16,}")
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")
SCAN_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
#: A client's own request id is kept only when it looks like one (no log injection, no personal data).
CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,63}$")
REQUEST_ID_HEADER = "X-Request-ID"
MESSAGE_HEADER = "facediag_request_id"  # the Celery message header that carries it

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("facediag_request_id", default="")
_batch_request_ids: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "facediag_batch_request_ids", default=None
)


def redact(text: str) -> str:
    return JWT.sub("[token]", BEARER.sub(r"\1[token]", EMAIL.sub("[email]", secret_urls.redact_text(text))))


class RedactPersonalData(logging.Filter):
    """Logs carry ids, never e-mail addresses or tokens: scrub them from every record (and the credentials of
    reset, sign-in and unsubscribe links, which Django names in messages such as a CSRF failure's)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


# --- the request id ---------------------------------------------------------------------------------------


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str:
    return _request_id.get()


@contextmanager
def bound_request_id(request_id: str) -> Iterator[str]:
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


def request_id_for_scan(scan_id: str) -> str:
    """The request id of a scan in the batch this worker process is analysing, else the current request's."""
    batch = _batch_request_ids.get()
    if batch and scan_id in batch:
        return batch[scan_id]
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if CLIENT_REQUEST_ID.match(offered) else new_request_id()
        request.request_id = request_id
        with bound_request_id(request_id):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestContext(logging.Filter):
    """Adds ``request_id`` (and ``scan_id`` when the line names one scan) to every record."""

    def filter(self, record):
        task_id = _celery_task_id(record)
        if getattr(record, "request_id", None):
            return True
        record.request_id = ""  # always there: the plain format names it
        try:
            message = record.getMessage()
        except Exception:
            message = ""
        scan_ids = [s for s in SCAN_ID.findall(message) if s != task_id]  # a task id is no scan id
        batch = _batch_request_ids.get()
        if batch:
            named = [s for s in scan_ids if s in batch]
            if named:
                record.scan_id = named[0]
                record.request_id = batch[named[0]]
                return True
            ids = sorted({r for r in batch.values() if r})
            if len(batch) == 1 and ids:  # a batch of one: every line of it is about that scan
                record.scan_id = next(iter(batch))
                record.request_id = ids[0]
            elif ids:
                record.request_ids = ids  # a line about the whole batch
            return True
        if len(scan_ids) == 1:
            record.scan_id = scan_ids[0]
        request_id = _request_id.get()
        if request_id:
            record.request_id = request_id
        return True


def _celery_task_id(record: logging.LogRecord) -> str:
    """Celery's worker and trace lines carry their task in ``data`` (``{"id", "name", ...}``): its id goes
    under ``task_id`` (and the task's name under ``task``), and ``data`` itself (return values, argument
    reprs) is not written."""
    data = getattr(record, "data", None)
    if not isinstance(data, Mapping) or not data.get("id"):
        return getattr(record, "task_id", "") or ""
    task_id = str(data["id"])
    fields: dict[str, Any] = {"task_id": task_id}
    if data.get("name"):
        fields["task"] = str(data["name"])
    if isinstance(data.get("runtime"), (int, float)):
        fields["runtime_s"] = round(float(data["runtime"]), 3)
    record.__dict__.update(fields)
    del record.__dict__["data"]
    return task_id


#: Tasks beat sends every few seconds or minutes: their routine Celery lines are DEBUG (the task logs itself
#: at INFO when it did something, e.g. "sweeper: 3 stuck scans, 3 re-queued").
ROUTINE_TASKS = ("diagnosis.tasks.requeue_stuck_scans",)
ROUTINE_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace", "celery.worker.request")


class QuietRoutineTasks(logging.Filter):
    """The beat's "Sending due task requeue-stuck-scans", the worker's "Task ...requeue_stuck_scans[…]
    received" and "... succeeded in 0.01s: (0, 0)" every SCAN_SWEEP_INTERVAL_SECONDS would fill a newcomer's
    console: at INFO they are lowered to DEBUG (shown only when LOG_LEVEL=DEBUG). Warnings and errors of
    these tasks (a failure, a retry) stay as they are."""

    def filter(self, record):
        if record.levelno != logging.INFO or not record.name.startswith(ROUTINE_LOGGERS):
            return True
        data = getattr(record, "data", None)
        name = data.get("name", "") if isinstance(data, Mapping) else ""
        if not name:
            try:
                name = record.getMessage()
            except Exception:
                return True
        if not any(task in name for task in ROUTINE_TASKS):  # beat: "Sending due task entry (task name)"
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class OnlyUnhandledErrors(logging.Filter):
    """django.request logs every 4xx/5xx answer ("Service Unavailable: /api/v1/scans/"): the access line
    already says it, so a refusal is one line. Lines with a traceback (an unhandled exception) stay."""

    def filter(self, record):
        return bool(record.exc_info)


# --- the access line ----------------------------------------------------------------------------------------

ACCESS_LOGGER = logging.getLogger("facediag.access")
#: Answered every few seconds to machines (probes, Prometheus): their lines are DEBUG while they pass.
QUIET_PATHS = ("/healthz/", "/healthz", "/metrics")


class AccessLogMiddleware:
    """The first middleware: one line for every request Django answers, /metrics included (answered by a
    middleware further in). ``path`` has the credentials of reset, sign-in and unsubscribe links replaced,
    ``query`` keeps parameter names only. Fields: request_id, method, path, query, status, duration_ms,
    retry_after (a refusal that says when to come back: backpressure, throttles)."""

    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - start) * 1000, 1)
        status = response.status_code
        if request.path in QUIET_PATHS and status < 400:
            level = logging.DEBUG
        elif status >= 500:
            level = logging.WARNING
        else:
            level = logging.INFO
        if not ACCESS_LOGGER.isEnabledFor(level):
            return response
        path = secret_urls.redact_path(request.path)
        fields: dict[str, Any] = {"method": request.method, "path": path, "status": status,
                                   "duration_ms": duration_ms}
        request_id = getattr(request, "request_id", "") or response.get(REQUEST_ID_HEADER, "")
        if request_id:  # /metrics is answered before RequestIdMiddleware: no id
            fields["request_id"] = request_id
        query = request.META.get("QUERY_STRING", "")
        if query:
            fields["query"] = secret_urls.redact_query(query)
        if response.get("Retry-After"):
            fields["retry_after"] = response["Retry-After"]
        ACCESS_LOGGER.log(level, "%s %s %s %.0f ms", request.method, path, status, duration_ms, extra=fields)
        return response


# --- Celery: into the message, out of it in the worker ------------------------------------------------------


def _message_scan_id(body: Any, headers: Mapping[str, Any]) -> str:
    if isinstance(body, (list, tuple)) and body and isinstance(body[0], (list, tuple)) and body[0]:
        return str(body[0][0])  # protocol 2: (args, kwargs, embed)
    found = SCAN_ID.search(str(headers.get("argsrepr") or ""))
    return found.group(0) if found else ""


def add_request_id_header(headers: dict[str, Any] | None = None, body: Any = None, **_kwargs: Any) -> None:
    """before_task_publish: the publishing request's id (or, in a worker, the scan's) goes with the message."""
    if headers is None or headers.get(MESSAGE_HEADER):
        return
    request_id = request_id_for_scan(_message_scan_id(body, headers))
    if request_id:
        headers[MESSAGE_HEADER] = request_id


def bind_batch(args: Any = None, **_kwargs: Any) -> None:
    """task_prerun: map each scan of an analysis batch to its message's request id."""
    requests = args[0] if args and isinstance(args[0], (list, tuple)) else None
    if not requests or not all(hasattr(r, "request_dict") for r in requests):
        return
    mapping = {}
    for request in requests:
        scan_id = (request.args or [None])[0] if request.args else (request.kwargs or {}).get("scan_id")
        if scan_id is not None:
            mapping[str(scan_id)] = str((request.request_dict or {}).get(MESSAGE_HEADER) or "")
    _batch_request_ids.set(mapping)


def unbind_batch(**_kwargs: Any) -> None:
    """task_postrun: lines after the batch belong to no scan."""
    _batch_request_ids.set(None)


# --- formatting ---------------------------------------------------------------------------------------------


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (list, tuple)):
        return [_redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # Any other object (Django's CSRF warning passes the request) is written as its text: redact that text.
    return redact(str(value))


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object a line: timestamp, level, logger, message, process, request_id, scan_id, exc_info."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(["levelname", "name", "message", "process"], *args, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {k: _redact_value(v) for k, v in log_data.items() if v not in ("", None)}

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        try:
            return super().jsonify_log_record(log_data)
        except (TypeError, ValueError):  # a value the encoder cannot write: never lose the line
            return json.dumps({k: str(v) for k, v in log_data.items()}, ensure_ascii=False)
