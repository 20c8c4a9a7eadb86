// The history chart: each condition's match over time (Chart.js, vendored), straight lines between scans
// (no invented values), one condition or all. Dates and times come written by the server (the person's
// time zone and the page's date style, p.when / p.day / p.time), so they read as in the list; numbers are
// formatted in the page's language. Below it, when scans have lesion findings, the spots counted over time.
(function () {
  "use strict";
  var canvas = document.getElementById("history-chart");
  if (!canvas) { return; }
  var language = document.documentElement.lang || undefined;
  // "87 %" in Spanish, "87%" in English: as the server writes it (facediag_site/lib/numbers.py).
  var percent = new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 0 });
  var lesionCanvas = document.getElementById("lesion-chart");

  // A table row that starts with the scan's date, linked to the scan.
  function scanRow(p) {
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
    return row;
  }
  // The table alternative: the very same points as the chart, one row per scan, dates in the reader's locale.
  function fillTable(data) {
    var body = document.getElementById("chart-table-body");
    if (!body) { return; }
    data.points.forEach(function (p) {
      var row = scanRow(p);
      data.classes.forEach(function (c) {
        var cell = document.createElement("td");
        cell.className = "num";
        cell.textContent = percent.format(p.probabilities[c]);
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
  }

  // Each condition's colour and point shape come with the data (diagnosis.results.CHART_STYLES, as the PDF's).
  var styles = {};
  var fallbackStyle = { colour: "#56606e", point: "circle" };
  // The spots counted over time: a real time axis (a scan a month later sits a month further right), so
  // "Am I improving?" reads as a slope; ticks evenly spaced in time, dated in the person's zone and language.
  function fillLesionTable(points) {
    var body = document.getElementById("lesion-table-body");
    if (!body) { return; }
    points.forEach(function (p) {
      var row = scanRow(p);
      var count = document.createElement("td");
      count.className = "num";
      count.textContent = p.count.toLocaleString(language);
      row.appendChild(count);
      var grade = document.createElement("td");
      grade.textContent = p.grade_name || "–";
      row.appendChild(grade);
      body.appendChild(row);
    });
  }

  function timeTicks(first, last, count) {
    if (last <= first) { return [first]; }
    var ticks = [];
    for (var i = 0; i < count; i++) { ticks.push(first + (last - first) * i / (count - 1)); }
    return ticks;
  }

  // Both charts' x axis: real time (26 days apart reads as 26 days, two scans a minute apart as one spot),
  // ticks evenly spaced in time, dated in the person's zone (data-time-zone) and language.
  function timeScale(times, zone) {
    var first = times[0], last = times[times.length - 1];
    var pad = Math.max((last - first) * 0.03, 12 * 3600 * 1000);  // a lone scan still gets a visible span
    var dayFormat;
    try {
      dayFormat = new Intl.DateTimeFormat(language, { day: "numeric", month: "short", timeZone: zone || undefined });
    } catch (e) {
      dayFormat = new Intl.DateTimeFormat(language, { day: "numeric", month: "short" });
    }
    return {
      type: "linear", min: first - pad, max: last + pad,
      afterBuildTicks: function (axis) {
        axis.ticks = timeTicks(first, last, times.length > 1 ? 5 : 1).map(function (v) { return { value: v }; });
      },
      ticks: { maxRotation: 0, callback: function (value) { return dayFormat.format(new Date(value)); } }
    };
  }

  function drawLesions(points) {
    fillLesionTable(points);
    if (!window.Chart || !points.length) { return; }
    var times = points.map(function (p) { return Date.parse(p.created_at); });
    var colour = (styles.acne || fallbackStyle).colour;
    new window.Chart(lesionCanvas, {
      type: "line",
      data: { datasets: [{
        label: lesionCanvas.dataset.series || "Spots",
        data: points.map(function (p, i) { return { x: times[i], y: p.count }; }),
        borderColor: colour, backgroundColor: colour, pointStyle: "circle", pointRadius: 4, borderWidth: 2,
        tension: 0
      }] },
      options: {
        locale: language,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: function (items) { return points[items[0].dataIndex].when; },
              label: function (item) {
                var p = points[item.dataIndex];
                return item.dataset.label + ": " + p.count.toLocaleString(language) + (p.grade_name ? " (" + p.grade_name + ")" : "");
              }
            }
          }
        },
        scales: {
          x: timeScale(times, lesionCanvas.dataset.timeZone),
          y: { beginAtZero: true, ticks: { precision: 0 },
               title: { display: true, text: lesionCanvas.dataset.axis || "Spots" } }
        }
      }
    });
    lesionCanvas.dataset.drawn = String(points.length);
  }

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

  // Busy while the data comes and the charts are drawn (screen readers wait; so do tests and screenshots).
  var boxes = [canvas.parentNode].concat(lesionCanvas ? [lesionCanvas.parentNode] : []);
  boxes.forEach(function (b) { b.setAttribute("aria-busy", "true"); });
  fetch(canvas.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (data) {
      styles = data.styles || {};
      fillTable(data);
      if (lesionCanvas && data.lesions) { drawLesions(data.lesions.points); }
      if (!window.Chart) { return; }
      if (!data.points.length) { return; }
      var times = data.points.map(function (p) { return Date.parse(p.created_at); });
      var datasets = data.classes.map(function (c) {
        var style = styles[c] || fallbackStyle;
        return {
          key: c,
          label: titles[c] || c,
          data: data.points.map(function (p, i) { return { x: times[i], y: Math.round(p.probabilities[c] * 100) }; }),
          borderColor: style.colour, backgroundColor: style.colour, pointStyle: style.point,
          pointRadius: 4, borderWidth: 2, tension: 0, spanGaps: false
        };
      });
      var chart = new window.Chart(canvas, {
        type: "line",
        data: { datasets: datasets },
        options: {
          locale: language,
          responsive: true,
          maintainAspectRatio: false,
          parsing: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            legend: { labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8 } },
            tooltip: {
              // only the conditions shown: with the picker on one condition, the tooltip names that one
              filter: function (item) { return item.chart.isDatasetVisible(item.datasetIndex); },
              callbacks: {
                title: function (items) { return data.points[items[0].dataIndex].when; },
                label: function (item) { return item.dataset.label + ": " + percent.format(item.parsed.y / 100); }
              }
            }
          },
          scales: {
            x: timeScale(times, canvas.dataset.timeZone),
            y: { min: 0, max: 100, ticks: { callback: function (v) { return percent.format(v / 100); } },
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
      if (lesionCanvas) { lesionCanvas.parentNode.hidden = true; }
      var box = canvas.parentNode;
      var p = document.createElement("p");
      p.textContent = canvas.dataset.failed || "The chart could not be loaded. The table below has the same data.";
      box.parentNode.insertBefore(p, box);
      box.hidden = true;
    })
    .then(function () { boxes.forEach(function (b) { b.removeAttribute("aria-busy"); }); });
})();
