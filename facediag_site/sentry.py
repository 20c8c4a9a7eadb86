"""Optional error tracking with sentry-sdk (only when SENTRY_DSN is set): Django and Celery errors, with no
personal data: no default PII, no stack-frame local variables (a serializer's plaintext password, a health
note, a photo's file name), and every string of an event scrubbed like the logs before it leaves."""

from __future__ import annotations

from typing import Any

from .logging import redact


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


def _frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    stacks = [value.get("stacktrace") for value in (event.get("exception") or {}).get("values") or []]
    stacks += [thread.get("stacktrace") for thread in (event.get("threads") or {}).get("values") or []]
    stacks.append(event.get("stacktrace"))
    return [frame for stack in stacks if stack for frame in stack.get("frames") or []]


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    for frame in _frames(event):  # local variables are off at init; this holds even if a version sends them
        frame.pop("vars", None)
    event = scrub(event)
    request = event.get("request") or {}
    for key in ("cookies", "data"):  # session cookies and form bodies (passwords, notes) stay home
        request.pop(key, None)
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in ("authorization", "cookie", "x-csrftoken"):
            headers[name] = "[removed]"
    event.pop("user", None)
    return event


def init_sentry(dsn: str, *, environment: str = "production", traces_sample_rate: float = 0.0) -> None:
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        include_local_variables=False,  # frames' locals carry what people typed (passwords, notes)
        traces_sample_rate=traces_sample_rate,
        before_send=before_send,  # type: ignore[arg-type]
        max_request_body_size="never",
    )
