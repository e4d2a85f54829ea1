// Live updates of the desk's inbox and ticket view, over one event stream
// per tab (GET /events, server-sent events). Events name a ticket and what
// changed, never its content: this script fetches the page again over a
// normal GET and swaps the parts that show it, so roles and shop scoping
// stay on the server. Without JavaScript (or EventSource) the pages work
// as before, fresh on each load.
//
// Ticket view (an element with data-ticket-view="ID"): a change of that
// ticket swaps the subject line, the conversation and the side panel; the
// reply box is never touched, so a draft stays. The page posts the agent's
// presence — viewing on open and focus and every 15 s while shown,
// replying while typing (debounced), gone on pagehide — and shows the
// others' (#presence) when a presence event comes.
//
// Returns events name orders: a ticket view whose side panel links one of
// them swaps its side panel the same way.
//
// Inbox (an element with data-inbox-live): any change swaps the list and
// the counts, debounced; desk.js keeps the selected row.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;

  var view = document.querySelector("[data-ticket-view]");
  var inbox = document.querySelector("[data-inbox-live]");
  if (!view && !inbox) return;
  var ticketID = view ? view.getAttribute("data-ticket-view") : "";

  // fetchPage reads the current address again and returns it parsed.
  function fetchPage(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}}).then(function (res) {
      if (!res.ok || res.redirected) throw new Error(res.status);
      return res.text();
    }).then(function (html) {
      return new DOMParser().parseFromString(html, "text/html");
    });
  }

  // swap replaces the element with the same id by its fresh copy, unless
  // the agent is working inside it (then it waits for the next change).
  function swap(doc, id) {
    var old = document.getElementById(id), fresh = doc.getElementById(id);
    if (!old || !fresh) return;
    if (old.contains(document.activeElement) && document.activeElement !== document.body) return;
    old.replaceWith(document.importNode(fresh, true));
  }

  var pending = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      fetchPage(window.location.pathname + window.location.search).then(function (doc) {
        if (view) {
          ["ticket-subject", "messages", "ticket-side"].forEach(function (id) { swap(doc, id); });
        } else {
          var selected = document.querySelector("[data-inbox] .is-selected");
          swap(doc, "inbox-live");
          document.dispatchEvent(new CustomEvent("desk:inbox-replaced", {
            detail: {selected: selected ? selected.getAttribute("data-ticket") : null}
          }));
        }
        document.documentElement.setAttribute("data-live-refreshed", String(Date.now()));
      }).catch(function () { /* the next event or a reload will do */ });
    }, 250);
  }

  var presenceBox = document.getElementById("presence");
  function showPresence() {
    if (!presenceBox) return;
    fetch("/tickets/" + encodeURIComponent(ticketID) + "/presence", {credentials: "same-origin"}).then(function (res) {
      if (!res.ok) throw new Error(res.status);
      return res.text();
    }).then(function (html) {
      // The server's own escaped fragment (template-rendered).
      presenceBox.innerHTML = html;
    }).catch(function () {});
  }

  // The page says when it was written: the stream first sends what
  // happened since, so a change made before it connected is not missed.
  var since = view ? view.getAttribute("data-live-since") : "";
  var source = new EventSource("/events" + (since ? "?since=" + encodeURIComponent(since) : ""));
  source.addEventListener("ticket", function (e) {
    var data;
    try { data = JSON.parse(e.data); } catch (err) { return; }
    if (inbox || String(data.ticket) === ticketID) refresh();
  });
  // Returns of some orders changed (a Loop webhook or a background
  // refresh): a ticket view showing one of them fetches its cards again.
  source.addEventListener("returns", function (e) {
    var data;
    try { data = JSON.parse(e.data); } catch (err) { return; }
    if (!view || !data.orders) return;
    var side = document.getElementById("ticket-side");
    if (!side) return;
    var ids = String(data.orders).split(",");
    for (var i = 0; i < ids.length; i++) {
      if (side.querySelector('a[href="/orders/' + Number(ids[i]) + '"]')) { refresh(); return; }
    }
  });
  source.addEventListener("presence", function (e) {
    var data;
    try { data = JSON.parse(e.data); } catch (err) { return; }
    if (view && String(data.ticket) === ticketID) showPresence();
  });
  source.addEventListener("resync", function () {
    refresh();
    if (view) showPresence();
  });
  source.addEventListener("end", function () { source.close(); }); // signed out
  window.addEventListener("pagehide", function () { source.close(); });

  if (!view) return;

  // Presence of this agent on this ticket.
  var state = "", replyingUntil = 0;
  function post(s, beacon) {
    var body = new FormData();
    body.append("state", s);
    var url = "/tickets/" + encodeURIComponent(ticketID) + "/presence";
    if (beacon && navigator.sendBeacon) {
      navigator.sendBeacon(url, body);
      return;
    }
    fetch(url, {method: "POST", body: body, credentials: "same-origin"}).catch(function () {});
  }
  function say(s) {
    if (document.visibilityState === "hidden") return;
    state = s;
    post(s);
  }
  var box = document.getElementById("reply-body");
  var typingTimer = null;
  if (box) {
    box.addEventListener("input", function () {
      replyingUntil = Date.now() + 5000;
      if (state !== "replying") say("replying");
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { if (state === "replying") say("viewing"); }, 5000);
    });
  }
  say("viewing");
  showPresence();
  window.addEventListener("focus", function () { if (state !== "replying") say("viewing"); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") say(Date.now() < replyingUntil ? "replying" : "viewing");
  });
  setInterval(function () {
    if (document.visibilityState === "visible") say(Date.now() < replyingUntil ? "replying" : "viewing");
    showPresence(); // others who left without a word expire
  }, 15000);
  window.addEventListener("pagehide", function () { post("gone", true); });
})();
