/* hubdesk Customer Hub: small progressive enhancements; every page works without it. */
(function () {
  "use strict";
  var framed = window.parent !== window;
  if (framed) document.documentElement.className += " framed";
  // In the storefront's drawer (embed.js), Esc inside the frame closes it.
  document.addEventListener("keydown", function (e) {
    if (framed && e.key === "Escape") window.parent.postMessage({ type: "hubdesk:close" }, "*");
  });
  // One click, one request: Start a return asks the returns platform for a link.
  document.addEventListener("submit", function (e) {
    var form = e.target, btn = form.querySelector("button[type=submit]");
    if (form.getAttribute("data-busy")) { e.preventDefault(); return; }
    form.setAttribute("data-busy", "1");
    if (btn) btn.setAttribute("aria-disabled", "true");
    // A redirect to another site may leave this page in the back/forward cache.
    window.addEventListener("pageshow", function () {
      form.removeAttribute("data-busy");
      if (btn) btn.removeAttribute("aria-disabled");
    }, { once: true });
  });
  // Move focus to a confirmation or an error so screen readers announce it.
  var focus = document.querySelector("[data-focus]");
  if (focus) focus.focus();
})();
