"""Upload-to-done latency through the REST API, against a running server with a warm worker.

    python bench/api_latency.py http://127.0.0.1:8000 [--runs 20] [--email E --password P] [--image face.jpg]

For each run: POST /api/v1/scans/, then poll GET /api/v1/scans/{id}/ until `done` (or `failed`), timing
from just before the upload to the first poll that sees the result. One warm-up scan runs first and is
not counted. Without --email, a fresh account is registered: confirm its address with the link of the
e-mail (written to var/mail/ by run.sh), then press Enter. The scans are deleted afterwards unless
--keep. Mind the upload throttle (THROTTLE_UPLOADS, 30/hour by default): runs + 1 uploads are made.
Standard library only.
"""

import argparse
import io
import json
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.access = None

    def request(self, method, path, body=None, content_type="application/json", expect=(200,)):
        url = path if path.startswith("http") else self.base + path
        data = json.dumps(body).encode() if content_type == "application/json" and body is not None else body
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.access:
            req.add_header("Authorization", f"Bearer {self.access}")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        if status not in expect:
            sys.exit(f"{method} {url} -> {status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def upload(self, jpeg):
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="face.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + jpeg
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request("POST", "/api/v1/scans/", body, f"multipart/form-data; boundary={boundary}", expect=(202,))


def synthetic_face_jpeg(seed):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array([205, 160, 135], dtype=np.float32) + rng.normal(0, 12, (480, 480, 3)), 0, 255)
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


def one_scan(api, jpeg, poll_interval, timeout):
    started = time.perf_counter()
    accepted = api.upload(jpeg)
    deadline = time.monotonic() + timeout
    while True:
        scan = api.request("GET", accepted["url"])
        if scan["status"] in ("done", "failed"):
            return time.perf_counter() - started, scan
        if time.monotonic() > deadline:
            sys.exit(f"scan {accepted['id']} still {scan['status']} after {timeout}s: is a worker running?")
        time.sleep(poll_interval)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", help="e.g. http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--image", help="a JPEG/PNG to upload (default: a generated skin-toned picture)")
    parser.add_argument("--poll-interval", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--keep", action="store_true", help="do not delete the scans afterwards")
    args = parser.parse_args()

    api = Api(args.base_url)
    email, password = args.email, args.password
    if not email:
        email, password = f"bench-{uuid.uuid4().hex[:10]}@example.com", f"bench {uuid.uuid4().hex}"
        api.request("POST", "/api/v1/auth/register/", {"email": email, "password": password}, expect=(201,))
        input(f"Registered {email} (password {password!r}): open the link of its confirmation e-mail, type the "
              "password there, then press Enter. ")
    tokens = api.request("POST", "/api/v1/auth/token/", {"email": email, "password": password})
    api.access = tokens["access"]

    images = [open(args.image, "rb").read()] if args.image else [synthetic_face_jpeg(i) for i in range(4)]
    _, warm = one_scan(api, images[0], args.poll_interval, args.timeout)  # warm-up, not counted
    urls = [warm["url"]]
    latencies, labels = [], []
    for run in range(args.runs):
        seconds, scan = one_scan(api, images[run % len(images)], args.poll_interval, args.timeout)
        latencies.append(seconds)
        labels.append(scan["label"] if scan["status"] == "done" else "FAILED")
        urls.append(scan["url"])
        print(f"run {run + 1:2d}: {seconds * 1000:7.0f} ms  {scan['status']} {scan['label']}", flush=True)

    if not args.keep:
        for url in urls:
            api.request("DELETE", url, expect=(204,))
    failed = labels.count("FAILED")
    print(
        f"\n{args.runs} scans via {args.base_url}: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"min {min(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        + (f", {failed} FAILED" if failed else "")
    )
    print(f"MEDIAN_MS={statistics.median(latencies) * 1000:.0f}")


if __name__ == "__main__":
    main()
