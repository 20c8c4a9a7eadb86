{% autoescape off %}// FaceDiag's service worker (served as /sw.js by facediag_site.views.service_worker; version {{ version }}).
// Keeps the app shell (styles, scripts, icons, the face detector, the offline page) so the upload page opens
// without a connection; photos taken then wait in IndexedDB (static/js/offline-uploads.js). It never keeps
// scans, photos, the API's answers or any page but the upload page.
"use strict";
var SHELL = "facediag-shell-{{ version }}";
var PAGES = "facediag-pages";
var SHELL_FILES = {{ shell_json }};  // kept: PRECACHE at install, the rest the first time they are fetched
var PRECACHE = {{ precache_json }};
var OFFLINE_PAGE = "{{ offline_page }}";
var CACHED_PAGES = {{ cached_pages_json }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(PRECACHE); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("facediag-shell-") === 0 && name !== SHELL;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  if (event.data === "forget-pages") { event.waitUntil(caches.delete(PAGES)); }  // signing out
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    event.respondWith(page(request, url));
  } else if (SHELL_FILES.indexOf(url.pathname) !== -1) {
    event.respondWith(caches.match(request, { ignoreSearch: true }).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(SHELL).then(function (cache) { cache.put(url.pathname, copy); });
        }
        return response;
      });
    }));
  }
  // Everything else (scans, photos, chart data, the API) goes to the network, never into a cache.
});

// Pages: always the network first; while offline, the kept upload page or the offline notice.
function page(request, url) {
  var keep = CACHED_PAGES.indexOf(url.pathname) !== -1;
  return fetch(request).then(function (response) {
    if (keep && response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { cache.put(url.pathname, copy); });
    } else if (keep) {  // sent to the login page (or refused): the session has ended, however it ended
      caches.delete(PAGES);  // the kept page holds the previous person's user id and CSRF token
    }
    return response;
  }).catch(function () {
    return caches.match(keep ? url.pathname : OFFLINE_PAGE).then(function (hit) {
      return hit || caches.match(OFFLINE_PAGE);
    });
  });
}
{% endautoescape %}
