package sandbox

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// newProxy builds the App Proxy: a reverse proxy that signs what it
// forwards and shares no cookies between storefront and app.
func (s *Sandbox) newProxy() http.Handler {
	transport := s.opts.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = s.opts.ProxyTimeout
		transport = t
	}
	rp := &httputil.ReverseProxy{
		Rewrite:        s.rewrite,
		Transport:      transport,
		ModifyResponse: s.modifyResponse,
		ErrorHandler:   s.proxyError,
		// Stream as Shopify does; the hub's pages are small, but a slow
		// app must not look like a fast one.
		FlushInterval: -1,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.target == nil {
			s.proxyError(w, r, fmt.Errorf("no proxy target configured"))
			return
		}
		started := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(rec, r)
		cust, _ := s.loggedIn(r)
		s.log.Info("app proxy", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"logged_in_customer_id", cust.ID, "ms", time.Since(started).Milliseconds())
	})
}

// rewrite turns the shopper's storefront request into the app's request.
func (s *Sandbox) rewrite(pr *httputil.ProxyRequest) {
	in := pr.In
	rest := strings.TrimPrefix(in.URL.EscapedPath(), s.opts.ProxyPrefix)
	out, err := url.Parse(s.target.String() + rest)
	if err != nil { // an escaped path from net/http always parses
		out = &url.URL{Scheme: s.target.Scheme, Host: s.target.Host, Path: s.target.Path}
	}
	// The shopper's own query is kept; Shopify's parameters replace any of
	// the same name the shopper sent, including a forged signature.
	shopper, _ := url.ParseQuery(in.URL.RawQuery)
	cust, _ := s.loggedIn(in)
	q := shopify.SignedProxyQuery(shopper, shopify.ProxyParams{
		Shop:               s.opts.Shop,
		LoggedInCustomerID: cust.ID,
		PathPrefix:         s.opts.ProxyPrefix,
		Timestamp:          s.opts.Now(),
	}, s.opts.ClientSecret)
	if s.opts.ForwardShopperDuplicates {
		q = withShopperDuplicates(q, shopper, s.opts.ClientSecret)
	}
	out.RawQuery = q.Encode()
	pr.Out.URL = out
	pr.Out.Host = "" // the app's own host, as Shopify calls the proxy URL
	pr.Out.Header.Del("Cookie")
	if ip, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		pr.Out.Header.Set("X-Forwarded-For", ip)
	}
	pr.Out.Header.Set("X-Forwarded-Host", in.Host)
}

// withShopperDuplicates puts the shopper's values of the identity
// parameters ahead of the proxy's own in signed query q and signs the
// result (Options.ForwardShopperDuplicates). The shopper's signature, if
// any, stays beside the real one, which is signed over everything else.
func withShopperDuplicates(q, shopper url.Values, clientSecret string) url.Values {
	for _, k := range shopify.ProxyIdentityParams {
		if vs := shopper[k]; len(vs) > 0 && k != "signature" {
			q[k] = append(append([]string(nil), vs...), q[k]...)
		}
	}
	sig := shopify.SignProxy(q, clientSecret)
	q["signature"] = append(append([]string(nil), shopper["signature"]...), sig)
	return q
}

// modifyResponse strips the app's cookies: the app cannot keep a session
// on the shop's domain. Everything else passes through, except a Liquid
// answer, which the storefront renders inside its own layout.
func (s *Sandbox) modifyResponse(resp *http.Response) error {
	resp.Header.Del("Set-Cookie")
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/liquid" {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	var page bytes.Buffer
	if err := s.renderTo(&page, "App", s.liquidBody(body)); err != nil {
		return err
	}
	resp.Header.Set("Content-Type", "text/html; charset=utf-8")
	resp.Header.Del("Content-Encoding")
	resp.Header.Set("Content-Length", strconv.Itoa(page.Len()))
	resp.ContentLength = int64(page.Len())
	resp.Body = io.NopCloser(&page)
	return nil
}

// liquidBody shows a Liquid answer inside the layout. The sandbox does not
// evaluate Liquid: the body is inserted as the app sent it.
func (s *Sandbox) liquidBody(body []byte) template.HTML {
	return template.HTML(`<section class="card">` + string(body) + `</section>`)
}

// proxyError answers when the app cannot be reached or is too slow.
func (s *Sandbox) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Warn("app proxy: app did not answer", "path", r.URL.Path, "err", err)
	s.render(w, r, http.StatusBadGateway, "App unavailable", "unavailable", nil)
}

// statusRecorder remembers the status code for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush on the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
