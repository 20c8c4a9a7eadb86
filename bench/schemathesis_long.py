"""A long schemathesis run against the REST API: many more examples per operation than CI.

Usage: python bench/schemathesis_long.py [--examples 200] [--modes positive,negative] [--only scans]

The API runs in this process (Django's WSGI application, no network at all) on a scratch
PostgreSQL database (--db-name, default facediag_schemathesis; user postgres on 127.0.0.1, trust
auth, dropped at the end), Redis database 12 (flushed before and after; uploads queue analysis
tasks there, no worker runs) and a scratch MEDIA_ROOT. One user is created and its access token is
sent with every case. Throttles are raised so the run exercises the views (429 stays documented).

For every operation in /api/schema/ and every generation mode, Hypothesis generates --examples
cases; schemathesis sends each one and runs its checks (no 5xx, documented status codes, content
types, headers, response bodies). For {scan_id} operations, positive cases use one of the user's
real scans (queued, done, failed; re-created when a DELETE removed one) about half the time, so
they do not all end in a 404. The same two leniency checks as api/tests/test_schema.py are
left out. It prints one line per operation and mode (cases, status codes, failures), the first
failures, and a last line:  cases=<n> operations=<n> failures=<n> server_errors=<n>
Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG = "postgresql://postgres@127.0.0.1:5432/{db}"
REDIS_URL = "redis://127.0.0.1:6379/12"


def pg_admin(sql):
    import psycopg

    with psycopg.connect(PG.format(db="postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=200, help="Hypothesis examples per operation and mode")
    ap.add_argument("--modes", default="positive,negative")
    ap.add_argument("--only", default="", help="run only operations whose path contains this text")
    ap.add_argument("--db-name", default="facediag_schemathesis")
    ap.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    ap.add_argument("--show", type=int, default=20, help="failures to print in full")
    args = ap.parse_args(argv)
    assert 1 <= args.examples <= 100_000

    scratch = Path(tempfile.mkdtemp(prefix="facediag-schemathesis-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="facediag_site.test_settings",  # fast password hashing, file storage
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=PG.format(db=args.db_name),
        REDIS_URL=REDIS_URL,
        DJANGO_MEDIA_ROOT=str(scratch / "media"),
        DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1,testserver",
        THROTTLE_UPLOADS="1000000/hour",
        THROTTLE_AUTH="1000000/minute",
        THROTTLE_REGISTER="1000000/hour",
        AUTH_RATE_LIMIT_PER_IP="100000000",
        AUTH_RATE_LIMIT_PER_ACCOUNT="100000000",
        LOGIN_FAILURE_LIMIT="100000000",
        JWT_ACCESS_MINUTES="1440",
        LOG_LEVEL="CRITICAL",
    )
    import redis

    redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()
    pg_admin(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
    pg_admin(f'CREATE DATABASE "{args.db_name}"')
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        pg_admin(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()
        shutil.rmtree(scratch, ignore_errors=True)


def run(args):
    import django

    django.setup()
    import schemathesis
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st
    from rest_framework_simplejwt.tokens import RefreshToken
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi import checks

    call_command("migrate", verbosity=0, interactive=False)
    import logging
    import traceback

    from django.core.signals import got_request_exception

    server_tracebacks = Counter()  # the server side of every 5xx, by its last frames

    def on_exception(sender, request=None, **kwargs):
        server_tracebacks["".join(traceback.format_exc(limit=-6))] += 1

    got_request_exception.connect(on_exception, weak=False)

    class KeepTracebacks(logging.Handler):  # the API's own handler logs its 500s as "unhandled API error"
        def emit(self, record):
            if record.exc_info:
                server_tracebacks["".join(traceback.format_exception(*record.exc_info, limit=-6))] += 1

    logging.getLogger("api.errors").addHandler(KeepTracebacks(logging.ERROR))
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(email="schemathesis@example.com", password="correct horse battery")
    bearer = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}
    scan_ids = ["", "", ""]  # real scans of the user (queued, done with a heatmap, failed)

    def ensure_scans():
        """(Re)create the user's scans, so {scan_id} operations also reach past the 404."""
        from diagnosis.models import Scan
        from diagnosis.tests.factories import make_scan

        kinds = [{}, {"status": Scan.Status.DONE, "heatmap": True}, {"status": Scan.Status.FAILED}]
        for i, kind in enumerate(kinds):
            if not Scan.objects.filter(id=scan_ids[i] or None, owner=user).exists():
                scan_ids[i] = str(make_scan(user, **kind).id)

    def with_real_id(case_and_index):
        case, index = case_and_index
        case.path_parameters["scan_id"] = scan_ids[index]
        return case

    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if args.only in op.path]
    modes = [GenerationMode(m.strip()) for m in args.modes.split(",") if m.strip()]
    excluded = [checks.positive_data_acceptance, checks.negative_data_rejection]

    total_cases, all_statuses, failures = 0, Counter(), []
    started = time.monotonic()
    print(f"{len(operations)} operations x {len(modes)} modes x {args.examples} examples", flush=True)

    def run_operation(operation, mode):
        """(cases, status counts, failures) of one operation in one generation mode."""
        counts = {"cases": 0}
        statuses, op_failures = Counter(), []

        strategy = operation.as_strategy(generation_mode=mode)
        if "{scan_id}" in operation.path and mode == GenerationMode.POSITIVE:
            strategy = st.one_of(strategy, st.tuples(strategy, st.integers(0, 2)).map(with_real_id))

        @settings(
            max_examples=args.examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @given(case=strategy)
        def check(case):
            counts["cases"] += 1
            response = case.call(headers=bearer)
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, excluded_checks=excluded, headers=bearer)
            except BaseException as exc:  # schemathesis raises a FailureGroup (a BaseExceptionGroup)
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                # record and go on: report every failing operation
                op_failures.append(f"{mode.value} {case.method} {case.formatted_path}: {str(exc)[:800]}")

        (seed(args.seed)(check) if args.seed is not None else check)()
        return counts["cases"], statuses, op_failures

    for operation in operations:
        for mode in modes:
            ensure_scans()
            cases, statuses, op_failures = run_operation(operation, mode)
            total_cases += cases
            all_statuses.update(statuses)
            failures += op_failures
            print(
                f"{operation.method.upper():6s} {operation.path:40s} {mode.value:8s} cases={cases:5d} "
                f"failures={len(op_failures):3d} statuses={dict(sorted(statuses.items()))}",
                flush=True,
            )
    elapsed = time.monotonic() - started
    for failure in failures[: args.show]:
        print("\nFAILURE", failure)
    for text, count in server_tracebacks.most_common(5):
        print(f"\nSERVER TRACEBACK (x{count}):\n{text}")
    server_errors = sum(n for code, n in all_statuses.items() if code >= 500)
    print(f"\nstatus codes: {dict(sorted(all_statuses.items()))}; {elapsed:.0f} s")
    print(f"cases={total_cases} operations={len(operations)} failures={len(failures)} server_errors={server_errors}")
    return 1 if failures or server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
