// Compare page: the before/after slider. The after photo lies over the before photo, cut at --split;
// the range input (keyboard and touch) moves the cut. Without JavaScript the photos stay side by side.
// The after photo is moved, scaled and turned so its face lies over the before face: the server found both
// faces and the transform from the after photo's pixels to the before photo's ("compare-alignment",
// diagnosis/face_alignment.py); here it is composed with how each photo is drawn in the frame (object-fit:
// cover), again whenever the frame changes size.
(function () {
  "use strict";
  var slider = document.getElementById("compare-slider");
  var range = document.getElementById("slider-range");
  var frame = document.getElementById("slider-frame");
  if (!slider || !range || !frame) { return; }
  slider.hidden = false;
  var sideBySide = document.getElementById("compare-side-by-side");
  if (sideBySide) { sideBySide.classList.add("with-slider"); }

  // Read aloud in the page's language ("40 %" in Spanish), as the server writes it (facediag_site/lib/numbers.py).
  var percent = new Intl.NumberFormat(document.documentElement.lang || "en", { style: "percent", maximumFractionDigits: 0 });

  function update() {
    var value = Number(range.value);
    slider.style.setProperty("--split", value + "%");
    range.setAttribute("aria-valuetext", range.dataset.before + " " + percent.format(value / 100) + " · " +
                       range.dataset.after + " " + percent.format((100 - value) / 100));
  }
  range.addEventListener("input", update);
  // Dragging on the photos themselves moves the line too (a phone's thumb lands there first).
  var dragging = false;
  function moveTo(event) {
    var box = frame.getBoundingClientRect();
    var x = Math.min(Math.max(event.clientX - box.left, 0), box.width);
    range.value = String(Math.round(100 * x / box.width));
    update();
  }
  frame.addEventListener("pointerdown", function (event) {
    dragging = true;
    frame.setPointerCapture(event.pointerId);
    moveTo(event);
  });
  frame.addEventListener("pointermove", function (event) { if (dragging) { moveTo(event); } });
  frame.addEventListener("pointerup", function () { dragging = false; });
  frame.addEventListener("pointercancel", function () { dragging = false; });
  update();

  // -- lining the faces up ------------------------------------------------------------------------------------
  var data = document.getElementById("compare-alignment");
  var after = slider.querySelector(".slider-after");
  if (!data || !after) { return; }
  var alignment = JSON.parse(data.textContent);
  // A photo of w x h drawn with object-fit: cover in a W x H frame: p -> k p + o.
  function drawn(size, W, H) {
    var k = Math.max(W / size.width, H / size.height);
    return { k: k, ox: (W - size.width * k) / 2, oy: (H - size.height * k) / 2 };
  }
  function align() {
    var W = frame.clientWidth, H = frame.clientHeight;
    if (!W || !H) { return; }
    var t = alignment.transform, b = drawn(alignment.before, W, H), a = drawn(alignment.after, W, H);
    // On the after image (its own box is the frame's): M = drawn_before . transform . drawn_after^-1.
    var f = b.k * t.scale / a.k, c = f * Math.cos(t.angle), s = f * Math.sin(t.angle);
    var e = b.k * t.tx + b.ox - (c * a.ox - s * a.oy), g = b.k * t.ty + b.oy - (s * a.ox + c * a.oy);
    after.style.transform = "matrix(" + [c, s, -s, c, e, g].map(function (v) { return v.toFixed(5); }).join(", ") + ")";
    slider.dataset.aligned = "true";
  }
  align();
  if (window.ResizeObserver) { new ResizeObserver(align).observe(frame); }
  else { window.addEventListener("resize", align); }
  var note = document.getElementById("compare-aligned");
  if (note) { note.hidden = false; }
})();
