"""gunicorn's side of the web (loaded by gunicorn.conf.py, used by scripts/run.sh and docker-compose).

- ``RedactingLogger``: the access and error logs without credentials. Reset, sign-in and unsubscribe links
  carry theirs in the path, and a page opened from such a link sends it on as the Referer of every request
  it makes; cookies and Authorization headers are credentials too, should a log format name them.
- ``drop_server_header``: responses do not say which server (and version) answered.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger

from .lib import secret_urls

#: Atoms (request and response headers, WSGI environ) whose values are credentials whatever they hold.
CREDENTIAL_ATOMS = ("{cookie}i", "{authorization}i", "{proxy-authorization}i", "{x-csrftoken}i", "{set-cookie}o",
                    "{http_cookie}e", "{http_authorization}e", "{http_proxy_authorization}e",
                    "{http_x_csrftoken}e")
#: Atoms that hold a URL, a path or a query string.
URL_ATOMS = ("U", "f", "{referer}i", "{raw_uri}e", "{path_info}e", "{request_uri}e", "{http_referer}e",
             "{location}o")
QUERY_ATOMS = ("q", "{query_string}e")


class RedactingFilter(logging.Filter):
    """Whatever gunicorn writes (an access line, an error naming the request) goes through secret_urls."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = secret_urls.redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactingFilter) for f in log.filters):
                log.addFilter(RedactingFilter())

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        method, _space, rest = str(atoms.get("r", "")).partition(" ")
        uri, _space, protocol = rest.rpartition(" ")
        atoms["r"] = f"{method} {secret_urls.redact_url(uri)} {protocol}" if uri else secret_urls.redact_text(rest)
        for key in URL_ATOMS:
            if atoms.get(key):
                atoms[key] = secret_urls.redact_url(str(atoms[key]))
        for key in QUERY_ATOMS:
            if atoms.get(key):
                atoms[key] = secret_urls.redact_query(str(atoms[key]))
        for key in CREDENTIAL_ATOMS:
            if atoms.get(key):
                atoms[key] = secret_urls.REDACTED
        return atoms


def drop_server_header() -> None:
    """gunicorn writes ``Server: gunicorn`` itself, below the application, and has no setting to stop it."""
    from gunicorn.http import wsgi

    if getattr(wsgi.Response.default_headers, "drops_server_header", False):
        return
    default_headers = wsgi.Response.default_headers

    def without_server(self: Any) -> list[str]:
        return [line for line in default_headers(self) if not line.lower().startswith("server:")]

    without_server.drops_server_header = True  # type: ignore[attr-defined]
    wsgi.Response.default_headers = without_server
