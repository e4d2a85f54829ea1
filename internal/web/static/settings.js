// Live preview of the URL a sample order gets, as the admin edits the
// returns settings. The server computes the same URL on save (returns.PortalURL).
(function () {
  var form = document.getElementById("returns-form");
  var out = document.getElementById("preview-url");
  if (!form || !out) return;
  var defaults = {aftership: ["order_number", "email"], parcellab: ["orderNo", "email"], narvar: ["order", "email"]};
  // Go's url.QueryEscape: everything but letters, digits and -_.~ is escaped, space as "+".
  function esc(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    }).replace(/%20/g, "+");
  }
  function withParams(base, params) {
    var hash = "", i = base.indexOf("#");
    if (i >= 0) { hash = base.slice(i); base = base.slice(0, i); }
    var q = "", j = base.indexOf("?");
    if (j >= 0) { q = base.slice(j + 1); base = base.slice(0, j); }
    var pairs = q ? q.split("&") : [];
    params.forEach(function (p) {
      if (!p[0] || !p[1]) return;
      var enc = esc(p[0]) + "=" + esc(p[1]), done = false;
      for (var k = 0; k < pairs.length && !done; k++) {
        if (decodeURIComponent(pairs[k].split("=")[0]) === p[0]) { pairs[k] = enc; done = true; }
      }
      if (!done) pairs.push(enc);
    });
    return base + (pairs.length ? "?" + pairs.join("&") : "") + hash;
  }
  function val(name) {
    var el = form.elements[name];
    return el ? el.value.trim() : "";
  }
  function update() {
    var checked = form.querySelector("input[name=provider]:checked");
    var p = checked ? checked.value : "disabled";
    var order = form.dataset.sampleOrder, email = form.dataset.sampleEmail, zip = form.dataset.sampleZip;
    var text = "— (no Start a return button)";
    if (p === "other" && val("portal_url")) text = val("portal_url");
    if (defaults[p] && val("portal_url")) {
      text = withParams(val("portal_url"), [
        [val("param_" + p + "_order") || defaults[p][0], order],
        [val("param_" + p + "_email") || defaults[p][1], email]]);
    }
    if (p === "loop") {
      var hasKey = val("loop_api_key") || /ending in/.test(form.elements.loop_api_key.placeholder);
      if (hasKey) text = "A deep link created by Loop for " + order + " when the shopper presses the button";
      else if (val("loop_portal_url")) text = withParams(val("loop_portal_url"), [["order", order], ["zip", zip]]);
    }
    out.textContent = text;
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
