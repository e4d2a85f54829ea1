package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// The token side (shared/contracts/shopify.md §6): the authorization
// page of a public app's install (auto-approved with one click) and
// /admin/oauth/access_token for the authorization code grant (expiring=1:
// an access token of ExpiringTokenTTL and a refresh token), the
// refresh_token grant and the client credentials grant of custom apps,
// every access token issued through the token registry the Admin API
// checks.

// Token lifetimes as Shopify gives them.
const (
	DefaultExpiringTokenTTL     = time.Hour
	DefaultRefreshTokenTTL      = 90 * 24 * time.Hour
	DefaultClientCredentialsTTL = 24 * time.Hour
	authorizationCodeTTL        = time.Minute
)

// App is an app the token endpoint knows: the public app
// (Options.ClientID and Options.ClientSecret) or a custom app made in the
// Dev Dashboard, whose client credentials buy tokens with Scopes.
type App struct {
	ClientID     string
	ClientSecret string
	Scopes       []string // custom apps: the scopes their tokens get (DefaultAdminScopes when empty)
}

type grant struct {
	clientID string
	scopes   []string
	expires  time.Time
}

// oauthState is the token side's mutable state, behind Sandbox.amu.
type oauthState struct {
	apps    map[string]App   // by client id
	codes   map[string]grant // authorization codes, single use
	refresh map[string]grant // refresh tokens, single use (rotated)
	// grantScopes, when set, are what the merchant approves instead of
	// what the app asked for (tests: a merchant who unticks scopes).
	grantScopes []string
	// refused makes every token request answer 401 invalid_client (tests:
	// Shopify revoking the app's credentials).
	refused bool
}

func (s *Sandbox) initOAuth() {
	if s.opts.ExpiringTokenTTL <= 0 {
		s.opts.ExpiringTokenTTL = DefaultExpiringTokenTTL
	}
	if s.opts.ClientCredentialsTTL <= 0 {
		s.opts.ClientCredentialsTTL = DefaultClientCredentialsTTL
	}
	s.oauth = oauthState{apps: map[string]App{}, codes: map[string]grant{}, refresh: map[string]grant{}}
	if s.opts.ClientID != "" {
		s.oauth.apps[s.opts.ClientID] = App{ClientID: s.opts.ClientID, ClientSecret: s.opts.ClientSecret}
	}
	for _, a := range s.opts.CustomApps {
		s.oauth.apps[a.ClientID] = a
	}
}

// AddApp makes the token endpoint know a custom app (a merchant creating
// one in the Dev Dashboard).
func (s *Sandbox) AddApp(a App) {
	s.amu.Lock()
	s.oauth.apps[a.ClientID] = a
	s.amu.Unlock()
}

// GrantScopes makes the merchant approve exactly these scopes on the
// install page, whatever the app asks for; nil restores approving all.
func (s *Sandbox) GrantScopes(scopes []string) {
	s.amu.Lock()
	s.oauth.grantScopes = slices.Clone(scopes)
	s.amu.Unlock()
}

// RefuseTokens makes the token endpoint refuse every request (true) or
// answer again (false).
func (s *Sandbox) RefuseTokens(refuse bool) {
	s.amu.Lock()
	s.oauth.refused = refuse
	s.amu.Unlock()
}

func randomToken(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Install app · {{.Shop}}</title>
<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
button{font:inherit;padding:.6rem 1.2rem;background:#008060;color:#fff;border:0;border-radius:.4rem;cursor:pointer}
li{margin:.2rem 0}</style></head>
<body><h1>Install app</h1>
<p>An app (client id <code>{{.ClientID}}</code>) asks to be installed on <strong>{{.Shop}}</strong> with access to:</p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>
<form method="post" action="/admin/oauth/authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<button type="submit" id="install">Install app</button>
</form>
<p><small>Shopify sandbox: nothing here is real; approving is one click.</small></p>
</body></html>`))

// authorizeRequest is what both halves of the authorization page read.
type authorizeRequest struct {
	Shop, ClientID, Scope, RedirectURI, State string
	Scopes                                    []string
}

func (s *Sandbox) readAuthorize(w http.ResponseWriter, r *http.Request) (authorizeRequest, bool) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return authorizeRequest{}, false
	}
	a := authorizeRequest{Shop: s.opts.Shop, ClientID: r.Form.Get("client_id"), Scope: r.Form.Get("scope"),
		RedirectURI: r.Form.Get("redirect_uri"), State: r.Form.Get("state")}
	a.Scopes = shopify.SplitScopes(a.Scope)
	s.amu.Lock()
	_, known := s.oauth.apps[a.ClientID]
	s.amu.Unlock()
	u, err := url.Parse(a.RedirectURI)
	switch {
	case !known || a.ClientID != s.opts.ClientID:
		http.Error(w, "Oauth error invalid_request: The client_id is not a public app of this sandbox", http.StatusBadRequest)
		return a, false
	case a.RedirectURI == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		http.Error(w, "Oauth error invalid_request: The redirect_uri is missing or not an http(s) URL", http.StatusBadRequest)
		return a, false
	}
	return a, true
}

// installPage shows the install page (GET /admin/oauth/authorize).
func (s *Sandbox) installPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.readAuthorize(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = authorizePage.Execute(w, a)
}

// installApprove is the merchant clicking Install (POST /admin/oauth/authorize):
// back to the app's redirect_uri with a code, signed as Shopify signs it.
func (s *Sandbox) installApprove(w http.ResponseWriter, r *http.Request) {
	a, ok := s.readAuthorize(w, r)
	if !ok {
		return
	}
	code := randomToken("")
	s.amu.Lock()
	scopes := a.Scopes
	if s.oauth.grantScopes != nil {
		scopes = s.oauth.grantScopes
	}
	s.oauth.codes[code] = grant{clientID: a.ClientID, scopes: slices.Clone(scopes), expires: s.opts.Now().Add(authorizationCodeTTL)}
	s.amu.Unlock()
	q := url.Values{}
	q.Set("code", code)
	q.Set("shop", s.opts.Shop)
	q.Set("state", a.State)
	q.Set("timestamp", strconv.FormatInt(s.opts.Now().Unix(), 10))
	q.Set("host", base64.RawURLEncoding.EncodeToString([]byte("admin.shopify.com/store/"+strings.TrimSuffix(s.opts.Shop, ".myshopify.com"))))
	q.Set("hmac", shopify.SignOAuthQuery(q, s.opts.ClientSecret))
	sep := "?"
	if strings.Contains(a.RedirectURI, "?") {
		sep = "&"
	}
	http.Redirect(w, r, a.RedirectURI+sep+q.Encode(), http.StatusFound)
}

// accessToken serves POST /admin/oauth/access_token, form or JSON.
func (s *Sandbox) accessToken(w http.ResponseWriter, r *http.Request) {
	in := url.Values{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if json.Unmarshal(body, &m) != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is not JSON")
			return
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				in.Set(k, v)
			case float64:
				in.Set(k, strconv.FormatFloat(v, 'f', -1, 64))
			case bool:
				in.Set(k, strconv.FormatBool(v))
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a form")
			return
		}
		in = r.PostForm
	}
	s.amu.Lock()
	refused := s.oauth.refused
	app, known := s.oauth.apps[in.Get("client_id")]
	s.amu.Unlock()
	if refused || !known || subtle.ConstantTimeCompare([]byte(app.ClientSecret), []byte(in.Get("client_secret"))) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	switch gt := in.Get("grant_type"); {
	case gt == "" || gt == "authorization_code":
		s.codeGrant(w, app, in)
	case gt == "refresh_token":
		s.refreshGrant(w, app, in.Get("refresh_token"))
	case gt == "client_credentials":
		if app.ClientID == s.opts.ClientID {
			// A public app gets tokens by install, not by its credentials alone.
			oauthError(w, http.StatusBadRequest, "unauthorized_client", "The client credentials grant is for custom apps")
			return
		}
		tok := s.IssueAccessToken(app.Scopes, s.opts.ClientCredentialsTTL)
		scopes := app.Scopes
		if len(scopes) == 0 {
			scopes = DefaultAdminScopes
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "scope": strings.Join(scopes, ","),
			"expires_in": int64(s.opts.ClientCredentialsTTL / time.Second)})
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported")
	}
}

// take removes a single-use code or refresh token and says whether it
// was good for clientID.
func (s *Sandbox) take(m map[string]grant, key, clientID string) (grant, bool) {
	s.amu.Lock()
	defer s.amu.Unlock()
	g, ok := m[key]
	if !ok || key == "" {
		return grant{}, false
	}
	delete(m, key)
	return g, g.clientID == clientID && s.opts.Now().Before(g.expires)
}

func (s *Sandbox) codeGrant(w http.ResponseWriter, app App, in url.Values) {
	g, ok := s.take(s.oauth.codes, in.Get("code"), app.ClientID)
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid, used or expired")
		return
	}
	if in.Get("expiring") != "1" {
		// Non-expiring offline tokens are what public apps may no longer get.
		tok := s.IssueAccessToken(g.scopes, 0)
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "scope": strings.Join(g.scopes, ",")})
		return
	}
	s.issueExpiring(w, g)
}

func (s *Sandbox) refreshGrant(w http.ResponseWriter, app App, refreshToken string) {
	g, ok := s.take(s.oauth.refresh, refreshToken, app.ClientID)
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid, used or expired")
		return
	}
	s.issueExpiring(w, g)
}

// issueExpiring answers with an expiring access token and a new refresh
// token carrying the same grant.
func (s *Sandbox) issueExpiring(w http.ResponseWriter, g grant) {
	tok := s.IssueAccessToken(g.scopes, s.opts.ExpiringTokenTTL)
	rt := randomToken("shprt_sbx_")
	s.amu.Lock()
	s.oauth.refresh[rt] = grant{clientID: g.clientID, scopes: g.scopes, expires: s.opts.Now().Add(DefaultRefreshTokenTTL)}
	s.amu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "scope": strings.Join(g.scopes, ","),
		"expires_in": int64(s.opts.ExpiringTokenTTL / time.Second), "refresh_token": rt,
		"refresh_token_expires_in": int64(DefaultRefreshTokenTTL / time.Second)})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
