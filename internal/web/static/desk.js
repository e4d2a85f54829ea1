// Keyboard shortcuts of the desk. The pages work without this file: every
// shortcut has a link, a button or a field that does the same.
//
//   ?        the list of shortcuts (the <dialog id="shortcuts"> in the layout)
//   /        focus the ticket search (an input with id "ticket-search")
//   j / k    next / previous ticket in the inbox (a list marked data-inbox)
//   Enter, o open the selected ticket
//
// The ticket view's own keys (r reply, n note, e close, a assign) belong to
// that page and are only listed here.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  var list = document.querySelector("[data-inbox]");
  var rows = list ? Array.prototype.slice.call(list.querySelectorAll("[data-ticket]")) : [];
  var selected = -1;

  function select(i) {
    if (!rows.length) return;
    i = Math.max(0, Math.min(rows.length - 1, i));
    if (selected >= 0) {
      rows[selected].classList.remove("is-selected");
      rows[selected].removeAttribute("aria-current");
    }
    selected = i;
    var row = rows[i];
    row.classList.add("is-selected");
    row.setAttribute("aria-current", "true");
    var link = row.querySelector("a.inbox-subject");
    if (link) link.focus({preventScroll: true});
    row.scrollIntoView({block: "nearest"});
  }

  function open() {
    if (selected < 0) return false;
    var link = rows[selected].querySelector("a.inbox-subject");
    if (!link) return false;
    window.location.href = link.href;
    return true;
  }

  // A row focused by Tab (its subject link) becomes the selection too, so
  // j/k continue from where the keyboard is.
  rows.forEach(function (row, i) {
    row.addEventListener("focusin", function () {
      if (selected !== i) {
        if (selected >= 0) {
          rows[selected].classList.remove("is-selected");
          rows[selected].removeAttribute("aria-current");
        }
        selected = i;
        row.classList.add("is-selected");
        row.setAttribute("aria-current", "true");
      }
    });
  });

  var help = document.getElementById("shortcuts");

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (help && help.open) return; // the dialog handles Escape itself
    switch (e.key) {
      case "?":
        if (help && help.showModal) {
          help.showModal();
          e.preventDefault();
        }
        return;
      case "/":
        var search = document.getElementById("ticket-search");
        if (search) {
          search.focus();
          e.preventDefault();
        }
        return;
      case "j":
        if (rows.length) {
          select(selected + 1);
          e.preventDefault();
        }
        return;
      case "k":
        if (rows.length) {
          select(selected < 0 ? 0 : selected - 1);
          e.preventDefault();
        }
        return;
      case "o":
        if (open()) e.preventDefault();
        return;
      case "Enter":
        // Enter on a focused link already follows it; on the row it opens.
        if (e.target && e.target.tagName === "A") return;
        if (open()) e.preventDefault();
        return;
    }
  });
})();
