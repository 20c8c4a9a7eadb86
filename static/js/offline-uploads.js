// Uploads that survive a lost connection. A photo is first kept on the device (IndexedDB, through
// static/js/offline-store.js), then sent with its Idempotency-Key; offline it stays "waiting to upload" and
// is sent by itself when the connection returns (the "online" event, page loads, a retry every 30 s). Never
// twice: one tab at a time holds a photo's lock, a sent photo leaves the store before the next round, and
// the server makes one scan per key even if an answer is lost and the photo goes again.
// Photos belong to one account (finding M5 of issue 30): kept with its id, sent only in its session, each
// can be deleted, and logging out asks what to do with them. Offline, the upload page is an anonymous
// stand-in (/offline/upload/, kept by the service worker): it keeps photos for the account last seen signed
// in on this device and sends nothing; once the connection returns it reloads into the real page.
(function () {
  "use strict";
  var store = window.FaceDiagStore;
  if (!store || !window.indexedDB || !window.fetch || !window.FormData) { return; }
  var standIn = "offlineStandIn" in document.body.dataset;
  var RETRY_MS = 30000;
  var user = standIn ? null : document.body.dataset.user || null;  // the stand-in: the store says, below
  var uploadUrl = document.body.dataset.uploadUrl;
  var section = document.getElementById("pending-uploads");
  var list = document.getElementById("pending-list");
  var banner = document.getElementById("pending-banner");
  var sentHere = [];  // {key, url, thumb}: shown as "sent" until the page is left
  var refusedHere = [];  // {key, message}: refused by the server, deleted from the device, shown on this page
  var flushing = null, ready = null;

  function mine() {
    return store.all().then(function (items) {
      return (items || []).filter(function (item) { return item.user === user && !item.parked; })
        .sort(function (a, b) { return a.created - b.created; });
    });
  }

  var get = store.get, put = store.put, remove = store.remove;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // One try -> "sent" (with the scan's url), "refused" (the server will never take it: its message) or
  // "later" (offline, server trouble, signed out: keep it).
  function send(item) {
    var body = new FormData();
    body.append("image", item.blob, item.name || "photo.jpg");
    if (item.left) { body.append("image_left", item.left, item.leftName || "left.jpg"); }
    if (item.right) { body.append("image_right", item.right, item.rightName || "right.jpg"); }
    body.append("note", item.note || "");
    body.append("idempotency_key", item.key);
    return fetch(uploadUrl, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "Accept": "application/json", "Idempotency-Key": item.key, "X-CSRFToken": csrfToken() }
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") !== -1;
      if (!json) { return { outcome: "later" }; }  // signed out (a redirect) or a proxy's page
      return response.json().then(function (data) {
        if (response.ok && data.url) { return { outcome: "sent", url: data.url }; }
        if (data.retry || response.status === 429 || response.status >= 500) { return { outcome: "later" }; }
        return { outcome: "refused", message: data.error || "" };
      });
    }, function () { return { outcome: "later" }; });
  }

  // Send one kept photo, unless another tab is sending it or it has gone already.
  function sendKept(key) {
    var attempt = function () {
      return get(key).then(function (item) {
        if (!item || item.state === "refused") { return { outcome: "gone" }; }
        return send(item).then(function (result) {
          if (result.outcome === "sent") {
            sentHere.push({ key: key, url: result.url, thumb: URL.createObjectURL(item.blob) });
            return remove(key).then(function () { return result; });
          }
          if (result.outcome === "refused") {  // explained once, on this page, and not kept on the device
            refusedHere.push({ key: key, message: result.message, created: item.created });
            return remove(key).then(function () { return result; });
          }
          return result;
        });
      });
    };
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request("facediag-upload-" + key, { ifAvailable: true }, function (lock) {
        return lock ? attempt() : { outcome: "busy" };
      });
    }
    return attempt();
  }

  // A flush asked for while one runs (the "online" event while a try is still hanging) runs after it,
  // instead of being dropped until the next 30 s retry.
  var flushAgain = false;
  function flush() {
    if (flushing) { flushAgain = true; return flushing; }
    if (navigator.onLine === false || standIn) { return render(); }
    flushing = mine().then(function (items) {
      var waiting = items.filter(function (item) { return item.state !== "refused"; });
      return waiting.reduce(function (chain, item) {
        return chain.then(function () { return sendKept(item.key); });
      }, Promise.resolve());
    }).catch(function () {}).then(function () {
      flushing = null;
      if (flushAgain) { flushAgain = false; return flush(); }
      return render();
    });
    return flushing;
  }

  // -- what the person sees ------------------------------------------------------------------------------
  function label(name) { return section ? section.dataset[name] : ""; }

  function row(thumbUrl, state, text, link) {
    var li = document.createElement("li");
    li.dataset.state = state;
    var img = document.createElement("img");
    img.alt = "";
    if (thumbUrl) { img.src = thumbUrl; } else { img.hidden = true; }  // a refused file may be no picture at all
    var body = document.createElement("div");
    var status = document.createElement(link ? "a" : "span");
    status.className = "pending-state";
    status.textContent = text;
    if (link) { status.href = link; }
    body.appendChild(status);
    li.appendChild(img);
    li.appendChild(body);
    return { li: li, body: body };
  }

  function render() {
    return mine().then(function (items) {
      items = items.filter(function (item) {  // kept refused by an older version of this page: shown once, gone
        if (item.state !== "refused") { return true; }
        refusedHere.push({ key: item.key, message: item.error || "" });
        remove(item.key).catch(function () {});
        return false;
      });
      if (banner) { banner.hidden = !items.length; }
      if (!section || !list) { return; }
      list.textContent = "";
      items.forEach(function (item) {
        var r = row(URL.createObjectURL(item.blob), "waiting", label("waiting"));
        r.li.dataset.key = item.key;
        var when = document.createElement("span");
        when.className = "meta";
        // the pages' style: "7 dic 2026, 00:02" (two-digit hours, 24 h), as facediag_site/lib/dates.py writes it
        when.textContent = " · " + new Date(item.created).toLocaleString(document.documentElement.lang || undefined,
                                                                          { day: "numeric", month: "short", year: "numeric",
                                                                            hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
        r.body.appendChild(when);
        var drop = document.createElement("button");  // every waiting photo can go
        drop.type = "button";
        drop.className = "secondary";
        drop.textContent = section.dataset.remove;
        drop.addEventListener("click", function () {
          remove(item.key).then(render).then(function () { if (list.firstChild) { focusFirstButton(); } });
        });
        r.body.appendChild(drop);
        list.appendChild(r.li);
      });
      sentHere.forEach(function (sent) {
        var r = row(sent.thumb, "sent", label("sent"), sent.url);
        r.li.dataset.key = sent.key;
        list.appendChild(r.li);
      });
      refusedHere.forEach(function (refused) {  // gone from the device already: shown on this page only
        var r = row("", "refused", label("refused"));
        r.li.dataset.key = refused.key;
        if (refused.message) {
          var why = document.createElement("p");
          why.className = "error";
          why.textContent = refused.message;
          r.body.appendChild(why);
        }
        list.appendChild(r.li);
      });
      section.hidden = !items.length && !sentHere.length && !refusedHere.length;
    }).catch(function () {});
  }

  function focusFirstButton() {  // after a delete, keyboard focus stays in the list
    var next = list.querySelector("button");
    if (next) { next.focus(); } else if (section) { section.focus(); }
  }

  // -- the upload form's way in (static/js/capture.js) ----------------------------------------------------
  window.FaceDiagUploads = {
    available: function () { return Boolean(user); },
    // Keep first, then send: -> {url} once sent, or {message} when it waits (or was refused).
    submit: function (photo) { return ready.then(function () { return keepThenSend(photo); }); }
  };

  function keepThenSend(photo) {
    var form = document.getElementById("upload-form");
    var item = { key: photo.key, user: user, blob: photo.file, name: photo.file.name, note: photo.note,
                 left: photo.left || null, leftName: photo.left ? photo.left.name : "",
                 right: photo.right || null, rightName: photo.right ? photo.right.name : "",
                 created: Date.now(), state: "waiting" };
    return put(item).then(function () {
      if (navigator.onLine === false || standIn) {  // the stand-in keeps; the real page sends, later
        return render().then(function () { return { message: form.dataset.offline }; });
      }
      return sendKept(item.key).then(function (result) {
        if (result.outcome === "sent") {
          sentHere = sentHere.filter(function (s) { return s.key !== item.key; });
          return { url: result.url };
        }
        if (result.outcome === "refused") {  // the form says why, once: no card, nothing kept
          refusedHere = refusedHere.filter(function (r) { return r.key !== item.key; });
        }
        return render().then(function () {
          return { message: result.outcome === "refused" ? result.message : form.dataset.offline };
        });
      });
    }, function () {  // no storage on this device (a private window): send it straight away
      if (standIn) { return { message: form.dataset.offline }; }
      return send(item).then(function (result) {
        return result.outcome === "sent" ? { url: result.url } : { message: result.message || form.dataset.offline };
      });
    });
  }

  // -- logging out: the person says what happens to their waiting photos (templates/base.html's dialog) ----
  function askAtLogout() {
    var form = document.getElementById("logout-form");
    var dialog = document.getElementById("logout-dialog");
    if (!form || !dialog || !dialog.showModal) { return; }  // without the dialog the server clears them all
    var choice = form.elements.waiting;
    var leave = function (how) {
      choice.value = how;
      var done = how === "keep" ? store.park(user) : store.removeAll(user);
      done.catch(function () {}).then(function () { form.submit(); });
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      mine().catch(function () { return []; }).then(function (items) {
        if (!items.length) { form.submit(); return; }
        document.getElementById("logout-dialog-count").textContent = String(items.length);
        dialog.showModal();
      });
    });
    document.getElementById("logout-keep").addEventListener("click", function () { leave("keep"); });
    document.getElementById("logout-delete").addEventListener("click", function () { leave("delete"); });
    document.getElementById("logout-cancel").addEventListener("click", function () { dialog.close(); });
  }

  // -- the offline stand-in: back online, the real page (the person's session decides) ---------------------
  function backOnline() {
    var input = document.getElementById("id_image");
    if (navigator.onLine === false || (input && input.files && input.files.length)) { return; }
    fetch("/healthz/?live=1", { cache: "no-store" }).then(function (response) {
      if (response.ok) { window.location.reload(); }
    }, function () {});
  }

  function start() {
    if (standIn) {
      var form = document.getElementById("upload-form");
      var signedOut = document.getElementById("offline-signed-out");
      if (!user) {  // nobody was signed in here: no photo can be kept for anyone
        if (form) { form.hidden = true; }
        if (signedOut) { signedOut.hidden = false; }
        return;
      }
      window.addEventListener("online", backOnline);
      setInterval(backOnline, RETRY_MS);
      return render();
    }
    askAtLogout();
    // "online" can come a moment before requests get through: try again within seconds, not in 30 s.
    window.addEventListener("online", function () {
      [0, 1000, 3000, 7000].forEach(function (ms) { setTimeout(flush, ms); });
    });
    window.addEventListener("pageshow", flush);
    setInterval(function () { if (navigator.onLine !== false) { flush(); } }, RETRY_MS);
    return flush();
  }

  // The page's session first settles the store (static/js/site.js), so nothing of another account shows.
  ready = standIn ? store.account().then(function (account) { user = account; })
    : (store.settled || Promise.resolve()).catch(function () {});
  ready.then(function () { if (user || standIn) { start(); } }).catch(function () {});
})();
