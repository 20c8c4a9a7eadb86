// The history chart: each condition's match over time (Chart.js, vendored), straight lines between scans
// (no invented values), one condition or all. Dates and times come written by the server (the person's
// time zone and the page's date style, p.when / p.day / p.time), so they read as in the list; numbers are
// formatted in the page's language.
(function () {
  "use strict";
  var canvas = document.getElementById("history-chart");
  if (!canvas) { return; }
  var language = document.documentElement.lang || undefined;

  // The table alternative: the very same points as the chart, one row per scan, dates in the reader's locale.
  function fillTable(data) {
    var body = document.getElementById("chart-table-body");
    if (!body) { return; }
    data.points.forEach(function (p) {
      var row = document.createElement("tr");
      var head = document.createElement("th");
      head.scope = "row";
      var link = document.createElement("a");
      link.href = canvas.dataset.scanUrl.replace("00000000-0000-0000-0000-000000000000", p.scan_id);
      var time = document.createElement("time");
      time.dateTime = p.created_at;
      time.textContent = p.when;
      link.appendChild(time);
      head.appendChild(link);
      row.appendChild(head);
      data.classes.forEach(function (c) {
        var cell = document.createElement("td");
        cell.className = "num";
        cell.textContent = Math.round(p.probabilities[c] * 100) + "%";
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
  }

  // Distinct hues that stay apart for common colour-vision deficiencies (Okabe-Ito), plus point shapes.
  var styles = {
    acne: { colour: "#D55E00", point: "circle" },
    eczema: { colour: "#0072B2", point: "rect" },
    healthy: { colour: "#009E73", point: "triangle" },
    rosacea: { colour: "#CC79A7", point: "rectRot" }
  };
  var picker = document.getElementById("chart-condition");
  var titles = {};  // condition -> its name in the page's language
  (canvas.dataset.titles || "").split("|").forEach(function (pair) {
    var parts = pair.split("=");
    if (parts.length === 2) { titles[parts[0]] = parts[1]; }
  });
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  if (dark) {
    window.Chart.defaults.color = "#e6e9ee";
    window.Chart.defaults.borderColor = "#323b47";
  }

  fetch(canvas.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (data) {
      fillTable(data);
      if (!window.Chart) { return; }
      var labels = data.points.map(function (p) { return [p.day, p.time]; });
      var datasets = data.classes.map(function (c) {
        var style = styles[c] || { colour: "#56606e", point: "circle" };
        return {
          key: c,
          label: titles[c] || c,
          data: data.points.map(function (p) { return Math.round(p.probabilities[c] * 100); }),
          borderColor: style.colour, backgroundColor: style.colour, pointStyle: style.point,
          pointRadius: 4, borderWidth: 2, tension: 0, spanGaps: false
        };
      });
      var chart = new window.Chart(canvas, {
        type: "line",
        data: { labels: labels, datasets: datasets },
        options: {
          locale: language,
          responsive: true,
          maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            legend: { labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8 } },
            tooltip: {
              callbacks: {
                title: function (items) { return data.points[items[0].dataIndex].when; },
                label: function (item) { return item.dataset.label + ": " + item.parsed.y + "%"; }
              }
            }
          },
          scales: {
            x: { ticks: { autoSkip: true, maxRotation: 0 } },
            y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } },
                 title: { display: true, text: canvas.dataset.axis || "Match" } }
          }
        }
      });
      canvas.dataset.drawn = String(data.points.length);  // lets tests and screenshots wait for the chart
      if (picker) {
        picker.addEventListener("change", function () {
          chart.data.datasets.forEach(function (ds, i) {
            chart.setDatasetVisibility(i, !picker.value || ds.key === picker.value);
          });
          chart.update();
        });
      }
    })
    .catch(function () {
      var box = canvas.parentNode;
      var p = document.createElement("p");
      p.textContent = canvas.dataset.failed || "The chart could not be loaded. The table below has the same data.";
      box.parentNode.insertBefore(p, box);
      box.hidden = true;
    });
})();
