// Keyboard shortcuts of the desk. The pages work without this file: every
// shortcut has a link, a button or a field that does the same.
//
//   ?        the list of shortcuts (the <dialog id="shortcuts"> in the layout)
//   /        focus the ticket search (an input with id "ticket-search")
//   j / k    next / previous ticket in the inbox (a list marked data-inbox)
//   Enter, o open the selected ticket
//
// The ticket view's own keys (r reply, n note, e close, a assign, j/k
// neighbours) are in ticket.js; the inbox's order is remembered here for
// them (sessionStorage "hubdesk.inbox"). When live.js swaps the list in
// (event "desk:inbox-replaced"), the rows are read again and the selected
// ticket stays selected.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  var rows = [];
  var selected = -1;

  // scan reads the inbox's rows, remembers their order for the ticket
  // view's j/k, and keeps the selection on the same ticket.
  function scan(keepTicket) {
    var list = document.querySelector("[data-inbox]");
    rows = list ? Array.prototype.slice.call(list.querySelectorAll("[data-ticket]")) : [];
    selected = -1;
    rows.forEach(function (row, i) {
      row.addEventListener("focusin", function () { mark(i); });
      if (keepTicket && row.getAttribute("data-ticket") === keepTicket) mark(i);
    });
    if (list) {
      try {
        sessionStorage.setItem("hubdesk.inbox", JSON.stringify({
          url: window.location.pathname + window.location.search,
          ids: rows.map(function (row) { return row.getAttribute("data-ticket"); })
        }));
      } catch (err) { /* storage off: j/k in a ticket use the default view */ }
    }
  }

  // mark makes row i the selection without moving the focus.
  function mark(i) {
    if (selected === i) return;
    if (selected >= 0 && rows[selected]) {
      rows[selected].classList.remove("is-selected");
      rows[selected].removeAttribute("aria-current");
    }
    selected = i;
    rows[i].classList.add("is-selected");
    rows[i].setAttribute("aria-current", "true");
  }

  function select(i) {
    if (!rows.length) return;
    i = Math.max(0, Math.min(rows.length - 1, i));
    mark(i);
    var row = rows[i];
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
  // j/k continue from where the keyboard is (scan's focusin).
  scan(null);
  document.addEventListener("desk:inbox-replaced", function (e) {
    scan(e.detail && e.detail.selected);
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
