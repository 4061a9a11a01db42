// The navigation's disclosure menus (<details>): they work without this file; it only closes
// an open menu when another opens, on a click elsewhere, and on Escape (focus goes back to its
// button). The CSP allows scripts from this origin only, hence a file.
(function () {
  "use strict";
  var menus = Array.prototype.slice.call(document.querySelectorAll("nav.nav details"));
  if (!menus.length) {
    return;
  }
  function closeAll(except) {
    menus.forEach(function (m) {
      if (m !== except) {
        m.open = false;
      }
    });
  }
  menus.forEach(function (m) {
    m.addEventListener("toggle", function () {
      if (m.open) {
        closeAll(m);
      }
    });
  });
  document.addEventListener("click", function (e) {
    if (!e.target.closest || !e.target.closest("nav.nav details")) {
      closeAll(null);
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") {
      return;
    }
    menus.forEach(function (m) {
      if (m.open) {
        m.open = false;
        m.querySelector("summary").focus();
      }
    });
  });
})();
