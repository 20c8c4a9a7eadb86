// What "Log out" answers while offline (/offline/logout/, kept by the service worker, which answered the
// logout's POST with it and already deleted the waiting photos the person did not keep: templates/sw.js).
// The server's session ends once the connection returns: then this page sends the logout itself, with the
// session's CSRF token (its cookie; the page, kept for nobody, holds none) and the person's choice about
// their waiting photos (?waiting=keep), and the server answers as to any logout (Clear-Site-Data).
(function () {
  "use strict";
  var form = document.getElementById("offline-logout-form");
  if (!form || !window.fetch) { return; }
  var status = document.getElementById("offline-logout-status");
  var RETRY_MS = 30000;
  var sending = false;
  form.elements.waiting.value = new URLSearchParams(window.location.search).get("waiting") === "keep"
    ? "keep" : "delete";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function logOut() {
    if (sending) { return; }
    var token = csrfToken();
    if (!token) { window.location.replace(form.dataset.done); return; }  // no session left to end
    sending = true;
    var field = form.elements.csrfmiddlewaretoken || document.createElement("input");
    field.type = "hidden";
    field.name = "csrfmiddlewaretoken";
    field.value = token;
    form.appendChild(field);
    form.submit();  // still offline: the service worker answers with this page again
  }

  // Back online: the "online" event, or (where it never came) a check now and then.
  function whenReachable() {
    if (navigator.onLine === false || sending) { return; }
    fetch("/healthz/?live=1", { cache: "no-store" }).then(function (response) {
      if (response.ok) { logOut(); }
    }, function () { status.textContent = status.dataset.stillOffline; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (navigator.onLine === false) { status.textContent = status.dataset.stillOffline; } else { logOut(); }
  });
  window.addEventListener("online", whenReachable);
  setInterval(whenReachable, RETRY_MS);
})();
