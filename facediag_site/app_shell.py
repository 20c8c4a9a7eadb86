"""The installable app's shell: the files the service worker keeps so the upload page opens offline.

``static/js/offline-uploads.js`` keeps photos taken offline on the device and sends them later; the
service worker (``/sw.js``, ``templates/sw.js``) only makes the pages that take them open without a
connection. It never keeps a page a person was signed in to, nor their scans, photos or API answers: offline,
the upload page is an anonymous stand-in (``/offline/upload/``) that names nobody and holds no CSRF token.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from django.contrib.staticfiles import finders
from django.templatetags.static import static

#: Static files every page or the upload page needs, kept when the service worker installs (small).
PRECACHED_STATIC = (
    "css/app.css",
    "js/site.js",
    "js/capture.js",
    "js/offline-uploads.js",
    "js/offline-store.js",
    "js/offline-logout.js",
    "img/favicon.svg",
    "img/icon-192.png",
    "img/icon-512.png",
    "img/example-good-photo.jpg",
)
#: The face detector (BlazeFace, the server's own, 0.8 MB): kept the first time it is fetched (the upload page
#: fetches it while idle), so a visitor who never takes a photo does not download it.
ON_FIRST_USE_STATIC = (
    "js/blazeface.js",
    "vendor/blazeface/blazeface.json",
    "vendor/blazeface/blazeface-short.bin",
    "vendor/blazeface/blazeface-full.bin",
)
SHELL_STATIC = PRECACHED_STATIC + ON_FIRST_USE_STATIC
#: The only pages kept, all anonymous: the offline notice, the upload page's offline stand-in, and what
#: "Log out" answers offline (the logout finishes once the connection returns).
OFFLINE_PAGE = "/offline/"
OFFLINE_UPLOAD_PAGE = "/offline/upload/"
OFFLINE_LOGOUT_PAGE = "/offline/logout/"
OFFLINE_PAGES = (OFFLINE_PAGE, OFFLINE_UPLOAD_PAGE, OFFLINE_LOGOUT_PAGE)
#: Offline, a page's anonymous stand-in (any other page: the offline notice).
OFFLINE_STAND_INS = {"/scans/new/": OFFLINE_UPLOAD_PAGE}


@lru_cache(maxsize=1)
def shell_version() -> str:
    """Changes whenever a shell file changes, so browsers replace their kept copies."""
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        path = finders.find(name)
        if path:
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:16]


def precached_urls() -> list[str]:
    return [*OFFLINE_PAGES, *[static(name) for name in PRECACHED_STATIC]]


def shell_urls() -> list[str]:
    """Every URL the service worker keeps (at install, or on first use)."""
    return [*OFFLINE_PAGES, *[static(name) for name in SHELL_STATIC]]
