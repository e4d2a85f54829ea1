/* hubdesk Customer Hub drawer.
 * <script src="https://HUBDESK/hub/embed.js" data-shop="x.myshopify.com" data-proxy-path="/apps/hub" defer></script>
 * Optional: data-locale="de", data-button="false" (open it yourself with window.HubDesk.open()).
 * The drawer frames the storefront's own App Proxy path, so the hub runs
 * same-origin with the store and Shopify signs every request. */
(function () {
  "use strict";
  if (window.HubDesk) return;
  var script = document.currentScript || {};
  var data = script.dataset || {};
  var labels = /*LABELS*/{};
  var path = data.proxyPath || "/apps/hub";
  if (path.charAt(0) !== "/" || path.charAt(1) === "/") path = "/apps/hub";
  var lang = (data.locale || document.documentElement.lang || "en").toLowerCase().split(/[-_]/)[0];
  var t = labels[lang] || labels.en;
  var p = "hubdesk-";
  var css = "." + p + "btn{position:fixed;right:16px;bottom:16px;z-index:2147483000;font:600 15px/1.2 system-ui,sans-serif;" +
    "background:#1d2433;color:#fff;border:0;border-radius:999px;padding:12px 18px;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}" +
    "." + p + "btn:focus-visible,." + p + "close:focus-visible{outline:3px solid #2563eb;outline-offset:2px}" +
    "." + p + "backdrop{position:fixed;inset:0;background:rgba(17,24,39,.45);z-index:2147483001}" +
    "." + p + "drawer{position:fixed;top:0;right:0;bottom:0;width:min(440px,100vw);background:#fff;z-index:2147483002;" +
    "display:flex;flex-direction:column;box-shadow:-4px 0 24px rgba(0,0,0,.2);transition:transform .2s ease}" +
    "." + p + "drawer[hidden],." + p + "backdrop[hidden]{display:none}" +
    "." + p + "bar{display:flex;align-items:center;justify-content:space-between;padding:10px 12px 10px 16px;border-bottom:1px solid #d7dbe2}" +
    "." + p + "bar h2{margin:0;font:600 17px/1.3 system-ui,sans-serif;color:#1d2433}" +
    "." + p + "close{font:600 14px/1 system-ui,sans-serif;background:#fff;color:#1d2433;border:1px solid #8a93a3;border-radius:6px;padding:8px 12px;cursor:pointer}" +
    "." + p + "frame{flex:1;border:0;width:100%}" +
    "@media (prefers-reduced-motion:reduce){." + p + "drawer{transition:none}}";

  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  var button = null;
  if (data.button !== "false") {
    button = document.createElement("button");
    button.type = "button";
    button.className = p + "btn";
    button.textContent = t.open;
    button.setAttribute("aria-haspopup", "dialog");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", p + "drawer");
  }

  var backdrop = document.createElement("div");
  backdrop.className = p + "backdrop";
  backdrop.hidden = true;

  var drawer = document.createElement("div");
  drawer.id = p + "drawer";
  drawer.className = p + "drawer";
  drawer.hidden = true;
  drawer.setAttribute("role", "dialog");
  drawer.setAttribute("aria-modal", "true");
  drawer.setAttribute("aria-labelledby", p + "title");

  // Sentinels keep Tab inside the drawer: focus that leaves either end
  // comes back to the other.
  var before = sentinel(), after = sentinel();
  var bar = document.createElement("div");
  bar.className = p + "bar";
  var title = document.createElement("h2");
  title.id = p + "title";
  title.textContent = t.title;
  var close = document.createElement("button");
  close.type = "button";
  close.className = p + "close";
  close.textContent = t.close;
  bar.appendChild(title);
  bar.appendChild(close);
  var frame = document.createElement("iframe");
  frame.className = p + "frame";
  frame.title = t.title;
  drawer.appendChild(before);
  drawer.appendChild(bar);
  drawer.appendChild(frame);
  drawer.appendChild(after);

  function sentinel() {
    var s = document.createElement("span");
    s.tabIndex = 0;
    s.setAttribute("aria-hidden", "true");
    return s;
  }
  before.addEventListener("focus", function () { frame.focus(); });
  after.addEventListener("focus", function () { close.focus(); });

  // The page behind the drawer is inert while it is open: out of the tab
  // order and hidden from screen readers.
  var inerted = [];
  function setInert(on) {
    if (!on) {
      inerted.forEach(function (el) { el.inert = false; });
      inerted = [];
      return;
    }
    Array.prototype.forEach.call(document.body.children, function (el) {
      if (el !== drawer && el !== backdrop && !el.inert && el.tagName !== "SCRIPT") {
        el.inert = true;
        inerted.push(el);
      }
    });
  }

  var opener = null, overflow = "";
  function open() {
    if (!drawer.hidden) return;
    opener = document.activeElement;
    // view=drawer: the hub's own page, not the store's theme around it.
    if (!frame.src) frame.src = path + "?view=drawer" + (data.locale ? "&locale=" + encodeURIComponent(data.locale) : "");
    backdrop.hidden = false;
    drawer.hidden = false;
    overflow = document.documentElement.style.overflow;
    document.documentElement.style.overflow = "hidden";
    if (button) button.setAttribute("aria-expanded", "true");
    setInert(true);
    close.focus();
  }
  function shut() {
    if (drawer.hidden) return;
    drawer.hidden = true;
    backdrop.hidden = true;
    document.documentElement.style.overflow = overflow;
    setInert(false);
    if (button) button.setAttribute("aria-expanded", "false");
    var back = opener && document.contains(opener) ? opener : button;
    if (back && back.focus) back.focus();
  }

  if (button) button.addEventListener("click", open);
  close.addEventListener("click", shut);
  backdrop.addEventListener("click", shut);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !drawer.hidden) { e.preventDefault(); shut(); }
  });
  // Esc pressed inside the framed hub (hub.js) arrives as a message.
  window.addEventListener("message", function (e) {
    if (e.source === frame.contentWindow && e.data && e.data.type === "hubdesk:close") shut();
  });

  function mount() {
    if (button) document.body.appendChild(button);
    document.body.appendChild(backdrop);
    document.body.appendChild(drawer);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.HubDesk = { open: open, close: shut, shop: data.shop || "" };
})();
