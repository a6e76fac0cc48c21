// "Select all" checkboxes: <input type="checkbox" data-select-all="ids"> ticks or unticks every
// checkbox named "ids". Listened for on the document, so rows and tables htmx swaps in are covered.
// A static file rather than an onchange attribute: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[type=checkbox][data-select-all]")) return;
    var name = box.getAttribute("data-select-all");
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (other) {
      other.checked = box.checked;
    });
  });
})();
