// Drag and drop for the upload form. Without this file the dropzone is a plain file input and works
// the same; this only highlights the zone while files are dragged over it and hands dropped files to
// the input, so the ordinary form submit sends them.
(function () {
  "use strict";
  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = zone.querySelector('input[type="file"]');
    if (!input || typeof DataTransfer === "undefined") return;

    function highlight(event) {
      event.preventDefault();
      zone.classList.add("dragging");
    }
    function unhighlight(event) {
      // dragleave fires when moving over a child element; only clear when leaving the zone itself.
      if (event.type === "dragleave" && zone.contains(event.relatedTarget)) return;
      zone.classList.remove("dragging");
    }

    zone.addEventListener("dragenter", highlight);
    zone.addEventListener("dragover", highlight);
    zone.addEventListener("dragleave", unhighlight);
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      unhighlight(event);
      // The dropped files replace the selection, as choosing again in the file dialog would.
      var files = new DataTransfer();
      Array.prototype.forEach.call(event.dataTransfer.files, function (file) { files.items.add(file); });
      input.files = files.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  });
})();
