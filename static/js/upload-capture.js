// Guided capture: camera or gallery, a preview with a face outline, quick checks for darkness, blur and
// colour before the upload (advice only: the server checks again), and an "uploading" state.
// Thresholds follow ml/core/quality.py (mean luma 50..215, Laplacian variance 60 on a 256 px square).
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var input = document.getElementById("id_image");
  if (!form || !input) { return; }
  var camera = document.getElementById("camera-input");
  var choices = document.getElementById("capture-choices");
  var preview = document.getElementById("preview");
  var previewImg = document.getElementById("preview-img");
  var checks = document.getElementById("photo-checks");
  var button = document.getElementById("upload-button");
  var state = document.getElementById("upload-state");
  var SIDE = 256, DARK = 50, BRIGHT = 215, BLUR = 60, GREY_CHROMA = 6;
  var text = JSON.parse(document.getElementById("capture-messages").textContent);  // in the page's language
  var objectUrl = null;

  // Two clear choices instead of the bare file input; the input stays for forms without JavaScript.
  if (choices && camera && window.DataTransfer) {
    choices.hidden = false;
    input.classList.add("visually-hidden");
    input.tabIndex = -1;
    document.getElementById("take-photo").addEventListener("click", function () { camera.click(); });
    document.getElementById("choose-photo").addEventListener("click", function () { input.click(); });
    camera.addEventListener("change", function () {
      if (!camera.files.length) { return; }
      var transfer = new DataTransfer();
      transfer.items.add(camera.files[0]);
      input.files = transfer.files;
      showPreview(input.files[0]);
    });
  }

  input.addEventListener("change", function () {
    if (input.files.length) { showPreview(input.files[0]); }
  });

  function showPreview(file) {
    if (objectUrl) { URL.revokeObjectURL(objectUrl); }
    objectUrl = URL.createObjectURL(file);
    previewImg.onload = function () { runChecks(previewImg); };
    previewImg.onerror = function () {
      preview.hidden = true;
      report([{ ok: false, text: text.unreadable }]);
    };
    previewImg.src = objectUrl;
    preview.hidden = false;
  }

  function runChecks(img) {
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
    report(results);
    form.dataset.checked = results.every(function (r) { return r.ok; }) ? "ok" : "warn";
  }

  function report(results) {
    checks.textContent = "";
    results.forEach(function (r) {
      var li = document.createElement("li");
      li.textContent = (r.ok ? "✓ " : "! ") + r.text;
      if (!r.ok) { li.className = "bad"; }
      checks.appendChild(li);
    });
    var bad = results.some(function (r) { return !r.ok; });
    if (bad) {
      var hint = document.createElement("li");
      hint.textContent = text.still_upload;
      checks.appendChild(hint);
    }
    checks.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    if (!input.files.length) {
      event.preventDefault();
      state.textContent = text.choose_first;
      return;
    }
    button.disabled = true;
    button.textContent = text.uploading;
    form.setAttribute("aria-busy", "true");
    state.textContent = text.uploading_long;
  });
  // Coming back with the browser's back button: enable the form again.
  window.addEventListener("pageshow", function () {
    button.disabled = false;
    button.textContent = text.analyse;
    form.removeAttribute("aria-busy");
  });
})();
