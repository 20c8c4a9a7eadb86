"""A local S3-compatible server for tests: moto's server mode on a free port, in a thread of the test process.

Workers started by the tests reach it over HTTP like they would reach MinIO or AWS S3.
"""

import urllib.request

import boto3
import environ

BUCKET = "facediag-media-test"


class LocalS3:
    def __init__(self):
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._reset()  # moto keeps its buckets per process: start every test from an empty store
        self.env = {
            "FACEDIAG_S3_BUCKET": BUCKET,
            "FACEDIAG_S3_ENDPOINT_URL": self.endpoint_url,
            "FACEDIAG_S3_REGION": "us-east-1",
            "FACEDIAG_S3_ACCESS_KEY_ID": "test-access-key",
            "FACEDIAG_S3_SECRET_ACCESS_KEY": "test-secret-key",
        }
        self.client = boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
            aws_access_key_id="test-access-key", aws_secret_access_key="test-secret-key",
        )
        self.client.create_bucket(Bucket=BUCKET)

    def keys(self):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def read(self, key):
        return self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def storages_setting(self, monkeypatch):
        """Point this process (and the workers it starts, through the environment) at the bucket."""
        from facediag_site.media_storage import default_storage_config

        for name, value in self.env.items():
            monkeypatch.setenv(name, value)
        return {
            "default": default_storage_config(environ.Env()),
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }

    def _reset(self):
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self):
        if self.server._server_ready_event.is_set():
            self._reset()
            self.server.stop()
