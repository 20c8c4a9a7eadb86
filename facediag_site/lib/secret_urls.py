"""Credentials in URLs (password-reset, sign-in and unsubscribe links) kept out of logs.

The routes that take a credential are read from the URLconf: any parameter named like ``token``, ``uid``,
``secret`` or ``key``. Their values are replaced by ``[redacted]``, and so is everything after such a
route's fixed prefix when the rest does not resolve (a missing slash, an extra segment). Query strings keep
their parameter names only: a value may be a token, an e-mail address or a ``next`` link holding either.
Used by the access log (facediag_site.web_server) and the logging filter (facediag_site.logging).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[redacted]"
SECRET_PARAMETER = re.compile(r"token|uid|secret|key", re.I)
#: A path, or an absolute http(s) URL, inside free text (a log message, an access-log line).
URL_IN_TEXT = re.compile(r"(?:https?://[^/\s\"'<>]+)?/[^\s\"'<>]*")
#: Before the URLconf can be read: any long segment of token characters is taken for a credential.
TOKEN_LIKE_SEGMENT = re.compile(r"(?<=/)(?=[\w:.-]*\d)(?=[\w:.-]*[A-Za-z])[\w:.-]{16,}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@dataclass(frozen=True)
class SecretRoute:
    regex: re.Pattern[str]  # the whole path, without its leading slash
    secret_groups: tuple[str, ...]
    prefix: str  # the fixed start of the path, up to the first parameter, with its leading slash


def _unescape(fragment: str) -> str:
    return re.sub(r"\\(.)", r"\1", fragment.lstrip("^"))


@functools.cache
def secret_routes() -> tuple[SecretRoute, ...]:
    from django.urls import URLResolver, get_resolver

    found: list[SecretRoute] = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            source = pattern.pattern.regex.pattern.lstrip("^")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + source)
                continue
            full = prefix + source
            regex = re.compile(full)
            secret = tuple(name for name in regex.groupindex if SECRET_PARAMETER.search(name))
            if secret:
                start = full.find("(")
                found.append(SecretRoute(regex, secret, "/" + _unescape(full[: start if start >= 0 else None])))

    walk(get_resolver().url_patterns, "")
    return tuple(found)


def _resolves(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _redact_path_by_heuristic(path: str) -> str:
    return TOKEN_LIKE_SEGMENT.sub(lambda m: m.group(0) if UUID.fullmatch(m.group(0)) else REDACTED, path)


def redact_path(path: str) -> str:
    """``path`` with the credentials of any credential route replaced by ``[redacted]``."""
    try:
        routes = secret_routes()
    except Exception:  # the URLconf cannot be read yet (Django not set up): be conservative
        return _redact_path_by_heuristic(path)
    relative = path.lstrip("/")
    for route in routes:
        match = route.regex.match(relative)
        if match:
            spans = sorted((match.span(name) for name in route.secret_groups), reverse=True)
            for start, end in spans:
                relative = relative[:start] + REDACTED + relative[end:]
            return path[: len(path) - len(path.lstrip("/"))] + relative
    normalised = "/" + relative
    for route in routes:
        if normalised.startswith(route.prefix) and len(normalised) > len(route.prefix):
            try:
                if _resolves(normalised):  # another route under the same prefix (".../reset/done/")
                    return path
            except Exception:
                pass
            return route.prefix + REDACTED
    return path


def redact_query(query: str) -> str:
    """Parameter names kept, values replaced; a part without a name is all value."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        parts.append(f"{name}={REDACTED if value else ''}" if equals else REDACTED)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """A path with its query, or an absolute URL: credentials in the path and every query value redacted."""
    if not url or url == "-":
        return url
    try:
        scheme, netloc, path, query, fragment = urlsplit(url)
    except ValueError:
        return REDACTED
    return urlunsplit((scheme, netloc, redact_path(path), redact_query(query), REDACTED if fragment else ""))


def redact_text(text: str) -> str:
    """Every path or http(s) URL inside free text, redacted as by ``redact_url``."""
    if "/" not in text:
        return text
    return URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
