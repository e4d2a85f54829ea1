// Live preview of where Start a return sends the sample order, as the
// admin edits the returns settings. The server builds it with the same
// code as the real click (POST /settings/returns/preview); this file only
// sends the form as typed, a moment after the typing stops. Without
// JavaScript the page shows the saved settings' preview.
(function () {
  // Removing a saved credential asks once more: a ticked box is easy to
  // leave ticked. Without JavaScript the ticked box alone removes it.
  var returnsForm = document.getElementById("returns-form");
  if (returnsForm) {
    returnsForm.addEventListener("submit", function (ev) {
      var boxes = returnsForm.querySelectorAll("input[data-confirm]:checked");
      for (var i = 0; i < boxes.length; i++) {
        if (!window.confirm(boxes[i].dataset.confirm)) {
          ev.preventDefault();
          return;
        }
      }
    });
  }
})();

(function () {
  var form = document.getElementById("returns-form");
  var out = document.getElementById("preview-url");
  if (!form || !out || !window.fetch) return;
  var timer = 0, asked = 0;
  function refresh() {
    var mine = ++asked;
    fetch(form.dataset.preview, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Accept": "application/json"},
      body: new URLSearchParams(new FormData(form))
    }).then(function (res) {
      return res.json();
    }).then(function (answer) {
      // An older answer arriving late must not replace a newer one.
      if (mine === asked) out.textContent = answer.error || answer.text;
    }).catch(function () {
      if (mine === asked) out.textContent = "— (the preview could not be loaded)";
    });
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();

// The Live switch: switching it on opens the confirmation that lists what
// publishing will change (the <dialog id="live-confirm"> of the settings
// tabs) instead of posting at once. Without JavaScript the switch posts,
// and the server answers with the same confirmation open.
(function () {
  var sw = document.getElementById("live-switch");
  var dialog = sw && sw.dataset.dialog && document.getElementById(sw.dataset.dialog);
  if (!dialog || !dialog.showModal) return;
  sw.addEventListener("click", function (ev) {
    ev.preventDefault();
    dialog.showModal();
    var publish = document.getElementById("live-publish");
    if (publish) publish.focus();
  });
  if (dialog.open) { // opened by the server: make it modal
    dialog.close();
    dialog.showModal();
  }
})();
