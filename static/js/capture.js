// Guided capture on the upload page (templates/diagnosis/_capture.html): a live camera view with the face
// outline where the browser allows it (else the phone's own camera app), the gallery, a preview with the
// same outline, and checks before the upload. The face is found by the server's own detector, BlazeFace,
// run in the page (static/js/blazeface.js, loaded on first use), and the checks are the server's gates
// (ml/core/decision.photo_gate, sent by the view as "capture-gates"): the face crop's side in the photo's
// pixels, its mean luma and its exposure-corrected sharpness, measured as ml/core/quality.py measures them.
// The live view takes the photo by itself once they all pass, after a countdown the person can cancel; the
// side photos of a three-photo scan use the same camera and checks, each with its own preview. Advice only:
// the server checks again. The upload itself goes through static/js/offline-uploads.js when it is there
// (kept on the device while offline), else as a plain form post.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var input = document.getElementById("id_image");
  var box = document.getElementById("capture");
  if (!form || !input || !box) { return; }
  var camera = document.getElementById("camera-input");
  var choices = document.getElementById("capture-choices");
  var preview = document.getElementById("preview");
  var previewImg = document.getElementById("preview-img");
  var faceBox = document.getElementById("face-box");
  var checks = document.getElementById("photo-checks");
  var button = document.getElementById("upload-button");
  var state = document.getElementById("upload-state");
  var keyField = document.getElementById("id_idempotency_key");
  var live = document.getElementById("camera");
  var video = document.getElementById("camera-video");
  var hint = document.getElementById("camera-hint");
  var GREY_CHROMA = 6, COUNTDOWN_S = 3;
  var gates = JSON.parse(document.getElementById("capture-gates").textContent);
  var text = JSON.parse(document.getElementById("capture-messages").textContent);  // in the page's language
  var objectUrl = null, stream = null, hintTimer = null, detector = null;
  // The camera fills the main photo ("id_image") or a side photo ("image_left", "image_right").
  var target = "id_image", autoOff = false, countdown = null, lastCheck = null;

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }

  // -- face detection (BlazeFace, from this site only) ------------------------------------------------------
  function loadDetector() {
    if (detector) { return detector; }
    detector = new Promise(function (resolve, reject) {
      if (window.FaceDiagBlazeFace) { resolve(window.FaceDiagBlazeFace); return; }
      var script = document.createElement("script");
      script.src = box.dataset.faceScript;
      script.onload = function () { resolve(window.FaceDiagBlazeFace); };
      script.onerror = reject;
      document.head.appendChild(script);
    }).then(function (api) { return api.load(box.dataset.faceGraph); });
    detector.catch(function () { detector = null; });  // offline without the files: try again next time
    return detector;
  }

  // ml/core/preprocess.face_crop_box and central_box, in the pixels read.
  function cropBox(face, w, h) {
    var cx = face.x + face.width / 2, cy = face.y + face.height / 2;
    var side = Math.min(Math.max(face.width, face.height) * (1 + 2 * gates.face_margin), w, h);
    var x0 = Math.max(0, Math.min(Math.max(0, cx - side / 2), w - side));
    var y0 = Math.max(0, Math.min(Math.max(0, cy - side / 2), h - side));
    return intBox(x0, y0, Math.min(w, x0 + side), Math.min(h, y0 + side));
  }
  function centralBox(w, h) {
    var b = gates.border_crop, x0 = w * b, y0 = h * b, cw = w * (1 - 2 * b), ch = h * (1 - 2 * b), side = Math.min(cw, ch);
    x0 += (cw - side) / 2; y0 += (ch - side) / 2;
    return intBox(x0, y0, x0 + side, y0 + side);
  }
  function intBox(x0, y0, x1, y1) {
    x0 = Math.round(x0); y0 = Math.round(y0);
    return { x: x0, y: y0, w: Math.max(x0 + 1, Math.round(x1)) - x0, h: Math.max(y0 + 1, Math.round(y1)) - y0 };
  }

  // ml/core/quality: the region area-resized to QUALITY_SIDE, its grey (BT.601) mean, the variance of its
  // Laplacian (3 x 3, borders reflected), that variance corrected for exposure (quality.sharpness), colour.
  function measure(api, px, r) {
    var n = gates.quality_side, cols = api.resizeTable(r.w, n), rows = api.resizeTable(r.h, n);
    var tmp = new Float32Array(r.h * n * 3), grey = new Float32Array(n * n), data = px.data, chroma = 0;
    var y, x, k, ch;
    for (y = 0; y < r.h; y++) {
      for (x = 0; x < n; x++) {
        var t = cols[x], acc = [0, 0, 0];
        for (k = 0; k < t.length; k += 2) {
          var p = ((r.y + y) * px.width + r.x + t[k]) * 4;
          for (ch = 0; ch < 3; ch++) { acc[ch] += data[p + ch] * t[k + 1]; }
        }
        for (ch = 0; ch < 3; ch++) { tmp[(y * n + x) * 3 + ch] = acc[ch]; }
      }
    }
    var sum = 0;
    for (y = 0; y < n; y++) {
      for (x = 0; x < n; x++) {
        var rgb = [0, 0, 0], tr = rows[y];
        for (k = 0; k < tr.length; k += 2) {
          for (ch = 0; ch < 3; ch++) { rgb[ch] += tmp[(tr[k] * n + x) * 3 + ch] * tr[k + 1]; }
        }
        for (ch = 0; ch < 3; ch++) { rgb[ch] = Math.min(255, Math.max(0, Math.round(rgb[ch]))); }
        var g = Math.round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
        grey[y * n + x] = g; sum += g;
        chroma += Math.max(rgb[0], rgb[1], rgb[2]) - Math.min(rgb[0], rgb[1], rgb[2]);
      }
    }
    var at = function (yy, xx) {  // BORDER_REFLECT_101
      yy = yy < 0 ? -yy : (yy >= n ? 2 * n - 2 - yy : yy);
      xx = xx < 0 ? -xx : (xx >= n ? 2 * n - 2 - xx : xx);
      return grey[yy * n + xx];
    };
    var lap = 0, lapSq = 0;
    for (y = 0; y < n; y++) {
      for (x = 0; x < n; x++) {
        var v = at(y - 1, x) + at(y + 1, x) + at(y, x - 1) + at(y, x + 1) - 4 * grey[y * n + x];
        lap += v; lapSq += v * v;
      }
    }
    var m = n * n, luma = sum / m, variance = lapSq / m - (lap / m) * (lap / m);
    var ref = gates.sharpness_ref_luma, factor = ref / Math.min(Math.max(luma, 1), ref);
    return { luma: luma, laplacian: variance, sharpness: variance * factor * factor, chroma: chroma / m };
  }

  // -> {state: "ok" | "small" | "none", box (the face, in the source's pixels) | null, problem: the first
  // reason the server would refuse the photo ("too_dark", "no_face", "too_small", "blurry") or null, and the
  // measures}. ``live``: a camera frame (no search in tiles for a far face: too slow to repeat).
  function analyse(source, width, height, live) {
    return loadDetector().then(function (api) {
      var px = api.pixels(source, width, height), s = px.scale;
      var found = api.detectFaces(px, true, live), face = found.face, region, state;
      if (face) {
        region = cropBox(face, px.width, px.height);
        state = Math.min(region.w, region.h) * s < gates.min_judge_side ? "small" : "ok";
      } else {
        region = centralBox(px.width, px.height);
        state = found.small ? "small" : "none";
      }
      var q = measure(api, px, region), shown = face || found.small, problem = null;
      if (q.luma < gates.min_luma) { problem = "too_dark"; }
      else if (state === "none") { problem = "no_face"; }
      else if (state === "small") { problem = "too_small"; }
      else if (q.sharpness < gates.min_sharpness) { problem = "blurry"; }
      return { state: state, problem: problem, quality: q,
               box: shown && { x: shown.x * s, y: shown.y * s, width: shown.width * s, height: shown.height * s } };
    });
  }

  // -- choosing a photo ------------------------------------------------------------------------------------
  function setFile(file) {
    if (window.DataTransfer) {
      var transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
    }
    showPreview(file);
  }

  if (choices && camera && window.DataTransfer) {
    choices.hidden = false;
    input.classList.add("visually-hidden");
    input.tabIndex = -1;
    document.getElementById("take-photo").addEventListener("click", function () { openCamera("id_image"); });
    document.getElementById("choose-photo").addEventListener("click", function () { input.click(); });
    camera.addEventListener("change", function () {
      if (camera.files.length) { setFile(camera.files[0]); }
    });
  }
  input.addEventListener("change", function () {
    if (input.files.length) { showPreview(input.files[0]); }
  });

  // -- the live camera (the main photo or a side photo) ---------------------------------------------------
  var countdownBox = document.getElementById("camera-countdown");
  var countdownText = document.getElementById("camera-countdown-text");
  var targetLine = document.getElementById("camera-target");

  // -- the ghost: the person's last photo of this view, faint over the live camera (issue 32) ----------------
  // So a new photo is framed like the last one (distance, angle, where the face sits) and the two compare well.
  // The page lists the photos only when signed in ("capture-ghosts"); a first photo, or the offline stand-in,
  // has none. The photos are never kept offline (private, no-store): offline, one that cannot load is not shown.
  var ghostData = document.getElementById("capture-ghosts");
  var ghosts = ghostData ? JSON.parse(ghostData.textContent) : {};
  var ghost = document.getElementById("camera-ghost");
  var ghostControl = document.getElementById("camera-ghost-control");
  var ghostToggle = document.getElementById("camera-ghost-toggle");
  var ghostOn = true;
  var VIEWS = { id_image: "front", image_left: "left", image_right: "right" };

  function ghostState() {
    ghost.hidden = !ghostOn;
    ghostToggle.setAttribute("aria-pressed", ghostOn ? "true" : "false");
    live.dataset.ghost = ghostOn ? "on" : "off";
  }
  function hideGhost() {
    if (!ghost) { return; }
    ghost.hidden = true;
    ghostControl.hidden = true;
    delete live.dataset.ghost;
  }
  function showGhost(name) {
    if (!ghost || !ghostControl || !ghostToggle) { return; }
    hideGhost();
    var url = ghosts[VIEWS[name]];
    if (!url) { return; }
    ghost.onload = function () { ghostControl.hidden = false; ghostState(); };
    ghost.onerror = hideGhost;  // offline, or the photo has gone since the page was made
    if (ghost.getAttribute("src") !== url) { ghost.src = url; }
    else if (ghost.complete) { if (ghost.naturalWidth) { ghost.onload(); } else { hideGhost(); } }
  }
  if (ghostToggle) {
    ghostToggle.addEventListener("click", function () { ghostOn = !ghostOn; ghostState(); });
  }

  function openCamera(name) {
    target = name || "id_image";
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) || !video) {
      if (target === "id_image") { camera.click(); } else { form.elements[target].click(); }  // the phone's camera app
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 1280 } },
                                          audio: false })
      .then(function (media) {
        closeCamera();
        stream = media;
        autoOff = false;
        lastCheck = null;
        video.srcObject = media;
        live.hidden = false;
        live.dataset.target = target;
        showGhost(target);
        var label = target === "id_image" ? null : document.querySelector("label[for='" + form.elements[target].id + "']");
        targetLine.textContent = label ? label.textContent : "";
        targetLine.hidden = !label;
        if (target === "id_image") { preview.hidden = true; }
        hint.textContent = text.fit_outline;
        video.play().catch(function () {});
        live.scrollIntoView({ block: "nearest" });
        document.getElementById("camera-shutter").focus();
        watchFace();
      })
      .catch(function () { if (target === "id_image") { camera.click(); } });  // refused or no camera
  }

  function closeCamera() {
    stopCountdown();
    if (hintTimer) { clearTimeout(hintTimer); hintTimer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if (video) { video.srcObject = null; }
    if (live) { live.hidden = true; delete live.dataset.face; delete live.dataset.check; hideGhost(); }
  }

  var liveTips = { too_dark: "too_dark_live", no_face: "no_face_live", too_small: "come_closer", blurry: "blurry_live" };

  // A few times a second: is there a face, large, lit and sharp enough for the server to judge the photo?
  // The outline turns green when it is, and the photo is taken after a countdown unless the person cancels.
  function watchFace() {
    if (!stream) { return; }
    var next = function () { hintTimer = setTimeout(watchFace, 300); };
    if (!video.videoWidth) { next(); return; }
    analyse(video, video.videoWidth, video.videoHeight, true).then(function (check) {
      if (!stream) { return; }
      lastCheck = check;
      live.dataset.face = check.state;
      live.dataset.check = check.problem || "ok";
      if (check.problem) {
        stopCountdown();
        hint.textContent = text[liveTips[check.problem]];
      } else if (autoOff) {
        hint.textContent = text.auto_cancelled;  // the shutter button is theirs now
      } else {
        hint.textContent = text.face_ok_live;
        startCountdown();
      }
      next();
    }, next);
  }

  function startCountdown() {
    if (countdown || autoOff) { return; }
    // 3 s, unless the live view says otherwise (data-countdown-seconds: the browser tests set it shorter)
    var seconds = Number(live.dataset.countdownSeconds) || COUNTDOWN_S;
    var end = Date.now() + seconds * 1000, shown = null;
    live.dataset.countdown = "on";
    countdownBox.hidden = false;
    var tick = function () {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) {
        stopCountdown();
        if (lastCheck && !lastCheck.problem && !autoOff) { shoot("auto"); }
        return;
      }
      if (left !== shown) { shown = left; countdownText.textContent = text.countdown.replace("{seconds}", left); }
      countdown = setTimeout(tick, 100);
    };
    tick();
  }

  function stopCountdown() {
    if (countdown) { clearTimeout(countdown); countdown = null; }
    if (live) { delete live.dataset.countdown; }
    if (countdownBox) { countdownBox.hidden = true; }
  }

  function shoot(how) {
    if (!video.videoWidth) { return; }
    var canvas = document.createElement("canvas"), name = target;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);  // as the camera sees it (the view is mirrored)
    canvas.toBlob(function (blob) {
      closeCamera();
      var file = new File([blob], name === "id_image" ? "selfie.jpg" : name.replace("image_", "") + ".jpg", { type: "image/jpeg" });
      if (name === "id_image") { setFile(file); } else { setSideFile(name, file); }
      form.dataset.captured = how;  // once the photo is in place (its checks say "pending" until they ran)
    }, "image/jpeg", 0.92);
  }

  if (live) {
    document.getElementById("camera-shutter").addEventListener("click", function () { shoot("manual"); });
    document.getElementById("camera-close").addEventListener("click", closeCamera);
    document.getElementById("camera-cancel").addEventListener("click", function () {
      autoOff = true;
      stopCountdown();
      hint.textContent = text.auto_cancelled;
      live.dataset.auto = "off";
      document.getElementById("camera-shutter").focus();
    });
  }

  // -- preview and checks ----------------------------------------------------------------------------------
  function showPreview(file) {
    if (objectUrl) { URL.revokeObjectURL(objectUrl); }
    if (keyField) { keyField.value = newKey(); }  // one key per photo: a repeated send makes no second scan
    objectUrl = URL.createObjectURL(file);
    form.dataset.checked = "pending";
    faceBox.hidden = true;
    previewImg.onload = function () { runChecks(previewImg); };
    previewImg.onerror = function () {
      preview.hidden = true;
      report(checks, [{ ok: false, text: text.unreadable }]);
      form.dataset.checked = "warn";
    };
    previewImg.src = objectUrl;
    preview.hidden = false;
  }

  // The checks of a chosen or taken photo: the server's gates, then the face. -> the list, and the face.
  function photoChecks(img) {
    return analyse(img, img.naturalWidth, img.naturalHeight, false).then(function (check) {
      var q = check.quality, results = [];
      if (q.luma < gates.min_luma) { results.push({ ok: false, text: text.too_dark }); }
      else if (q.luma > gates.bright_mean) { results.push({ ok: false, text: text.too_bright }); }
      else { results.push({ ok: true, text: text.light_ok }); }
      if (q.sharpness < gates.min_sharpness) { results.push({ ok: false, text: text.blurry }); }
      else { results.push({ ok: true, text: text.sharp_ok }); }
      if (q.chroma < GREY_CHROMA) { results.push({ ok: false, text: text.no_colour }); }
      if (check.state === "ok") { results.push({ ok: true, text: text.face_ok }); }
      else if (check.state === "small") { results.push({ ok: false, text: text.come_closer_photo }); }
      else { results.push({ ok: false, text: text.no_face }); }
      return { results: results, check: check };
    });
  }

  function runChecks(img) {
    report(checks, [{ ok: true, text: text.looking_for_face, pending: true }]);
    photoChecks(img).then(function (out) {
      form.dataset.face = out.check.state;
      form.dataset.problem = out.check.problem || "";
      drawFaceBox(out.check.box, img);
      report(checks, out.results);
      form.dataset.checked = out.results.every(function (r) { return r.ok; }) ? "ok" : "warn";
    }, function () {
      form.dataset.face = "unknown";  // the detector could not load (offline, first visit): the server checks
      checks.hidden = true;
      form.dataset.checked = "unknown";
    });
  }

  function drawFaceBox(face, img) {
    if (!face) { faceBox.hidden = true; return; }
    var w = img.naturalWidth, h = img.naturalHeight;
    faceBox.style.left = (100 * face.x / w) + "%";
    faceBox.style.top = (100 * face.y / h) + "%";
    faceBox.style.width = (100 * face.width / w) + "%";
    faceBox.style.height = (100 * face.height / h) + "%";
    faceBox.hidden = false;
  }

  function report(list, results) {
    list.textContent = "";
    results.forEach(function (r) {
      var li = document.createElement("li");
      li.textContent = (r.pending ? "… " : (r.ok ? "✓ " : "! ")) + r.text;
      if (!r.ok) { li.className = "bad"; }
      list.appendChild(li);
    });
    if (results.some(function (r) { return !r.ok; })) {
      var hintItem = document.createElement("li");
      hintItem.textContent = text.still_upload;
      list.appendChild(hintItem);
    }
    list.hidden = false;
  }

  // -- the side photos: the same camera and checks, each with its own preview -------------------------------
  var sideUrls = {};
  function setSideFile(name, file) {
    var field = form.elements[name];
    if (window.DataTransfer) {
      var transfer = new DataTransfer();
      transfer.items.add(file);
      field.files = transfer.files;
    }
    showSidePreview(name, file);
  }

  function showSidePreview(name, file) {
    var figure = document.getElementById("preview-" + name);
    if (!figure) { return; }
    var img = figure.querySelector("img"), list = figure.querySelector(".photo-checks");
    if (sideUrls[name]) { URL.revokeObjectURL(sideUrls[name]); }
    sideUrls[name] = URL.createObjectURL(file);
    figure.dataset.checked = "pending";
    img.onload = function () {
      report(list, [{ ok: true, text: text.looking_for_face, pending: true }]);
      photoChecks(img).then(function (out) {
        figure.dataset.face = out.check.state;
        report(list, out.results);
        figure.dataset.checked = out.results.every(function (r) { return r.ok; }) ? "ok" : "warn";
      }, function () { list.hidden = true; figure.dataset.checked = "unknown"; });
    };
    img.onerror = function () { report(list, [{ ok: false, text: text.unreadable }]); figure.dataset.checked = "warn"; };
    img.src = sideUrls[name];
    figure.hidden = false;
  }

  Array.prototype.forEach.call(document.querySelectorAll(".side-camera"), function (button) {
    var name = button.dataset.side, field = form.elements[name];
    if (!field) { return; }
    if (live && navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.DataTransfer) {
      button.hidden = false;
      button.addEventListener("click", function () { openCamera(name); });
    }
    field.addEventListener("change", function () {
      if (field.files.length) { showSidePreview(name, field.files[0]); }
    });
  });

  // -- sending -----------------------------------------------------------------------------------------------
  function busy(on, message) {
    button.disabled = on;
    button.textContent = on ? text.uploading : text.analyse;
    if (on) { form.setAttribute("aria-busy", "true"); } else { form.removeAttribute("aria-busy"); }
    state.textContent = message || "";
  }

  form.addEventListener("submit", function (event) {
    if (!input.files.length) {
      event.preventDefault();
      state.textContent = text.choose_first;
      return;
    }
    closeCamera();
    if (keyField && !keyField.value) { keyField.value = newKey(); }
    var uploads = window.FaceDiagUploads;
    if (!uploads || !uploads.available()) {
      busy(true, text.uploading_long);  // a plain form post; the browser shows the next page
      return;
    }
    event.preventDefault();
    busy(true, text.uploading_long);
    var side = function (name) {  // the optional side photos (templates/diagnosis/_photo_inputs.html)
      var field = form.elements[name];
      return field && field.files && field.files[0] ? field.files[0] : null;
    };
    uploads.submit({ file: input.files[0], left: side("image_left"), right: side("image_right"),
                     note: form.elements.note.value, key: keyField.value })
      .then(function (outcome) {
        if (outcome.url) { window.location.assign(outcome.url); return; }
        // Kept on the device: clear the form for the next photo.
        busy(false, outcome.message);
        form.reset();
        input.value = "";
        preview.hidden = true;
        checks.hidden = true;
        if (keyField) { keyField.value = ""; }
      });
  });
  // While the page is idle and online, fetch the detector's files so the service worker keeps them: the
  // checks then work offline too. (Fetched only, not run: no work for a phone that takes no photo.)
  if (navigator.onLine !== false && "serviceWorker" in navigator) {
    var warm = function () {
      var graph = box.dataset.faceGraph, dir = graph.slice(0, graph.lastIndexOf("/") + 1);
      [box.dataset.faceScript, graph, dir + "blazeface-short.bin", dir + "blazeface-full.bin"].forEach(function (url) {
        fetch(url, { credentials: "same-origin" }).catch(function () {});
      });
    };
    navigator.serviceWorker.ready.then(function () {
      if (window.requestIdleCallback) { requestIdleCallback(warm, { timeout: 5000 }); } else { setTimeout(warm, 2000); }
    });
  }

  // Coming back with the browser's back button: enable the form again.
  window.addEventListener("pageshow", function () { busy(false); });
})();
