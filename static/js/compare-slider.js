// Compare page: the before/after slider. The after photo lies over the before photo, cut at --split;
// the range input (keyboard and touch) moves the cut. Without JavaScript the photos stay side by side.
(function () {
  "use strict";
  var slider = document.getElementById("compare-slider");
  var range = document.getElementById("slider-range");
  if (!slider || !range) { return; }
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
    var box = slider.getBoundingClientRect();
    var x = Math.min(Math.max(event.clientX - box.left, 0), box.width);
    range.value = String(Math.round(100 * x / box.width));
    update();
  }
  slider.addEventListener("pointerdown", function (event) {
    if (event.target === range) { return; }
    dragging = true;
    slider.setPointerCapture(event.pointerId);
    moveTo(event);
  });
  slider.addEventListener("pointermove", function (event) { if (dragging) { moveTo(event); } });
  slider.addEventListener("pointerup", function () { dragging = false; });
  slider.addEventListener("pointercancel", function () { dragging = false; });
  update();
})();
