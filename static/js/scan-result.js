// Result page: one button lays the heatmap over the photo, on the very face crop the model analysed,
// with its legend. Scans from before the crop box was stored swap the photo for the heatmap instead.
// A second button draws the spots the model counted (boxes in the photo's own pixels) on the photo.
(function () {
  "use strict";
  var button = document.getElementById("heatmap-toggle");
  var photo = document.getElementById("scan-photo");
  var heatmap = document.getElementById("scan-heatmap");
  if (!button || !photo || !heatmap) { return; }
  var legend = document.getElementById("heatmap-legend");
  var help = document.getElementById("heatmap-help");
  var caption = document.getElementById("photo-caption");
  var overlay = heatmap.dataset.overlay === "1";
  button.hidden = false;
  button.setAttribute("aria-pressed", "false");

  function show(heat) {
    heatmap.hidden = !heat;
    if (!overlay) { photo.hidden = heat; }
    legend.hidden = !heat;
    help.hidden = !heat;
    button.setAttribute("aria-pressed", heat ? "true" : "false");
    button.textContent = heat ? button.dataset.showPhoto : button.dataset.showHeatmap;
    caption.textContent = heat ? caption.dataset.heatmap : caption.dataset.photo;
  }
  button.addEventListener("click", function () { show(heatmap.hidden); });
})();

(function () {
  "use strict";
  var button = document.getElementById("lesion-toggle");
  var boxes = document.getElementById("lesion-boxes");
  if (!button || !boxes) { return; }
  var help = document.getElementById("lesion-help");
  button.hidden = false;
  button.setAttribute("aria-pressed", "false");
  button.addEventListener("click", function () {
    var show = boxes.hasAttribute("hidden");
    if (show) { boxes.removeAttribute("hidden"); } else { boxes.setAttribute("hidden", ""); }
    if (help) { help.hidden = !show; }
    button.setAttribute("aria-pressed", show ? "true" : "false");
    button.textContent = show ? button.dataset.hide : button.dataset.show;
  });
})();
