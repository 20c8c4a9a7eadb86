// Guided capture on the upload page (templates/diagnosis/_capture.html): a live camera view with the face
// outline where the browser allows it (else the phone's own camera app), the gallery, a preview with the
// same outline, and checks before the upload: darkness, blur, colour (thresholds follow ml/core/quality.py:
// mean luma 50..215, Laplacian variance 60 on a 256 px square) and the face's size, found by a face
// detector shipped with the page (static/vendor/face-api, loaded on first use). Advice only: the server
// checks again. The upload itself goes through static/js/offline-uploads.js when it is there (kept on the
// device while offline), else as a plain form post.
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
  var SIDE = 256, DARK = 50, BRIGHT = 215, BLUR = 60, GREY_CHROMA = 6;
  // A face is "too small" below this share of the photo's shorter side (a face filling the outline is about
  // 0.5), or when its crop (the face box plus 15 % margins) would be under the 128 px below which the server
  // answers "too small to judge" (ml/core/decision.MIN_JUDGE_SIDE, measured in issue 29).
  var MIN_FACE_SHARE = 0.3, MIN_FACE_PIXELS = 128 / 1.3;
  var text = JSON.parse(document.getElementById("capture-messages").textContent);  // in the page's language
  var objectUrl = null, stream = null, hintTimer = null, detector = null;

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }

  // -- face detection (face-api's Tiny Face Detector, from this site only) --------------------------------
  function loadDetector() {
    if (detector) { return detector; }
    detector = new Promise(function (resolve, reject) {
      if (window.faceapi) { resolve(window.faceapi); return; }
      var script = document.createElement("script");
      script.src = box.dataset.faceApi;
      script.onload = function () { resolve(window.faceapi); };
      script.onerror = reject;
      document.head.appendChild(script);
    }).then(function (faceapi) {
      return faceapi.nets.tinyFaceDetector.loadFromUri(box.dataset.faceModel).then(function () { return faceapi; });
    });
    detector.catch(function () { detector = null; });  // offline without the files: try again next time
    return detector;
  }

  // -> {state: "ok" | "small" | "none", box: {x, y, width, height} | null} for an <img>, <video> or <canvas>.
  // ``sizes``: the detector's input sizes to try in turn; a larger one finds smaller (farther) faces.
  function findFace(source, width, height, sizes) {
    sizes = sizes || [416, 608];
    return loadDetector().then(function (faceapi) {
      var attempt = function (i) {
        var options = new faceapi.TinyFaceDetectorOptions({ inputSize: sizes[i], scoreThreshold: 0.5 });
        return faceapi.detectAllFaces(source, options).then(function (faces) {
          return faces.length || i + 1 >= sizes.length ? faces : attempt(i + 1);
        });
      };
      return attempt(0);
    }).then(function (faces) {
      if (!faces.length) { return { state: "none", box: null }; }
      var face = faces.reduce(function (a, b) { return a.box.area >= b.box.area ? a : b; }).box;
      var small = face.height < MIN_FACE_SHARE * Math.min(width, height) || face.height < MIN_FACE_PIXELS;
      return { state: small ? "small" : "ok", box: { x: face.x, y: face.y, width: face.width, height: face.height } };
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
    document.getElementById("take-photo").addEventListener("click", function () { openCamera(); });
    document.getElementById("choose-photo").addEventListener("click", function () { input.click(); });
    camera.addEventListener("change", function () {
      if (camera.files.length) { setFile(camera.files[0]); }
    });
  }
  input.addEventListener("change", function () {
    if (input.files.length) { showPreview(input.files[0]); }
  });

  // -- the live camera -------------------------------------------------------------------------------------
  function openCamera() {
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) || !video) {
      camera.click();  // the phone's own camera app
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 1280 } },
                                          audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        live.hidden = false;
        preview.hidden = true;
        hint.textContent = text.fit_outline;
        video.play().catch(function () {});
        live.scrollIntoView({ block: "nearest" });
        document.getElementById("camera-shutter").focus();
        watchFace();
      })
      .catch(function () { camera.click(); });  // refused or no camera: the camera app instead
  }

  function closeCamera() {
    if (hintTimer) { clearTimeout(hintTimer); hintTimer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if (video) { video.srcObject = null; }
    if (live) { live.hidden = true; delete live.dataset.face; }
  }

  // Every moment or so: is there a face, and is it close enough? The outline turns green when it is.
  function watchFace() {
    if (!stream) { return; }
    var next = function () { hintTimer = setTimeout(watchFace, 700); };
    if (!video.videoWidth) { next(); return; }
    findFace(video, video.videoWidth, video.videoHeight, [320]).then(function (face) {
      if (!stream) { return; }
      live.dataset.face = face.state;
      hint.textContent = face.state === "ok" ? text.face_ok_live : (face.state === "small" ? text.come_closer : text.no_face_live);
      next();
    }, next);
  }

  if (live) {
    document.getElementById("camera-shutter").addEventListener("click", function () {
      if (!video.videoWidth) { return; }
      var canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);  // as the camera sees it (the view is mirrored)
      canvas.toBlob(function (blob) {
        closeCamera();
        setFile(new File([blob], "selfie.jpg", { type: "image/jpeg" }));
      }, "image/jpeg", 0.92);
    });
    document.getElementById("camera-close").addEventListener("click", closeCamera);
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
      report([{ ok: false, text: text.unreadable }]);
      form.dataset.checked = "warn";
    };
    previewImg.src = objectUrl;
    preview.hidden = false;
  }

  function pixelChecks(img) {
    var canvas = document.createElement("canvas");
    canvas.width = SIDE; canvas.height = SIDE;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    // The central part of the photo, where the outline asks for the face.
    var w = img.naturalWidth, h = img.naturalHeight;
    ctx.drawImage(img, w * 0.15, h * 0.1, w * 0.7, h * 0.8, 0, 0, SIDE, SIDE);
    var px = ctx.getImageData(0, 0, SIDE, SIDE).data;
    var grey = new Float32Array(SIDE * SIDE), sum = 0, chroma = 0;
    for (var i = 0, j = 0; i < px.length; i += 4, j++) {
      var r = px[i], g = px[i + 1], b = px[i + 2];
      grey[j] = 0.299 * r + 0.587 * g + 0.114 * b;
      sum += grey[j];
      chroma += Math.max(r, g, b) - Math.min(r, g, b);
    }
    var n = SIDE * SIDE, mean = sum / n;
    var lap = 0, lapSq = 0, m = 0;
    for (var y = 1; y < SIDE - 1; y++) {
      for (var x = 1; x < SIDE - 1; x++) {
        var k = y * SIDE + x;
        var v = grey[k - 1] + grey[k + 1] + grey[k - SIDE] + grey[k + SIDE] - 4 * grey[k];
        lap += v; lapSq += v * v; m++;
      }
    }
    var variance = lapSq / m - (lap / m) * (lap / m);
    var results = [];
    if (mean < DARK) { results.push({ ok: false, text: text.too_dark }); }
    else if (mean > BRIGHT) { results.push({ ok: false, text: text.too_bright }); }
    else { results.push({ ok: true, text: text.light_ok }); }
    if (variance < BLUR) { results.push({ ok: false, text: text.blurry }); }
    else { results.push({ ok: true, text: text.sharp_ok }); }
    if (chroma / n < GREY_CHROMA) { results.push({ ok: false, text: text.no_colour }); }
    return results;
  }

  function runChecks(img) {
    var results = pixelChecks(img);
    report(results.concat([{ ok: true, text: text.looking_for_face, pending: true }]));
    findFace(img, img.naturalWidth, img.naturalHeight).then(function (face) {
      form.dataset.face = face.state;
      if (face.state === "ok") { results.push({ ok: true, text: text.face_ok }); }
      else if (face.state === "small") { results.push({ ok: false, text: text.come_closer_photo }); }
      else { results.push({ ok: false, text: text.no_face }); }
      drawFaceBox(face.box, img);
    }, function () {
      form.dataset.face = "unknown";  // the detector could not load (offline, first visit): the server checks
    }).then(function () {
      report(results);
      form.dataset.checked = results.every(function (r) { return r.ok; }) ? "ok" : "warn";
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

  function report(results) {
    checks.textContent = "";
    results.forEach(function (r) {
      var li = document.createElement("li");
      li.textContent = (r.pending ? "… " : (r.ok ? "✓ " : "! ")) + r.text;
      if (!r.ok) { li.className = "bad"; }
      checks.appendChild(li);
    });
    if (results.some(function (r) { return !r.ok; })) {
      var hintItem = document.createElement("li");
      hintItem.textContent = text.still_upload;
      checks.appendChild(hintItem);
    }
    checks.hidden = false;
  }

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
      var model = box.dataset.faceModel;
      [box.dataset.faceApi, model + "tiny_face_detector_model-weights_manifest.json",
       model + "tiny_face_detector_model.bin"].forEach(function (url) {
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
