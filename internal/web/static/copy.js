// Copy buttons: a button with data-copy="ID" copies the value (or text) of
// the element with that id, for links shown once. Without JavaScript, or
// without clipboard access, the link stays selectable in its field.
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      if (!field) return;
      var text = field.value || field.textContent;
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { field.select(); });
      } else {
        field.select();
        if (document.execCommand && document.execCommand("copy")) done();
      }
    });
  });
})();
