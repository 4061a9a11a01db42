// Reloads a live page (an element with data-refresh="seconds") so that new answers show,
// but never while someone is typing or has changed a field: a half-written cancel reason or
// record form is not lost. The CSP allows scripts from this origin only, hence a file.
(function () {
  "use strict";
  var marker = document.querySelector("[data-refresh]");
  if (!marker) {
    return;
  }
  var seconds = parseInt(marker.getAttribute("data-refresh"), 10) || 30;
  var changed = false;
  document.addEventListener("input", function () {
    changed = true;
  });
  document.addEventListener("change", function () {
    changed = true;
  });
  window.setInterval(function () {
    var active = document.activeElement;
    var typing = active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
    if (!changed && !typing) {
      window.location.reload();
    }
  }, seconds * 1000);
})();
