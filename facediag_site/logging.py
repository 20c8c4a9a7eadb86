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
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
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
        if getattr(record, "request_id", None):
            return True
        record.request_id = ""  # always there: the plain format names it
        try:
            message = record.getMessage()
        except Exception:
            message = ""
        scan_ids = SCAN_ID.findall(message)
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
