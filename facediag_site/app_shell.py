"""The installable app's shell: the files the service worker keeps so the upload page opens offline.

``static/js/offline-uploads.js`` keeps photos taken offline on the device and sends them later; the
service worker (``/sw.js``, ``templates/sw.js``) only makes the pages that take them open without a
connection. It never keeps a person's scans, photos or API answers.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from django.contrib.staticfiles import finders
from django.templatetags.static import static

#: Static files every page or the upload page needs, kept at install time.
SHELL_STATIC = (
    "css/app.css",
    "js/site.js",
    "js/capture.js",
    "js/offline-uploads.js",
    "img/favicon.svg",
    "img/icon-192.png",
    "img/icon-512.png",
    "img/example-good-photo.jpg",
    "manifest.webmanifest",
    "vendor/face-api/face-api.js",
    "vendor/face-api/model/tiny_face_detector_model-weights_manifest.json",
    "vendor/face-api/model/tiny_face_detector_model.bin",
)
#: Pages kept for offline use: the offline notice (anonymous) and, once opened online, the upload page.
OFFLINE_PAGE = "/offline/"
CACHED_PAGES = ("/scans/new/",)


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


def shell_urls() -> list[str]:
    return [OFFLINE_PAGE, *[static(name) for name in SHELL_STATIC]]
