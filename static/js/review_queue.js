// The review queue's enhancements; without JavaScript every field and form still works.
// - The bulk bar shows only the fields the chosen action uses (each field says which: data-bulk-for).
// - A row swapped back with an error (data-reopen) opens its actions menu again, as the reviewer left it.
(function () {
  "use strict";

  function syncBulk(root) {
    (root || document).querySelectorAll("select[data-bulk-action]").forEach(function (select) {
      var form = select.form;
      form.querySelectorAll("[data-bulk-for]").forEach(function (field) {
        var wanted = field.getAttribute("data-bulk-for").split(" ").indexOf(select.value) !== -1;
        field.hidden = !wanted;
        field.querySelectorAll("input, select").forEach(function (input) { input.disabled = !wanted; });
      });
    });
  }

  function reopenMenus(root) {
    (root || document).querySelectorAll("[popover][data-reopen]").forEach(function (menu) {
      if (menu.showPopover && !menu.matches(":popover-open")) menu.showPopover();
      var field = menu.querySelector("select[name=reason], input[name=text]");
      if (field) field.focus();
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-bulk-action]")) syncBulk();
  });
  document.addEventListener("DOMContentLoaded", function () { syncBulk(); });
  // htmx swaps the queue (a filter, a bulk action) or a row (an action on it).
  document.addEventListener("htmx:load", function (event) {
    syncBulk(event.target.parentNode || document);
    reopenMenus(event.target.parentNode || document);
  });
})();
