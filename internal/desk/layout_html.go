package desk

import (
	"sync"

	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/web"
)

// The layout around every desk page (side navigation, notification badge,
// the shortcuts dialog) is written in Go — the same markup as the
// "layout" template of templates/layout.html, which
// TestLayoutMatchesTheTemplate holds it to — for the reason the inbox's
// rows are (inbox_rows.go): html/template's reflective walk of the
// layout's twenty-odd catalogue look-ups on every page cost more than
// most pages' own values. Its constant parts are written once; every
// value goes through htmlWriter.text.

// layoutHead is the layout's markup before the page: the document's head
// and, for a signed-in user, the side navigation.
func layoutHead(l *locale.Locale, assets *web.Assets, v *view) string {
	var w htmlWriter
	w.Grow(2048)
	w.raw(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>`)
	w.text(v.Title)
	w.raw(` · hubdesk</title>
<link rel="stylesheet" href="`)
	w.text(assets.URL("desk.css"))
	w.raw(`">
</head>
<body>
<a class="skip" href="#main">`)
	w.text(l.T("nav.skip"))
	w.raw(`</a>
`)
	if v.User == nil {
		w.raw(`
<main id="main" class="login">`)
		return w.String()
	}
	w.raw(`
<div class="shell">
  <aside class="side">
    <div class="side-top">
      <a class="brand" href="/">hubdesk</a>
      <a class="notify`)
	if v.Notifications != 0 {
		w.raw(` has-unread`)
	}
	w.raw(`" href="/notifications" id="notifications-link">
        `)
	w.text(l.T("nav.notifications"))
	if v.Notifications != 0 {
		w.raw(` <span class="count" id="notification-count" title="`)
		w.text(l.N("notifications.badge", v.Notifications))
		w.raw(`">`)
		w.int(int64(v.Notifications))
		w.raw(`</span>`)
	}
	w.raw(`
      </a>
    </div>
    <nav aria-label="Main">
      `)
	for _, n := range v.Nav {
		w.raw(`<a href="`)
		w.text(n.Path)
		w.raw(`"`)
		if n.Current {
			w.raw(` aria-current="page"`)
		}
		w.raw(`>`)
		w.text(l.T(n.LabelKey))
		w.raw(`</a>`)
	}
	w.raw(`
    </nav>
    <div class="who">
      <div>`)
	w.text(v.User.DisplayName())
	w.raw(`</div>
      <div>`)
	w.text(label(l, "role", v.User.Role))
	w.raw(` · `)
	w.text(v.Shop.Name)
	w.raw(`</div>
      <div><a href="/account/tokens">API tokens</a> · <a href="/account/notifications">Email notifications</a></div>
      <form method="post" action="/logout"><button type="submit">Log out</button></form>
    </div>
  </aside>
  <main id="main">`)
	return w.String()
}

// layoutTail is the layout's markup after the page; it holds no value of
// the page's, so it is written once per locale and assets.
func layoutTail(l *locale.Locale, assets *web.Assets, signedIn bool) string {
	if !signedIn {
		return "</main>\n\n</body>\n</html>"
	}
	if l == staffLocale && assets == web.DefaultAssets {
		return staffTail()
	}
	return writeLayoutTail(l, assets)
}

// staffTail is the signed-in tail of the desk's own locale and assets.
var staffTail = sync.OnceValue(func() string { return writeLayoutTail(staffLocale, web.DefaultAssets) })

func writeLayoutTail(l *locale.Locale, assets *web.Assets) string {
	var w htmlWriter
	t := func(key string) { w.text(l.T(key)) }
	w.raw(`</main>
</div>
<dialog id="shortcuts" aria-labelledby="shortcuts-title">
  <h2 id="shortcuts-title">`)
	t("shortcuts.title")
	w.raw(`</h2>
  <dl class="shortcuts">
    <dt class="group">`)
	t("shortcuts.group.inbox")
	w.raw(`</dt><dd></dd>
    <dt><kbd>j</kbd></dt><dd>`)
	t("shortcuts.next")
	w.raw(`</dd>
    <dt><kbd>k</kbd></dt><dd>`)
	t("shortcuts.previous")
	w.raw(`</dd>
    <dt><kbd>Enter</kbd> `)
	t("shortcuts.or")
	w.raw(` <kbd>o</kbd></dt><dd>`)
	t("shortcuts.open")
	w.raw(`</dd>
    <dt class="group">`)
	t("shortcuts.group.ticket")
	w.raw(`</dt><dd></dd>
    <dt><kbd>r</kbd></dt><dd>`)
	t("shortcuts.reply")
	w.raw(`</dd>
    <dt><kbd>n</kbd></dt><dd>`)
	t("shortcuts.note")
	w.raw(`</dd>
    <dt><kbd>e</kbd></dt><dd>`)
	t("shortcuts.close_ticket")
	w.raw(`</dd>
    <dt><kbd>a</kbd></dt><dd>`)
	t("shortcuts.assign")
	w.raw(`</dd>
    <dt class="group">`)
	t("shortcuts.group.everywhere")
	w.raw(`</dt><dd></dd>
    <dt><kbd>/</kbd></dt><dd>`)
	t("shortcuts.search")
	w.raw(`</dd>
    <dt><kbd>?</kbd></dt><dd>`)
	t("shortcuts.help")
	w.raw(`</dd>
  </dl>
  <form method="dialog"><button type="submit">`)
	t("shortcuts.close")
	w.raw(`</button></form>
</dialog>
<script src="`)
	w.text(assets.URL("desk.js"))
	w.raw(`" defer></script>

</body>
</html>`)
	return w.String()
}
