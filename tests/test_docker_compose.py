"""docker-compose.yml must be accepted by the Compose client (there is no Docker engine here)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def compose_command():
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("no Docker Compose client installed")


def test_compose_file_is_valid_and_has_health_checks():
    env = {**os.environ, "DJANGO_SECRET_KEY": "compose-check", "EMAIL_URL": "smtp+tls://u:p@smtp.example.org:587"}
    result = subprocess.run([*compose_command(), "config"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for service in ("web:", "worker:", "redis:", "postgres:"):
        assert service in result.stdout
    assert result.stdout.count("healthcheck:") == 4


def test_compose_requires_an_email_url():
    env = {k: v for k, v in os.environ.items() if k != "EMAIL_URL"}
    env["DJANGO_SECRET_KEY"] = "compose-check"
    result = subprocess.run([*compose_command(), "config"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "EMAIL_URL" in result.stderr
