// Uploads that survive a lost connection. A photo is first kept on the device (IndexedDB), then sent with
// its Idempotency-Key; offline it stays "waiting to upload" and is sent by itself when the connection
// returns (the "online" event, page loads, a retry every 30 s). Never twice: one tab at a time holds a
// photo's lock, a sent photo leaves the store before the next round, and the server makes one scan per key
// even if an answer is lost and the photo goes again. Photos are kept per signed-in person and sent only
// in that person's session.
(function () {
  "use strict";
  var user = document.body.dataset.user;
  if (!user || !window.indexedDB || !window.fetch || !window.FormData) { return; }
  var DB = "facediag-uploads", STORE = "pending", RETRY_MS = 30000;
  var uploadUrl = document.body.dataset.uploadUrl;
  var section = document.getElementById("pending-uploads");
  var list = document.getElementById("pending-list");
  var banner = document.getElementById("pending-banner");
  var sentHere = [];  // {key, url, thumb}: shown as "sent" until the page is left
  var dbPromise = null, flushing = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB, 1);
        req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "key" }); };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }

  function mine() {
    return tx("readonly", function (store) { return store.getAll(); }).then(function (items) {
      return (items || []).filter(function (item) { return item.user === user; })
        .sort(function (a, b) { return a.created - b.created; });
    });
  }

  function get(key) { return tx("readonly", function (store) { return store.get(key); }); }
  function put(item) { return tx("readwrite", function (store) { return store.put(item); }); }
  function remove(key) { return tx("readwrite", function (store) { return store.delete(key); }); }

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
          if (result.outcome === "refused") {
            item.state = "refused";
            item.error = result.message;
            return put(item).then(function () { return result; });
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

  function flush() {
    if (flushing) { return flushing; }
    if (navigator.onLine === false) { return render(); }
    flushing = mine().then(function (items) {
      var waiting = items.filter(function (item) { return item.state !== "refused"; });
      return waiting.reduce(function (chain, item) {
        return chain.then(function () { return sendKept(item.key); });
      }, Promise.resolve());
    }).catch(function () {}).then(function () {
      flushing = null;
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
    img.src = thumbUrl;
    img.alt = "";
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
      if (banner) { banner.hidden = !items.some(function (item) { return item.state !== "refused"; }); }
      if (!section || !list) { return; }
      list.textContent = "";
      items.forEach(function (item) {
        var refused = item.state === "refused";
        var r = row(URL.createObjectURL(item.blob), refused ? "refused" : "waiting",
                    refused ? label("refused") : label("waiting"));
        r.li.dataset.key = item.key;
        var when = document.createElement("span");
        when.className = "meta";
        when.textContent = " · " + new Date(item.created).toLocaleString(document.documentElement.lang || undefined,
                                                                          { dateStyle: "medium", timeStyle: "short" });
        r.body.appendChild(when);
        if (refused && item.error) {
          var why = document.createElement("p");
          why.className = "error";
          why.textContent = item.error;
          r.body.appendChild(why);
          var drop = document.createElement("button");
          drop.type = "button";
          drop.className = "secondary";
          drop.textContent = section.dataset.remove;
          drop.addEventListener("click", function () { remove(item.key).then(render); });
          r.body.appendChild(drop);
        }
        list.appendChild(r.li);
      });
      sentHere.forEach(function (sent) {
        var r = row(sent.thumb, "sent", label("sent"), sent.url);
        r.li.dataset.key = sent.key;
        list.appendChild(r.li);
      });
      section.hidden = !items.length && !sentHere.length;
    }).catch(function () {});
  }

  // -- the upload form's way in (static/js/capture.js) ----------------------------------------------------
  window.FaceDiagUploads = {
    available: function () { return true; },
    // Keep first, then send: -> {url} once sent, or {message} when it waits (or was refused).
    submit: function (photo) {
      var form = document.getElementById("upload-form");
      var item = { key: photo.key, user: user, blob: photo.file, name: photo.file.name, note: photo.note,
                   left: photo.left || null, leftName: photo.left ? photo.left.name : "",
                   right: photo.right || null, rightName: photo.right ? photo.right.name : "",
                   created: Date.now(), state: "waiting" };
      return put(item).then(function () {
        if (navigator.onLine === false) {
          return render().then(function () { return { message: form.dataset.offline }; });
        }
        return sendKept(item.key).then(function (result) {
          if (result.outcome === "sent") {
            sentHere = sentHere.filter(function (s) { return s.key !== item.key; });
            return { url: result.url };
          }
          return render().then(function () {
            return { message: result.outcome === "refused" ? result.message : form.dataset.offline };
          });
        });
      }, function () {  // no storage on this device (a private window): send it straight away
        return send(item).then(function (result) {
          return result.outcome === "sent" ? { url: result.url } : { message: result.message || form.dataset.offline };
        });
      });
    }
  };

  window.addEventListener("online", flush);
  window.addEventListener("pageshow", flush);
  setInterval(function () { if (navigator.onLine !== false) { flush(); } }, RETRY_MS);
  flush();
})();
