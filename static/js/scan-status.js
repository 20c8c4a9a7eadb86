// Polls a scan's status and reloads the page once the analysis has finished.
(function () {
  "use strict";
  var box = document.getElementById("scan");
  if (!box) { return; }
  var status = box.dataset.status;
  if (status === "done" || status === "failed") { return; }
  var text = document.getElementById("status-text");
  var steps = ["queued", "analysing", "done"];
  var delay = 1000;

  function show(next) {
    var reached = steps.indexOf(next);
    document.querySelectorAll(".progress li").forEach(function (li) {
      var i = steps.indexOf(li.dataset.step);
      li.className = i < reached ? "past" : (i === reached ? "current" : "");
    });
    var step = document.querySelector('.progress li[data-step="' + next + '"]');  // already in the page's language
    text.textContent = step ? step.textContent : next;  // read out by screen readers (visually hidden)
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (data.status !== status) { status = data.status; show(status); }
        var detail = document.getElementById("analysis-detail");
        if (detail && data.analysis) {
          // paused, or running but slow: the server's sentence; else the page's promise of a few seconds
          var reason = data.analysis.reason;
          detail.textContent = reason ? data.analysis.detail : detail.dataset.running;  // in the page's language
          detail.className = data.analysis.state === "paused" ? "paused" : (reason === "slow" ? "slow" : "");
        }
        if (status === "done" || status === "failed") { window.location.reload(); return; }
        delay = Math.min(delay * 1.2, 5000);
        setTimeout(poll, delay);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 500);
})();
