// Result page: one button swaps the photo for the heatmap of the same face crop, with its legend.
(function () {
  "use strict";
  var button = document.getElementById("heatmap-toggle");
  var photo = document.getElementById("scan-photo");
  var heatmap = document.getElementById("scan-heatmap");
  if (!button || !photo || !heatmap) { return; }
  var legend = document.getElementById("heatmap-legend");
  var help = document.getElementById("heatmap-help");
  var caption = document.getElementById("photo-caption");
  button.hidden = false;

  function show(heat) {
    heatmap.hidden = !heat;
    photo.hidden = heat;
    legend.hidden = !heat;
    help.hidden = !heat;
    button.textContent = heat ? button.dataset.showPhoto : button.dataset.showHeatmap;
    caption.textContent = heat ? caption.dataset.heatmap : caption.dataset.photo;
  }
  button.addEventListener("click", function () { show(heatmap.hidden); });
})();
