"""The offline cache and queue are private (finding M5 of issue 30), in the real browser with its service worker.

No signed-in page is kept by the service worker (the upload page opens offline from an anonymous shell);
when a session ends however it ends (cookies cleared, the account deleted elsewhere) the photos waiting on
the device go; waiting photos belong to one account, each can be deleted, and logging out asks what to do
with them (keep them for this person's next sign-in, or delete them).
"""

import time

import pytest

from diagnosis.models import Scan
from tests.support import browser_log_in, face_like_jpeg, service_worker_ready
from tests.test_browser_mobile import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-secret-42"
MARIA, JUAN = "maria@example.com", "juan@example.com"


@pytest.fixture
def device(chromium):
    """One phone's browser (its own cookies, caches, IndexedDB and service worker)."""
    with chromium.using() as browser:
        context = browser.new_context(viewport={"width": 360, "height": 740})
        context.set_default_timeout(30_000)
        yield context
        context.close()


@pytest.fixture
def maria(django_user_model):
    return django_user_model.objects.create_user(email=MARIA, password=PASSWORD)


@pytest.fixture
def juan(django_user_model):
    return django_user_model.objects.create_user(email=JUAN, password=PASSWORD)


def kept_on_device(page):
    """The photos in the offline queue (IndexedDB), whoever they belong to."""
    return page.evaluate("""() => new Promise((resolve) => {
        const req = indexedDB.open('facediag-uploads');
        req.onupgradeneeded = () => req.transaction.abort();  // no queue at all: do not make one
        req.onerror = () => resolve([]);
        req.onsuccess = () => {
            const db = req.result;
            if (!db.objectStoreNames.contains('pending')) { db.close(); resolve([]); return; }
            const all = db.transaction('pending').objectStore('pending').getAll();
            all.onsuccess = () => { db.close(); resolve(all.result.map(i => ({user: i.user, note: i.note}))); };
        };
    })""")


def wait_until_kept(page, count, timeout=15.0):
    deadline = time.monotonic() + timeout
    while len(kept := kept_on_device(page)) != count:
        assert time.monotonic() < deadline, kept
        page.wait_for_timeout(200)


def click_log_out(page):
    """The Log out button, behind the Menu button at phone width."""
    if page.locator("#menu-toggle").is_visible():
        page.click("#menu-toggle")
    page.click("#logout-form button[type=submit]")


def everything_cached(page):
    """Every response the service worker keeps, as text: {cache name + url: body}."""
    return page.evaluate("""async () => {
        const out = {};
        for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) {
                const response = await cache.match(request);
                const type = response.headers.get('Content-Type') || '';
                out[name + ' ' + new URL(request.url).pathname] = /html|javascript|json/.test(type)
                    ? await response.text() : '';
            }
        }
        return out;
    }""")


def leave_waiting(page, base, tmp_path, note):
    """A photo the server cannot take now (the connection drops as it is sent): it waits on the device."""
    photo = tmp_path / f"{note.replace(' ', '-')}.jpg"
    photo.write_bytes(face_like_jpeg(seed=len(note)))
    page.goto(base + "/scans/new/")
    waiting = "document.querySelectorAll('#pending-list li[data-state=waiting]').length"
    before = len(kept_on_device(page))  # the list on the page may not be drawn yet
    page.set_input_files("#id_image", str(photo))
    page.fill("#id_note", note)
    page.click("#upload-button")
    page.wait_for_function(f"() => {waiting} === {before + 1}")


def refuse_uploads(context):
    """Every upload's connection fails, as on a train (the page's GETs still load)."""
    context.route("**/scans/new/", lambda route: route.abort() if route.request.method == "POST"
                  else route.continue_())


def maria_offline_with_waiting_photos(device, base, tmp_path, *notes):
    """Maria signed in on the device, its service worker in charge, and a photo per note waiting on it (every
    upload's connection fails). Returns her page."""
    page = device.new_page()
    browser_log_in(page, base, MARIA, PASSWORD)
    service_worker_ready(page)
    refuse_uploads(device)
    for note in notes:
        leave_waiting(page, base, tmp_path, note)
    return page


def test_no_signed_in_page_is_kept_yet_the_upload_page_opens_offline(live_server, device, maria, tmp_path):
    page = device.new_page()
    base = live_server.url
    browser_log_in(page, base, MARIA, PASSWORD)
    service_worker_ready(page)
    page.reload()
    page.goto(base + "/scans/")
    page.goto(base + "/accounts/profile/")
    page.goto(base + "/scans/new/")
    page.wait_for_timeout(1000)  # anything the service worker would keep from these visits is kept by now
    csrf = next(c["value"] for c in device.cookies() if c["name"] == "csrftoken")
    kept = everything_cached(page)
    assert kept and all(name.split(" ")[0].startswith("facediag-shell-") for name in kept), sorted(kept)
    personal = {name for name, body in kept.items()
                if f'data-user="{maria.pk}"' in body or csrf in body or 'name="csrfmiddlewaretoken"' in body
                or MARIA in body}
    assert personal == set()

    device.set_offline(True)
    page.goto(base + "/scans/new/")  # the anonymous stand-in: the form, the capture checks, the queue
    assert page.locator("#upload-form").is_visible() and page.locator("#id_image").count() == 1
    assert page.evaluate("document.body.dataset.user") is None
    assert page.locator("input[name=csrfmiddlewaretoken]").count() == 0
    # A photo taken there is kept for the account last signed in on this device...
    photo = tmp_path / "offline.jpg"
    photo.write_bytes(face_like_jpeg())
    page.set_input_files("#id_image", str(photo))
    page.fill("#id_note", "taken offline")
    page.click("#upload-button")
    page.wait_for_selector("#pending-list li[data-state='waiting']")
    assert kept_on_device(page) == [{"user": str(maria.pk), "note": "taken offline"}]
    other = device.new_page()
    other.goto(base + "/scans/")  # any other page: the offline notice
    assert "You are offline" in other.locator("h1").inner_text()
    other.close()
    # ...and sent by the real page, in her session, once the connection returns.
    device.set_offline(False)
    page.wait_for_selector("#pending-list li[data-state='sent']", timeout=60_000)
    assert page.evaluate("document.body.dataset.user") == str(maria.pk)
    assert list(Scan.objects.values_list("owner__email", "note")) == [(MARIA, "taken offline")]


@pytest.mark.parametrize(("how", "next_page"), [
    ("cookies cleared", "/admin/login/"),  # a page that runs none of the site's scripts: the service worker's check
    ("account deleted elsewhere", "/"),  # the site's own page: its check (and the service worker's)
])
def test_a_session_that_ends_takes_the_waiting_photos_with_it(live_server, device, maria, tmp_path, how, next_page):
    base = live_server.url
    page = maria_offline_with_waiting_photos(device, base, tmp_path, "on the train")
    assert [k["note"] for k in kept_on_device(page)] == ["on the train"]
    device.unroute("**/scans/new/")

    if how == "cookies cleared":
        device.clear_cookies()
    else:
        maria.delete()
    page.goto(base + next_page)  # the next page the device opens: nobody is signed in
    wait_until_kept(page, 0)
    assert Scan.objects.count() == 0
    device.set_offline(True)
    page.goto(base + "/scans/new/")  # offline, the stand-in knows nobody: no photo can be kept for anyone
    page.locator("#offline-signed-out").wait_for(state="visible")
    assert page.locator("#upload-form").is_hidden() and page.locator("#pending-list li").count() == 0
    device.set_offline(False)


def test_logging_out_keeps_waiting_photos_for_the_same_person_only(live_server, device, maria, juan, tmp_path):
    base = live_server.url
    page = maria_offline_with_waiting_photos(device, base, tmp_path, "first photo")

    # Logging out asks; she keeps it for her next sign-in on this device.
    click_log_out(page)
    dialog = page.locator("#logout-dialog")
    dialog.wait_for(state="visible")
    assert "1" in dialog.inner_text()
    page.click("#logout-keep")
    page.wait_for_url(base + "/")
    assert page.locator("#logout-form").count() == 0
    page.goto(base + "/login/")
    assert [(k["user"], k["note"]) for k in kept_on_device(page)] == [(str(maria.pk), "first photo")]

    # She signs in again: it is sent, once, as hers.
    device.unroute("**/scans/new/")
    browser_log_in(page, base, MARIA, PASSWORD)
    page.wait_for_selector("#pending-list li[data-state='sent']")
    wait_until_kept(page, 0)
    assert list(Scan.objects.values_list("owner__email", "note")) == [(MARIA, "first photo")]

    # Kept again, but someone else signs in next: hers go, never sent as his.
    refuse_uploads(device)
    leave_waiting(page, base, tmp_path, "second photo")
    click_log_out(page)
    page.click("#logout-keep")
    page.wait_for_url(base + "/")
    device.unroute("**/scans/new/")
    browser_log_in(page, base, JUAN, PASSWORD)
    wait_until_kept(page, 0)
    page.wait_for_timeout(500)
    assert page.locator("#pending-list li").count() == 0
    assert Scan.objects.filter(owner=juan).count() == 0 and Scan.objects.count() == 1


def test_each_waiting_photo_can_be_deleted_and_logging_out_can_delete_them_all(live_server, device, maria, tmp_path):
    base = live_server.url
    page = maria_offline_with_waiting_photos(device, base, tmp_path, "left cheek", "right cheek")
    page.wait_for_function("() => document.querySelectorAll('#pending-list li[data-state=waiting]').length === 2")

    page.locator("#pending-list li").first.get_by_role("button").click()
    page.wait_for_function("() => document.querySelectorAll('#pending-list li').length === 1")
    assert [k["note"] for k in kept_on_device(page)] == ["right cheek"]

    click_log_out(page)
    page.locator("#logout-dialog").wait_for(state="visible")
    assert axe_violations(page, base) == []  # the question is accessible (a labelled modal dialog)
    page.click("#logout-delete")
    page.wait_for_url(base + "/")
    assert page.locator("#logout-form").count() == 0
    wait_until_kept(page, 0)
    assert Scan.objects.count() == 0


def upload_databases(page):
    return page.evaluate("async () => (await indexedDB.databases()).map(d => d.name)")


OFFLINE_LOGOUT_WORDS = {
    "en-gb": ("Logging out", "as soon as this device is back online", "Still offline"),
    "es": ("Cerrando sesión", "en cuanto este dispositivo vuelva a estar en línea", "Sigues sin conexión"),
}


@pytest.mark.parametrize(("choice", "language"), [("keep", "es"), ("delete", "en-gb")])
def test_logging_out_offline_says_so_and_finishes_when_back_online(live_server, device, maria, tmp_path, choice,
                                                                   language):
    """Issue 32, point 9: "Log out" pressed offline landed on the browser's "no internet" page. The service
    worker answers it, in the person's language: the photos they did not keep go at once, and the page says
    the logout finishes when the connection returns, which it then does (the server's Clear-Site-Data too)."""
    base = live_server.url
    maria.language = language
    maria.save(update_fields=["language"])
    heading, pending, still = OFFLINE_LOGOUT_WORDS[language]
    page = maria_offline_with_waiting_photos(device, base, tmp_path, "on the bus")
    device.unroute("**/scans/new/")
    # The offline pages were kept when the service worker installed, on the (English) login page: once her
    # pages come in Spanish they are kept again in it.
    page.wait_for_function("""async (heading) => {
        const kept = await caches.match('/offline/logout/');
        return kept !== undefined && (await kept.text()).includes('<h1>' + heading + '</h1>');
    }""", arg=heading)
    device.set_offline(True)
    click_log_out(page)
    page.locator("#logout-dialog").wait_for(state="visible")
    page.click(f"#logout-{choice}")
    page.wait_for_url(f"{base}/offline/logout/?waiting={choice}")
    assert page.locator("h1").inner_text() == heading
    assert pending in page.locator("#offline-logout-status").inner_text()
    kept = [(k["user"], k["note"]) for k in kept_on_device(page)]
    assert kept == ([(str(maria.pk), "on the bus")] if choice == "keep" else [])
    page.click("#offline-logout-form button")  # still offline: it says so, and stays
    assert still in page.locator("#offline-logout-status").inner_text()
    assert page.url == f"{base}/offline/logout/?waiting={choice}"

    device.set_offline(False)  # the "online" event: the logout is sent, and answered as any logout
    page.wait_for_url(base + "/")
    assert page.locator("#logout-form").count() == 0 and page.locator("body").get_attribute("data-session") == "none"
    page.goto(base + "/scans/")
    assert "/login/" in page.url  # the server's session has ended
    if choice == "keep":  # parked for her next sign-in here
        assert [(k["user"], k["note"]) for k in kept_on_device(page)] == [(str(maria.pk), "on the bus")]
    else:  # Clear-Site-Data "storage" went through the service worker: the photo queue is gone
        assert "facediag-uploads" not in upload_databases(page)
    assert Scan.objects.count() == 0

    page.goto(base + "/offline/logout/")  # the page itself, for nobody: accessible
    assert page.locator("input[name=csrfmiddlewaretoken]").count() == 0
    assert axe_violations(page, base) == []
