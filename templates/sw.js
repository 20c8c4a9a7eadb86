{% autoescape off %}// FaceDiag's service worker (served as /sw.js by facediag_site.views.service_worker; version {{ version }}).
// Keeps the app shell (styles, scripts, icons, the face detector, the anonymous offline pages) so the upload
// page opens without a connection; photos taken then wait in IndexedDB (static/js/offline-uploads.js).
// It never keeps a page a person was signed in to (finding M5 of issue 30: those hold their user id and
// CSRF token), nor scans, photos or the API's answers. Every page from the server says who is signed in
// (the FaceDiag-Account header): when that changes, the waiting photos that are not that person's go
// (static/js/offline-store.js), however the session ended.
"use strict";
importScripts("{{ store_url }}");
var SHELL = "facediag-shell-{{ version }}";
var SHELL_FILES = {{ shell_json }};  // kept: PRECACHE at install, the rest the first time they are fetched
var PRECACHE = {{ precache_json }};
var OFFLINE_PAGE = "{{ offline_page }}";
var OFFLINE_PAGES = {{ offline_pages_json }};  // page -> the anonymous page that stands in for it offline
var KEPT_PAGES = {{ kept_pages_json }};  // the anonymous pages kept for offline use (in PRECACHE too)
var LOGOUT_URL = "{{ logout_url }}";
var OFFLINE_LOGOUT_PAGE = "{{ offline_logout_page }}";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(PRECACHE); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {  // older shells, and the signed-in pages once kept
      return name.indexOf("facediag-shell-") === 0 ? name !== SHELL : name.indexOf("facediag-") === 0;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && request.mode === "navigate" && url.pathname === LOGOUT_URL) {
    event.respondWith(logOut(request));
    return;
  }
  if (request.method !== "GET") { return; }
  if (request.mode === "navigate") {
    event.respondWith(page(event, request, url));
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

// The kept pages speak the language of the pages the person reads (Content-Language): they were kept in the
// language of the moment the service worker installed (often a login page's, before the profile's language
// applied), so when the pages' language changes they are kept again, still rendered for nobody.
function followLanguage(language) {
  return caches.open(SHELL).then(function (cache) {
    return cache.match(OFFLINE_PAGE).then(function (kept) {
      if (kept && kept.headers.get("Content-Language") !== language) { return cache.addAll(KEPT_PAGES); }
    });
  }).catch(function () {});
}

// Pages: always the network, never kept; while offline, the anonymous upload page or the offline notice.
function page(event, request, url) {
  return fetch(request).then(function (response) {
    var account = response.headers.get("FaceDiag-Account");  // absent on redirects and the offline pages
    if (account !== null) { event.waitUntil(FaceDiagStore.sessionSeen(account === "none" ? null : account)); }
    var language = response.headers.get("Content-Language");
    if (language && response.ok) { event.waitUntil(followLanguage(language)); }
    return response;
  }).catch(function () {  // a kept page (all anonymous) opens as itself, ignoring its query
    return caches.match(OFFLINE_PAGES[url.pathname] || url.pathname).then(function (hit) {
      return hit || caches.match(OFFLINE_PAGE);
    });
  });
}

// "Log out": the network, as any page. Offline (issue 32, point 9), not the browser's "no internet" page: the
// photos waiting on the device that the person did not keep go now (those kept at the logout dialog stay,
// parked for them: static/js/offline-store.js), and the answer is the page that says the logout finishes
// once the connection returns, and sends it then (static/js/offline-logout.js).
function logOut(request) {
  var choice = request.clone().formData().then(function (form) { return form.get("waiting"); },
                                               function () { return ""; });
  return fetch(request).catch(function () {
    return choice.then(function (waiting) {
      return FaceDiagStore.sessionSeen(null).then(function () {
        return Response.redirect(OFFLINE_LOGOUT_PAGE + "?waiting=" + (waiting === "keep" ? "keep" : "delete"), 303);
      });
    });
  });
}
{% endautoescape %}
