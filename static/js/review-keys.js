// Keyboard shortcuts on the review page: 1-5 pick a label, Enter saves, c confirms the model's label.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) { return; }
  var radios = form.querySelectorAll('input[type="radio"][name="label"]');
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" && target.type === "text")) { return; }
    var n = parseInt(event.key, 10);
    if (n >= 1 && n <= radios.length) {
      radios[n - 1].checked = true;
      radios[n - 1].focus();
      event.preventDefault();
    } else if (event.key === "Enter" && !(target && target.tagName === "BUTTON")) {
      document.getElementById("save-button").click();
      event.preventDefault();
    } else if (event.key === "c") {
      var confirm = document.getElementById("confirm-button");
      if (confirm) { confirm.click(); event.preventDefault(); }
    }
  });
})();
