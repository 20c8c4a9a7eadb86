// On every page: the phone menu, and the device's time zone for the server.
(function () {
  "use strict";
  // Phones: the navigation folds behind one "Menu" button, so the top bar stays one line in any
  // language and for reviewers (without JavaScript the links simply wrap).
  var bar = document.querySelector(".topbar");
  var toggle = document.getElementById("menu-toggle");
  if (bar && toggle) {
    bar.classList.add("js-menu");
    toggle.addEventListener("click", function () {
      var open = !bar.classList.contains("open");
      bar.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && bar.classList.contains("open")) {
        bar.classList.remove("open");
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }

  // Installable and offline-safe: the service worker keeps the app shell (templates/sw.js).
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
  }
  // This page came from the server, so it says who is signed in (data-session: an id, or "none"): photos
  // waiting on the device that are not theirs go, however the last session ended
  // (static/js/offline-store.js). The offline stand-in of the upload page speaks for nobody (no data-session).
  var store = window.FaceDiagStore, session = document.body.dataset.session;
  if (store && session) {
    store.settled = store.sessionSeen(session === "none" ? null : session);
  }

  // The device's time zone, in a cookie: pages show local times before the person chooses a time zone
  // on the profile page (which then wins; accounts.middleware.ProfileTimeZoneMiddleware).
  if (window.Intl) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("facediag_tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "facediag_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
    }
  }
})();
