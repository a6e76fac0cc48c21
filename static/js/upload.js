// The upload form, enhanced. Without this file the dropzone is a plain file input and the form a plain
// POST, and both work the same. With it: the zone highlights while files are dragged over it and takes
// them; the chosen files are listed, each with a button that takes it out before uploading; and while
// htmx sends the form a progress bar says how much of a large file has gone.
// A static file, not inline script: the Content-Security-Policy allows none.
(function () {
  "use strict";

  function formatSize(bytes) {
    var units = ["bytes", "KB", "MB", "GB"];
    var value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit === 0 ? String(value) : value.toFixed(1)) + " " + units[unit];
  }

  function setFiles(input, files) {
    var list = new DataTransfer();
    files.forEach(function (file) { list.items.add(file); });
    input.files = list.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function renderChosen(zone, input) {
    var target = zone.querySelector("[data-chosen-files]");
    if (!target) return;
    target.textContent = "";
    var files = Array.prototype.slice.call(input.files || []);
    target.hidden = files.length === 0;
    files.forEach(function (file, index) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = file.name;
      var size = document.createElement("span");
      size.className = "muted";
      size.textContent = " (" + formatSize(file.size) + ") ";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link remove-file";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove " + file.name);
      remove.addEventListener("click", function () {
        var kept = Array.prototype.slice.call(input.files).filter(function (_f, i) { return i !== index; });
        setFiles(input, kept);
        input.focus();
      });
      item.appendChild(name);
      item.appendChild(size);
      item.appendChild(remove);
      target.appendChild(item);
    });
  }

  function enhanceDropzone(zone) {
    var input = zone.querySelector('input[type="file"]');
    if (!input || zone.dataset.enhanced || typeof DataTransfer === "undefined") return;
    zone.dataset.enhanced = "true";

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
      // Dropped files join those chosen already (drop several batches, then upload once).
      var files = Array.prototype.slice.call(input.files || []);
      Array.prototype.forEach.call(event.dataTransfer.files, function (file) { files.push(file); });
      setFiles(input, files);
    });
    input.addEventListener("change", function () { renderChosen(zone, input); });
    renderChosen(zone, input);
  }

  function enhanceProgress(form) {
    if (form.dataset.progressEnhanced) return;
    form.dataset.progressEnhanced = "true";
    var status = form.querySelector("[data-upload-status]");
    var bar = status && status.querySelector("progress");
    var percent = status && status.querySelector("[data-upload-percent]");
    if (!status || !bar) return;
    form.addEventListener("htmx:xhr:loadstart", function () {
      status.hidden = false;
      bar.value = 0;
    });
    form.addEventListener("htmx:xhr:progress", function (event) {
      if (!event.detail.lengthComputable || !event.detail.total) return;
      var done = Math.round((event.detail.loaded / event.detail.total) * 100);
      bar.value = done;
      bar.textContent = done + "%";
      if (percent) percent.textContent = done + "%";
    });
  }

  function enhance(root) {
    root.querySelectorAll("[data-dropzone]").forEach(enhanceDropzone);
    root.querySelectorAll("form[data-upload-progress]").forEach(enhanceProgress);
  }

  enhance(document);
  // A refused upload comes back as a new form, swapped in by htmx.
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
