"""Optional error tracking: off without SENTRY_DSN; with it, an error reaches the Sentry server (here a local
stand-in on loopback, the true outside boundary) scrubbed of e-mail addresses, tokens and cookies."""

import gzip
import http.server
import threading
import zlib

import pytest
import sentry_sdk

from facediag_site.sentry import init_sentry


class Collector(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802  (the stdlib's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.received.append(body.decode("utf-8", "replace"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_server():
    Collector.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    sentry_sdk.init()  # no DSN: off again for the rest of the session


def test_sentry_is_off_without_a_dsn(settings):
    assert not settings.SENTRY_DSN
    assert not sentry_sdk.get_client().is_active()


def test_an_error_reaches_sentry_without_personal_data(sentry_server):
    port = sentry_server.server_address[1]
    init_sentry(f"http://publickey@127.0.0.1:{port}/1", environment="test")
    try:
        raise RuntimeError("login failed for erin@example.com with token=abcdefghijklmnopqrstuvwxyz")
    except RuntimeError as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)
    payload = "\n".join(Collector.received)
    assert "RuntimeError" in payload and '"environment":"test"' in payload.replace(" ", "")
    assert "erin@example.com" not in payload and "abcdefghijklmnopqrstuvwxyz" not in payload
    assert "[email]" in payload and "[token]" in payload


def _register_with(password, health_note, photo_name):
    """Stands in for a view or serializer whose locals hold what a person typed."""
    raise ValueError("something went wrong while registering")


def test_an_event_carries_no_local_variables(sentry_server):
    """Finding M3 (issue 30): events carried stack-frame locals: a plaintext password from the register
    serializer, a private health note, the photo's file name."""
    port = sentry_server.server_address[1]
    init_sentry(f"http://publickey@127.0.0.1:{port}/1", environment="test")
    # joined at run time: the event's source-context lines must not hold them either
    typed = ["-".join(("plaintext", "Passphrase", "4711")), " ".join(("itchy", "rash")), "_".join(("IMG", "face.jpg"))]
    try:
        _register_with(*typed)
    except ValueError as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)
    payload = "\n".join(Collector.received)
    assert "something went wrong while registering" in payload and "_register_with" in payload
    for secret in typed:
        assert secret not in payload
    assert '"vars"' not in payload


def test_before_send_drops_frame_variables_whatever_sent_them():
    from facediag_site.sentry import before_send

    event = {"exception": {"values": [{"stacktrace": {"frames": [{"function": "f", "vars": {"password": "x1"}}]}}]},
             "threads": {"values": [{"stacktrace": {"frames": [{"function": "g", "vars": {"note": "x2"}}]}}]}}
    cleaned = before_send(event, {})
    assert "vars" not in cleaned["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert "vars" not in cleaned["threads"]["values"][0]["stacktrace"]["frames"][0]
