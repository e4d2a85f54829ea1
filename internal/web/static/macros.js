// The ticket view's macro picker: choosing a saved reply asks the server
// for it expanded for this ticket (GET /tickets/{id}/macros/{macroID}/expanded)
// and inserts the text at the cursor of the reply box, where the agent can
// still edit it. The text goes in as text (a textarea's value), never as
// markup. Without JavaScript the picker does nothing and the reply box
// works as before.
(function () {
  var picker = document.querySelector("select[data-macro-picker]");
  if (!picker || !window.fetch) return;
  picker.addEventListener("change", function () {
    var id = picker.value;
    var box = document.getElementById(picker.dataset.target);
    if (!id || !box) return;
    fetch("/tickets/" + encodeURIComponent(picker.dataset.ticket) + "/macros/" + encodeURIComponent(id) + "/expanded", {
      credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (res) {
      if (!res.ok) throw new Error(res.status);
      return res.json();
    }).then(function (answer) {
      var start = box.selectionStart, end = box.selectionEnd;
      box.setRangeText(answer.body, start, end, "end");
      box.dispatchEvent(new Event("input", {bubbles: true}));
      box.focus();
    }).catch(function () {
      picker.setCustomValidity("The macro could not be loaded. Try again.");
      picker.reportValidity();
      setTimeout(function () { picker.setCustomValidity(""); }, 3000);
    }).finally(function () {
      picker.value = "";
    });
  });
})();
