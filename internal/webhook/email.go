package webhook

import (
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/mailin"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/ttlcache"
)

// Email receives POST /webhooks/email/{shop}?token=…: one raw mail
// (Content-Type message/rfc822, or text/plain as some providers label
// it) from a mail provider's inbound forwarding. {shop} is the shop's id
// or myshopify domain. Providers sign their forwards each their own way,
// or not at all, and all of them post to an address the merchant
// configures, so the credential is a per-shop token in that address
// (Settings → Mail webhook), compared in constant time. The mail is
// stored through the intake before the 200; parsing and filing happen in
// its job, so a mail the parser cannot read is still kept.
func (rc *Receiver) Email(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := rc.shopByIDOrDomain(r, r.PathValue("shop"))
	if errors.Is(err, shop.ErrNotFound) {
		httpkit.WriteError(w, unauthorizedMail)
		return
	}
	if err != nil {
		rc.fail(ctx, w, "load shop", err)
		return
	}
	conn, err := rc.Connections.Get(ctx, s.ID, connection.ProviderMailWebhook)
	if errors.Is(err, connection.ErrNotFound) {
		httpkit.WriteError(w, unauthorizedMail)
		return
	}
	if err != nil {
		rc.fail(ctx, w, "load the mail webhook token", err)
		return
	}
	given := r.URL.Query().Get("token")
	if given == "" || subtle.ConstantTimeCompare([]byte(given), []byte(conn.Credentials)) != 1 {
		httpkit.WriteError(w, unauthorizedMail)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "message/rfc822" && mt != "text/plain") {
		httpkit.WriteError(w, &httpkit.Error{Status: http.StatusUnsupportedMediaType, Code: httpkit.CodeUnsupportedMediaType,
			Message: "send the raw mail with Content-Type message/rfc822 (or text/plain)"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, mailin.MaxMailBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		httpkit.WriteError(w, &httpkit.Error{Status: http.StatusRequestEntityTooLarge, Code: httpkit.CodePayloadTooLarge,
			Message: "mail over " + strconv.Itoa(mailin.MaxMailBytes>>20) + " MB"})
		return
	}
	if err != nil {
		httpkit.WriteError(w, httpkit.BadRequest("", "mail could not be read"))
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		httpkit.WriteError(w, httpkit.BadRequest("", "the body is empty: send the raw mail"))
		return
	}
	receipt, err := rc.Intake.Receive(ctx, intake.Delivery{ShopID: s.ID, Provider: intake.ProviderEmail, Topic: "webhook", Body: body})
	if err != nil {
		rc.fail(ctx, w, "store", err)
		return
	}
	httpkit.JSON(w, http.StatusOK, map[string]any{"received": true, "duplicate": receipt.Duplicate})
}

// unauthorizedMail is every refusal of a mail delivery without the right
// token — unknown shop, no token made, a wrong one — alike.
var unauthorizedMail = &httpkit.Error{Status: http.StatusUnauthorized, Code: httpkit.CodeUnauthorized, Message: "mail webhook token not valid"}

// shopByIDOrDomain finds the shop a webhook address names: its id, or
// its myshopify domain.
func (rc *Receiver) shopByIDOrDomain(r *http.Request, ref string) (*shop.Shop, error) {
	rc.shopsOnce.Do(func() { rc.shops = ttlcache.New[string, *shop.Shop](shopCacheTTL, nil) })
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return rc.shops.Get(strconv.FormatInt(id, 10), func() (*shop.Shop, error) { return rc.Shops.Get(r.Context(), id) })
	}
	ref = strings.ToLower(ref)
	return rc.shops.Get(ref, func() (*shop.Shop, error) { return rc.Shops.GetByDomain(r.Context(), ref) })
}
