"""The run command's supervisor (scripts/run.sh): every part of the product as its own process, watched.

    python -m facediag_site.supervise [--prepare scripts/_prepare.sh] [--host H] [--port P] ...

Starts the embedded Redis when REDIS_URL is not set (facediag_site.embedded_redis), runs ``--prepare``
(migrations, the model) once Redis answers, then the Celery worker, Celery beat (its own process: the
stuck-scan sweeper must not share the worker's fate) and gunicorn. A part that exits is started again after
a short pause; one that exits more than ``--restart-limit`` times within ``--restart-window`` seconds stops
the whole product, loudly, with exit status 1: a product that says it runs must be running. Ctrl-C or
SIGTERM stops the web first and Redis last. Django is never imported here.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from . import embedded_redis

ROOT = Path(__file__).resolve().parent.parent
#: Seconds a part gets to stop on SIGTERM before SIGKILL (a worker finishes its current batch first).
STOP_GRACE_SECONDS = {"web": 20.0, "beat": 10.0, "worker": 45.0, "redis": 15.0}


def say(message: str) -> None:
    print(f"==> supervisor: {message}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM if the supervisor is killed outright (SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: an orphaned part is then stopped by hand


@dataclass
class Part:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path | None = None  # None: the supervisor's own stdout and stderr
    proc: subprocess.Popen[bytes] | None = None
    exits: deque[float] = field(default_factory=deque)
    restart_at: float | None = None

    def start(self) -> None:
        out = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115  (the child keeps it)
        try:
            # A session of its own: Ctrl-C reaches the supervisor only, which stops the parts in order.
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT if out else None,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            if out:
                out.close()
        self.restart_at = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)  # the main process only: a Celery worker then stops its pool itself
        try:
            self.proc.wait(timeout=STOP_GRACE_SECONDS.get(self.name, 15.0))
        except subprocess.TimeoutExpired:
            say(f"{self.name} did not stop in time; killing it")
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever it left behind (pool or gunicorn children)
        except ProcessLookupError:
            pass
        self.proc.wait()


def web_command(host: str, port: int | str, workers: int | str) -> list[str]:
    """The web part's command line: gunicorn with the project's config (gunicorn.conf.py)."""
    venv_bin = Path(sys.executable).parent
    gunicorn = str(venv_bin / "gunicorn") if (venv_bin / "gunicorn").exists() else "gunicorn"
    return [gunicorn, "-c", "gunicorn.conf.py", "facediag_site.wsgi", "--bind", f"{host}:{port}", "--workers",
            str(workers)]


def site_url(host: str, port: int) -> str:
    """The address this run serves the site on, for links in e-mails: an address for every interface
    (0.0.0.0, ::) is reached as localhost on this machine; set FACEDIAG_SITE_URL for a public name."""
    shown = "localhost" if host in ("0.0.0.0", "::", "127.0.0.1", "") else host
    return f"http://{shown}:{port}"


class Supervisor:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.parts: list[Part] = []
        self.stopping = False
        self.failure: str | None = None

    # --- building the parts ---------------------------------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Links in e-mails sent outside a request (reminders) point at where this run serves, unless set.
        env.setdefault("FACEDIAG_SITE_URL", site_url(self.args.host, self.args.port))
        if not env.get("REDIS_URL"):
            env["FACEDIAG_EMBEDDED_REDIS_DIR"] = str(embedded_redis.redis_dir())  # the same socket for every part
        return env

    def build(self) -> None:
        py, env = sys.executable, self.base_env()
        var = ROOT / "var"
        var.mkdir(exist_ok=True)
        metrics = Path(self.args.metrics_dir) if self.args.metrics_dir else None
        if not env.get("REDIS_URL"):
            directory = embedded_redis.redis_dir()
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.parts.append(Part("redis", embedded_redis.server_command(directory), env,
                                   log_path=directory / "redis.log"))
        worker_env = dict(env)
        if metrics:
            worker_env.update(PROMETHEUS_MULTIPROC_DIR=str(metrics / "worker"),
                              WORKER_METRICS_PORT=str(self.args.worker_metrics_port), WORKER_METRICS_ADDR="127.0.0.1")
        self.parts.append(Part("worker", [py, "-m", "celery", "-A", "facediag_site", "worker", "--concurrency",
                                          str(self.args.worker_concurrency), "--loglevel", "INFO"], worker_env))
        self.parts.append(Part("beat", [py, "-m", "celery", "-A", "facediag_site", "beat", "--loglevel", "INFO",
                                        "--schedule", str(var / "celerybeat-schedule")], env))
        if not self.args.no_web:
            web_env = dict(env)
            if metrics:
                web_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics / "web")
            self.parts.append(Part("web", web_command(self.args.host, self.args.port, self.args.web_workers),
                                   web_env))

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)

    # --- running --------------------------------------------------------------------------------------------

    def wait_for_redis(self, timeout: float = 20.0) -> None:
        import redis

        part = self.part("redis")
        assert part is not None
        client = redis.Redis(unix_socket_path=str(embedded_redis.socket_path()), socket_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not part.alive():
                raise RuntimeError(f"the embedded Redis exited:\n{self.log_tail(part)}")
            try:
                if client.ping():
                    return
            except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the embedded Redis did not answer within {timeout:.0f} s:\n{self.log_tail(part)}")

    @staticmethod
    def log_tail(part: Part, lines: int = 20) -> str:
        if not part.log_path or not part.log_path.exists():
            return ""
        return "\n".join(part.log_path.read_text(errors="replace").splitlines()[-lines:])

    def on_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            say(f"{signal.Signals(signum).name}: stopping FaceDiag")
        self.stopping = True

    def start(self) -> None:
        redis_part = self.part("redis")
        if redis_part:
            say(f"starting the embedded Redis on {embedded_redis.socket_path()} (log: {redis_part.log_path})")
            redis_part.start()
            self.wait_for_redis()
        if self.args.prepare:
            done = subprocess.run(["bash", self.args.prepare], cwd=ROOT, env=self.base_env())
            if self.stopping:
                return
            if done.returncode != 0:
                raise RuntimeError(f"{self.args.prepare} failed (exit status {done.returncode})")
        for part in self.parts:
            if part is not redis_part:
                say(f"starting the {part.name}")
                part.start()

    def watch_once(self) -> None:
        now = time.monotonic()
        for part in self.parts:
            if part.restart_at is not None:
                if now >= part.restart_at:
                    say(f"restarting the {part.name}")
                    part.start()
                    if part.name == "redis":
                        self.wait_for_redis()
                continue
            if part.alive() or part.proc is None:
                continue
            code = part.proc.returncode
            try:
                os.killpg(part.proc.pid, signal.SIGKILL)  # orphans (a pool, gunicorn's workers) would hold on
            except ProcessLookupError:
                pass
            part.exits.append(now)
            while part.exits and now - part.exits[0] > self.args.restart_window:
                part.exits.popleft()
            if len(part.exits) > self.args.restart_limit:
                self.failure = (f"the {part.name} exited {len(part.exits)} times within "
                                f"{self.args.restart_window:.0f} s (last exit status {code}); FaceDiag is stopping "
                                "because it cannot keep this part running. See its log above.")
                return
            pause = min(2.0 ** (len(part.exits) - 1), 30.0)
            say(f"the {part.name} exited (status {code}); restarting it in {pause:.0f} s "
                f"({len(part.exits)} of at most {self.args.restart_limit} restarts in "
                f"{self.args.restart_window:.0f} s)")
            part.restart_at = now + pause

    def stop_all(self) -> None:
        for name in ("web", "beat", "worker", "redis"):  # what takes work in first, the queue last
            part = self.part(name)
            if part:
                part.stop()

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.on_signal)
        try:
            self.build()
            self.start()
            if not self.args.no_web:
                say(f"FaceDiag is at http://{self.args.host}:{self.args.port}/  (Ctrl-C stops everything)")
            while not self.stopping and self.failure is None:
                self.watch_once()
                time.sleep(0.5)
        except RuntimeError as exc:
            self.failure = str(exc)
        finally:
            self.stop_all()
        if self.failure:
            print(f"\n*** FaceDiag STOPPED: {self.failure}\n", file=sys.stderr, flush=True)
            return 1
        say("stopped")
        return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", help="a bash script run once Redis answers, before the other parts start")
    parser.add_argument("--host", default=env.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("PORT", "8000")))
    parser.add_argument("--web-workers", type=int, default=int(env.get("WEB_WORKERS", "2")))
    parser.add_argument("--worker-concurrency", type=int, default=int(env.get("WORKER_CONCURRENCY", "1")))
    parser.add_argument("--worker-metrics-port", type=int, default=int(env.get("WORKER_METRICS_PORT", "9808")))
    parser.add_argument("--metrics-dir", help="PROMETHEUS_MULTIPROC_DIR parent: web/ and worker/ under it")
    parser.add_argument("--no-web", action="store_true", help="the worker and beat (and Redis) only")
    parser.add_argument("--restart-limit", type=int, default=int(env.get("FACEDIAG_RESTART_LIMIT", "5")))
    parser.add_argument("--restart-window", type=float,
                        default=float(env.get("FACEDIAG_RESTART_WINDOW_SECONDS", "600")))
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(Supervisor(parse_args()).run())
