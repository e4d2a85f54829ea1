// Returns on order cards (ticket view, order page): Initiate return opens
// its panel in place, and links are copied or inserted into the reply box
// as text. Handlers hang on the document, so cards that live.js swaps in
// keep working. Without JavaScript the form posts and the panel comes as
// a page of its own, with the link selectable in its field.
(function () {
  "use strict";

  function copied(button) {
    var was = button.textContent;
    button.textContent = "Copied";
    button.setAttribute("data-copied", "");
    setTimeout(function () { button.textContent = was; button.removeAttribute("data-copied"); }, 2000);
  }

  // copy puts text on the clipboard; where the Clipboard API is refused
  // (no permission, plain http), a hidden field and execCommand do it.
  function copy(text, button) {
    var fallback = function () {
      var field = document.createElement("textarea");
      field.value = text;
      field.setAttribute("readonly", "");
      field.style.position = "fixed";
      field.style.opacity = "0";
      document.body.appendChild(field);
      field.select();
      var ok = document.execCommand && document.execCommand("copy");
      document.body.removeChild(field);
      if (ok) copied(button);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { copied(button); }, fallback);
    } else {
      fallback();
    }
  }

  // insert puts text at the reply box's cursor, on a line of its own.
  function insert(text) {
    var box = document.getElementById("reply-body");
    if (!box) return;
    var start = box.selectionStart, end = box.selectionEnd;
    var before = box.value.slice(0, start);
    var piece = (before && !/\s$/.test(before) ? "\n" : "") + text + "\n";
    box.setRangeText(piece, start, end, "end");
    box.dispatchEvent(new Event("input", {bubbles: true}));
    box.focus();
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-copy-text], button[data-insert-reply]");
    if (!button) return;
    e.preventDefault();
    if (button.hasAttribute("data-copy-text")) copy(button.getAttribute("data-copy-text"), button);
    else insert(button.getAttribute("data-insert-reply"));
  });

  if (!window.fetch || !window.DOMParser) return;
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-initiate-return]")) return;
    var panel = form.parentNode.querySelector("[data-return-panel]");
    if (!panel) return;
    e.preventDefault();
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-Hubdesk-Fragment": "1"},
      body: new URLSearchParams(new FormData(form))
    }).then(function (res) {
      return res.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.querySelector("[data-return-link-panel]");
      panel.replaceChildren(fresh ? document.importNode(fresh, true) : document.createTextNode("The return link could not be made. Try again."));
    }).catch(function () {
      panel.textContent = "The return link could not be made. Try again.";
    }).finally(function () {
      if (button) button.disabled = false;
    });
  });
})();
