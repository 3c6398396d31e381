// The web console's only script (a CSP allows no other): a search filter applies as soon as it
// changes, and "/" puts the cursor in the search box. Everything works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".autosubmit").forEach(function (field) {
    field.addEventListener("change", function () { field.form.submit(); });
  });
  var box = document.querySelector("form.search input[type=search]");
  if (box) {
    document.addEventListener("keydown", function (event) {
      var typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
      if (event.key === "/" && !typing) { event.preventDefault(); box.focus(); box.select(); }
    });
  }
});
