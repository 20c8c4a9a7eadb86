// Account page: a person who has not chosen a time zone yet gets their device's one preselected.
(function () {
  "use strict";
  var select = document.getElementById("id_time_zone");
  if (!select || select.value || !window.Intl) { return; }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && select.querySelector('option[value="' + zone + '"]')) { select.value = zone; }
})();
