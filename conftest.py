import contextlib
import fcntl
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.support import face_like_jpeg


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Every test writes media under its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def isolated_request_limits(monkeypatch, settings):
    """Every test counts requests (rate limits, throttles, login failures) in its own namespace of the
    real cache, so counters never leak between tests or runs, and clearing them touches nobody else."""
    import uuid

    from django.utils.module_loading import import_string
    from rest_framework.throttling import SimpleRateThrottle

    from accounts import ratelimit

    config = dict(settings.CACHES["default"])
    backend = import_string(config.pop("BACKEND"))(config.pop("LOCATION", ""),
                                                    {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    monkeypatch.setattr(ratelimit, "cache", backend)
    monkeypatch.setattr(SimpleRateThrottle, "cache", backend)
    return backend


class AccountMail:
    """Account e-mails (accounts.services.queue_account_email) leave the request: a worker sends them once the
    request's transaction commits. A test's transaction never commits, so this stands in for the commit and
    the worker: what a request queued is sent at its end (or on ``deliver()``), by the real Celery task run
    eagerly in this process, into Django's test outbox."""

    def __init__(self, outbox):
        self.outbox = outbox

    def deliver(self, **_signal):
        from django.db import connection

        queued = [entry for entry in connection.run_on_commit
                  if getattr(entry[1], "__qualname__", "").startswith("queue_account_email.")]
        connection.run_on_commit[:] = [entry for entry in connection.run_on_commit if entry not in queued]
        for _savepoints, publish, _robust in queued:
            publish()
        return self.outbox


@pytest.fixture
def account_mail(mailoutbox):
    from celery import current_app
    from django.core.signals import request_finished

    mail = AccountMail(mailoutbox)
    eager = current_app.conf.task_always_eager
    current_app.conf.update(CELERY_TASK_ALWAYS_EAGER=True)  # the Django-namespaced key, as settings set it
    request_finished.connect(mail.deliver, dispatch_uid="account-mail-delivery")
    yield mail
    request_finished.disconnect(dispatch_uid="account-mail-delivery")
    current_app.conf.update(CELERY_TASK_ALWAYS_EAGER=eager)


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(email="alice@example.com", password="correct horse battery")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(email="bob@example.com", password="correct horse battery")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def photo_upload():
    def make(data=None, name="face.jpg", content_type="image/jpeg"):
        return SimpleUploadedFile(name, face_like_jpeg() if data is None else data, content_type=content_type)

    return make


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Generated skin images (4 classes x 10, sources src0/src1) and photos with no skin (neg0/neg1): the same
    images the tiny model trains on (``tests.tiny_model.make_skin_data``)."""
    from tests import tiny_model

    return tiny_model.make_skin_data(tmp_path_factory.mktemp("tinydata"))


def _shared_temp(tmp_path_factory):
    """The folder every process of this run shares: the xdist controller's base temp (a worker's parent)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """The xdist controller starts training the tiny model before any worker exists (tests/tiny_model.py)."""
    config = session.config
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "numprocesses", None):
        return
    if config.option.collectonly:
        return
    from tests import tiny_model

    config._tiny_model_training = tiny_model.start_in_background(_shared_temp(config._tmp_path_factory))


def pytest_sessionfinish(session):
    training = getattr(session.config, "_tiny_model_training", None)
    if training is not None and training.poll() is None:
        training.kill()  # a run that ended early (-x, ^C) needs no model
        training.wait()


@pytest.fixture(scope="session")
def tiny_artifact_dir(tmp_path_factory, tiny_dataset, tiny_lesion_data):
    """A small but real VGG16-architecture model (ImageNet base, committed head) trained once per test run:
    in the background from the session's start under xdist, else here; a worker waits on the lock."""
    from tests import tiny_model

    shared = _shared_temp(tmp_path_factory)
    out = tiny_model.model_dir(shared)
    with open(tiny_model.lock_path(shared), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "metadata.json").exists():  # one process, or the background training failed: train here
            data, negatives = tiny_dataset
            tiny_model.train_tiny_model(out, data, negatives, tiny_lesion_data)
    return out


@pytest.fixture(scope="session")
def tiny_lesion_data(tmp_path_factory):
    """A generated skin4-like folder with marked lesions, as the tiny model's lesion head trains on
    (``tests.tiny_model.make_lesion_data``)."""
    from tests import tiny_model

    return tiny_model.make_lesion_data(tmp_path_factory.mktemp("tinylesions"))


@pytest.fixture
def active_model(db, tiny_artifact_dir):
    """Registers and activates the tiny model; returns its ModelVersion."""
    from ml import runtime
    from ml.services import register_model

    version, _ = register_model(tiny_artifact_dir, activate=True)
    runtime.clear_cache()
    yield version
    runtime.clear_cache()


@pytest.fixture
def live_worker(transactional_db, active_model, tmp_path):
    """A real Celery worker process on the test PostgreSQL database and the test Redis broker."""
    from tests.worker import WorkerProcess, flush_broker

    flush_broker()
    worker = WorkerProcess(tmp_path / "worker.log").wait_ready()
    yield worker
    worker.discard()


class SessionChromium:
    """The session's one headless Debian Chromium (never a downloaded browser), and its Playwright.

    Playwright's sync API marks its event loop as running in this thread between calls; Django then refuses
    database calls and other code cannot start a loop. So the mark is set only while a test uses the browser
    (``using()``), and cleared between those tests."""

    def __init__(self, playwright, browser, loop):
        self.playwright, self.browser, self._loop = playwright, browser, loop

    @contextlib.contextmanager
    def using(self):
        import asyncio

        from django.db import connections

        asyncio._set_running_loop(self._loop)
        try:
            yield self.browser
        finally:
            # Opened from Playwright's greenlets, and by the test while the loop is marked running: Django keeps
            # those (asgiref's Local) apart from the thread's own, so both are closed, or an idle one would make
            # PostgreSQL wait 5 s and then refuse pytest-django's DROP DATABASE at the end of the session.
            connections.close_all()
            asyncio._set_running_loop(None)
            connections.close_all()


@pytest.fixture(scope="session")
def chromium():
    """One browser for the whole session (each test gets its own context: cookies and storage of its own);
    starting Chromium for every test cost seconds each."""
    import asyncio
    import os
    import shutil

    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the test's own database calls, while the loop runs
    playwright = sync_playwright().start()
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                         args=["--disable-dev-shm-usage", "--disable-gpu"])
    loop = asyncio._get_running_loop()  # Playwright's, marked running after each of its calls
    assert loop is not None
    session = SessionChromium(playwright, browser, loop)
    asyncio._set_running_loop(None)
    yield session
    asyncio._set_running_loop(session._loop)
    browser.close()
    playwright.stop()


@pytest.fixture
def browser_page(chromium):
    """A page of its own (a fresh context) in the session's Chromium."""
    with chromium.using() as browser:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        context.close()
