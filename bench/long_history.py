"""Pages with a long history: one user with 1,000 scans; time the pages that list them.

Usage: python bench/long_history.py [--scans 1000] [--runs 30] [--db-name facediag_longhist] [--lesions N]

Self-contained: creates a scratch PostgreSQL database (user postgres on 127.0.0.1, trust auth), migrates it,
seeds --scans finished scans for one user (bulk insert, about a quarter of them reviewed) and a reviewer,
then requests, in-process through Django's test client (no network, no web server in the way):

  history      GET /scans/                    (the web history page, 50 per page)
  chart        GET /scans/chart-data/         (every finished scan's confidence, for the charts)
  api_list     GET /api/v1/scans/?page_size=100  (JWT)
  review_queue GET /review/                   (the reviewer's queue, 100 per page)

Each after 3 warm-up requests, --runs times. Prints, per page, p50/p95/max in ms and the number of SQL
queries, the CPU model and the load average, then drops the database. Goal: p95 <= 150 ms each, and a
query count that does not grow with the number of scans (the tests assert it). ``--lesions N``: every scan
read as acne carries lesion findings of N boxes (the history's lesion chart reads them with the chart data).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

from machine import machine_state

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG = "postgresql://postgres@127.0.0.1:5432/{db}"
GOAL_MS = 150




def pg_admin(sql):
    import psycopg

    with psycopg.connect(PG.format(db="postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def seed(n_scans, lesions=0):
    """One user with n_scans finished scans (newest first over ~3 years), a reviewer, some reviews; with
    ``lesions`` boxes on every acne scan's front photo when ``lesions`` > 0."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from diagnosis.models import CONDITIONS, Scan, ScanPhoto
    from ml.core.lesions import LesionFindings, grade_of
    from ml.models import ModelVersion
    from review.models import Review
    from review.services import ensure_reviewer_group

    group, _ = ensure_reviewer_group()
    owner = User.objects.create_user(email="long-history@example.com", password=secrets.token_urlsafe(12))
    reviewer = User.objects.create_user(email="reviewer@example.com", password=secrets.token_urlsafe(12))
    reviewer.groups.add(group)
    version = ModelVersion.objects.create(name="bench-model", artifact_path="/nowhere", sha256="0" * 64,
                                          classes=list(CONDITIONS))
    rng = random.Random(7)
    now = timezone.now()
    scans, photos = [], []
    for i in range(n_scans):
        weights = [rng.random() for _ in CONDITIONS]
        total = sum(weights)
        probs = {c: round(w / total, 4) for c, w in zip(CONDITIONS, weights, strict=True)}
        label = max(probs, key=probs.get)
        created = now - timedelta(hours=i * 26)
        boxes = tuple((10.0 * k, 20.0, 10.0 * k + 8, 28.0, 0.8) for k in range(lesions))
        found = LesionFindings(lesions, grade_of(lesions), boxes).to_json() if lesions and label == "acne" else None
        quality = {"no_face": False, "blurry": i % 7 == 0, "too_dark": False, "too_bright": False,
                   "too_small": False}
        scan = Scan(owner=owner, status=Scan.Status.DONE, label=label, probabilities=probs,
                    top_probability=probs[label], quality=quality, model_version=version, note=f"note {i}" * (i % 3),
                    completed_at=created + timedelta(seconds=2), attempts=1)
        scans.append(scan)
        photos.append(ScanPhoto(scan=scan, view="front", image=f"scans/bench{i:05d}.jpg",
                                thumbnail=f"thumbs/bench{i:05d}.jpg", heatmap=f"heatmaps/bench{i:05d}.jpg",
                                image_width=1024, image_height=1024, lesions=found, label=label, reason="confident",
                                probabilities=probs, quality=quality, counted=True))
    Scan.objects.bulk_create(scans, batch_size=500)
    ScanPhoto.objects.bulk_create(photos, batch_size=500)
    # auto_now_add ignores the value given: spread created_at over time afterwards, as real history would be.
    for scan in scans:
        Scan.objects.filter(id=scan.id).update(created_at=scan.completed_at - timedelta(seconds=2))
    reviewed = [s for i, s in enumerate(scans) if i % 4 == 0]
    Review.objects.bulk_create([Review(scan=s, reviewer=reviewer, label=s.label) for s in reviewed])
    return owner, reviewer


def timed(client, url, runs, headers=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}
    for _ in range(3):
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, **headers)
        body = response.content
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, **headers)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(round(0.95 * len(times))) - 1)], 1),
        "max_ms": round(times[-1], 1),
        "queries": len(queries),
        "bytes": len(body),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scans", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--db-name", default="facediag_longhist")
    ap.add_argument("--lesions", type=int, default=0, help="boxes on every acne scan's lesion findings")
    args = ap.parse_args(argv)

    os.environ.update(
        DJANGO_SETTINGS_MODULE="facediag_site.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="false",
        DJANGO_READ_DOT_ENV="false",
        DJANGO_ALLOWED_HOSTS="testserver",
        DATABASE_URL=PG.format(db=args.db_name),
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("REDIS_URL", None)  # the pages read no cache; keep the bench off shared Redis
    print(f"[long_history] {machine_state()}", flush=True)
    pg_admin(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
    pg_admin(f'CREATE DATABASE "{args.db_name}"')
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections
        from django.test import Client
        from django.test.utils import setup_test_environment
        from rest_framework_simplejwt.tokens import RefreshToken

        setup_test_environment()
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        owner, reviewer = seed(args.scans, args.lesions)
        print(f"[long_history] seeded {args.scans} scans in {time.perf_counter() - started:.1f} s", flush=True)

        user_client, reviewer_client, api_client = Client(), Client(), Client()
        user_client.force_login(owner)
        reviewer_client.force_login(reviewer)
        token = str(RefreshToken.for_user(owner).access_token)
        results = {
            "history": timed(user_client, "/scans/", args.runs),
            "chart": timed(user_client, "/scans/chart-data/", args.runs),
            "api_list": timed(api_client, "/api/v1/scans/?page_size=100", args.runs,
                              {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
            "review_queue": timed(reviewer_client, "/review/", args.runs),
        }
        connections.close_all()
    finally:
        pg_admin(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
    print(f"[long_history] {machine_state()}", flush=True)
    worst = max(r["p95_ms"] for r in results.values())
    for page, r in results.items():
        print(f"{page}: p50={r['p50_ms']}ms p95={r['p95_ms']}ms max={r['max_ms']}ms queries={r['queries']} "
              f"bytes={r['bytes']}")
    print(f"scans={args.scans} runs={args.runs} worst_p95_ms={worst} goal_ms={GOAL_MS} "
          f"result={'PASS' if worst <= GOAL_MS else 'OVER'}")


if __name__ == "__main__":
    main()
