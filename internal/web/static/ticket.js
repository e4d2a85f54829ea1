// Keyboard of the ticket view (listed in the desk's ? dialog). Ignored
// while typing in a field; every key has a control that does the same
// without JavaScript.
//
//   r      reply: focus the reply box (Ctrl/⌘+Enter sends the reply)
//   n      note: focus the reply box (Ctrl/⌘+Enter adds it as a note)
//   e      close the ticket
//   a      assign it to me ("Take it"), or focus the assignee control
//   j / k  next / previous ticket of the inbox list the agent came from
//          (desk.js remembers it; else the inbox's default view)
(function () {
  "use strict";
  var view = document.querySelector("[data-ticket-view]");
  if (!view) return;

  // "Show images" loads the remote images of one mail, held back until
  // asked (data-remote-src). Delegated: live updates swap the messages.
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-show-images]");
    if (!button) return;
    var message = button.closest(".message");
    if (!message) return;
    message.querySelectorAll("img[data-remote-src]").forEach(function (img) {
      var src = img.getAttribute("data-remote-src");
      if (/^https:\/\//i.test(src)) img.setAttribute("src", src);
      img.removeAttribute("data-remote-src");
    });
    button.parentNode.hidden = true;
  });
  var id = view.getAttribute("data-ticket-view");
  var box = document.getElementById("reply-body");
  var mode = "reply";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function write(m) {
    if (!box) return;
    mode = m;
    box.form.setAttribute("data-mode", m);
    box.focus();
  }
  if (box) {
    box.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && box.form.requestSubmit) {
        e.preventDefault();
        box.form.requestSubmit(document.getElementById(mode === "note" ? "add-note" : "send-reply"));
      }
    });
  }

  // A form sent replaces the page. A second one sent before the answer
  // (e then a, quickly) would make the browser drop the first request,
  // which the server may never have read: the ticket would stay open.
  // Until the page is replaced, the keys that send a form do nothing.
  var sending = false;
  document.addEventListener("submit", function (e) {
    if (!e.defaultPrevented) sending = true;
  });
  window.addEventListener("pageshow", function () { sending = false; });

  function closeTicket() {
    var status = document.getElementById("status");
    if (!status || !status.form || !status.form.requestSubmit) return;
    status.value = "closed";
    status.form.requestSubmit();
  }

  function assign() {
    var take = document.getElementById("take-it");
    if (take) {
      take.click();
      return;
    }
    var select = document.getElementById("assignee-select");
    if (select) select.focus();
  }

  // neighbour opens the ticket next to this one in the remembered list.
  function neighbour(delta) {
    var go = function (ids) {
      var i = ids.indexOf(id);
      var next = i < 0 ? ids[0] : ids[i + delta];
      if (next) window.location.href = "/tickets/" + encodeURIComponent(next);
    };
    var list = null;
    try { list = JSON.parse(sessionStorage.getItem("hubdesk.inbox") || "null"); } catch (err) { list = null; }
    if (list && list.ids && list.ids.indexOf(id) >= 0) {
      go(list.ids);
      return;
    }
    if (!window.fetch || !window.DOMParser) return;
    fetch("/tickets", {credentials: "same-origin"}).then(function (res) { return res.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      go(Array.prototype.map.call(doc.querySelectorAll("[data-inbox] [data-ticket]"), function (row) {
        return row.getAttribute("data-ticket");
      }));
    }).catch(function () {});
  }

  // r and n move the focus when the key comes up, so that no part of the
  // key press (a keypress or input event some environments send apart
  // from keydown) types the letter into the box.
  var writeOnKeyUp = "";
  document.addEventListener("keyup", function (e) {
    if (writeOnKeyUp && e.key === writeOnKeyUp) {
      write(e.key === "n" ? "note" : "reply");
      writeOnKeyUp = "";
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    var help = document.getElementById("shortcuts");
    if (help && help.open) return;
    switch (e.key) {
      case "r":
      case "n":
        writeOnKeyUp = e.key;
        break;
      case "e": if (!sending) closeTicket(); break;
      case "a": if (!sending) assign(); break;
      case "j": neighbour(1); break;
      case "k": neighbour(-1); break;
      default: return;
    }
    e.preventDefault();
  });
})();
