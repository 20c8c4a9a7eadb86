"""Upload-to-result time through the web pages, against a running server with a warm worker.

    python bench/upload_latency.py http://127.0.0.1:8000 --email E --password P [--runs 20] [--image face.jpg]

Logs in like a browser (session cookie + CSRF token), then for each run posts the upload form and
polls the page's status endpoint until `done`/`failed`. One warm-up scan is not counted. Prints the
median, min and max, then `MEDIAN_MS=<n>`. Standard library only; loopback servers only.
"""

import argparse
import http.cookiejar
import json
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from api_latency import synthetic_face_jpeg  # noqa: E402


class Browser:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self):
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def open(self, path, data=None, headers=None):
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        with self.opener.open(req, timeout=60) as resp:
            return resp.geturl(), resp.read()

    def login(self, email, password):
        self.open("/login/")
        form = urllib.parse.urlencode({"username": email, "password": password, "csrfmiddlewaretoken": self.csrf()})
        url, _ = self.open("/login/", form.encode(), {"Referer": self.base + "/login/"})
        if "/login/" in url:
            sys.exit("login failed")

    def upload(self, jpeg):
        self.open("/scans/new/")
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'.encode()
            + f"{self.csrf()}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="face.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode() + jpeg + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        url, _ = self.open("/scans/new/", b"".join(parts), {
            "Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": self.base + "/scans/new/",
        })
        match = re.search(r"/scans/([0-9a-f-]{36})/", url)
        if not match:
            sys.exit(f"upload was not accepted (ended at {url})")
        return match.group(1)


def one_scan(browser, jpeg, poll_interval, timeout):
    started = time.perf_counter()
    scan_id = browser.upload(jpeg)
    deadline = time.monotonic() + timeout
    while True:
        status = json.loads(browser.open(f"/scans/{scan_id}/status/")[1])
        if status["status"] in ("done", "failed"):
            return time.perf_counter() - started, status
        if time.monotonic() > deadline:
            sys.exit(f"scan {scan_id} still {status['status']} after {timeout}s: is a worker running?")
        time.sleep(poll_interval)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--image")
    parser.add_argument("--poll-interval", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    browser = Browser(args.base_url)
    browser.login(args.email, args.password)
    images = [open(args.image, "rb").read()] if args.image else [synthetic_face_jpeg(i) for i in range(4)]
    one_scan(browser, images[0], args.poll_interval, args.timeout)  # warm-up
    latencies = []
    for run in range(args.runs):
        seconds, status = one_scan(browser, images[run % len(images)], args.poll_interval, args.timeout)
        latencies.append(seconds)
        print(f"run {run + 1:2d}: {seconds * 1000:7.0f} ms  {status['status']} {status['label']}", flush=True)
    print(f"\n{args.runs} web uploads: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"min {min(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"MEDIAN_MS={statistics.median(latencies) * 1000:.0f}")


if __name__ == "__main__":
    main()
