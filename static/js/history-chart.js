// Draws each condition's confidence over time from the chart-data endpoint (Chart.js, vendored).
(function () {
  "use strict";
  var canvas = document.getElementById("history-chart");
  if (!canvas || !window.Chart) { return; }
  var colours = { acne: "#d9534f", eczema: "#f0ad4e", healthy: "#5cb85c", rosacea: "#b05cc6" };
  fetch(canvas.dataset.url, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var labels = data.points.map(function (p) { return new Date(p.created_at).toLocaleDateString(); });
      var datasets = data.classes.map(function (c) {
        return {
          label: c.charAt(0).toUpperCase() + c.slice(1),
          data: data.points.map(function (p) { return Math.round(p.probabilities[c] * 100); }),
          borderColor: colours[c], backgroundColor: colours[c], tension: 0.2
        };
      });
      new window.Chart(canvas, {
        type: "line",
        data: { labels: labels, datasets: datasets },
        options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "Confidence (%)" } } } }
      });
    });
})();
