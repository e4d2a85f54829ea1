package connection

import (
	"encoding/json"
	"fmt"
	"time"
)

// ProviderShopify is the shop's connection to its Shopify store: how it
// was made and the tokens it holds (ShopifyCredentials, sealed as JSON).
// Its Scopes map each scope hubdesk asks for to granted or missing.
const ProviderShopify Provider = "shopify"

// ShopifyMethod is how a shop connected to Shopify; each gets and keeps
// its token its own way.
type ShopifyMethod string

const (
	// ShopifyClientCredentials: a custom app made in the Dev Dashboard;
	// its client id and secret buy a token of about 24 hours, bought
	// again before it runs out.
	ShopifyClientCredentials ShopifyMethod = "client_credentials"
	// ShopifyAdminToken: an existing custom app made in the Shopify
	// admin; the merchant pasted its Admin API access token, which does
	// not expire, and its client secret.
	ShopifyAdminToken ShopifyMethod = "admin_token"
	// ShopifyPublicApp: hubdesk's public app, installed through the
	// authorization code grant; an expiring offline token (about 60
	// minutes) renewed with its refresh token. The client id and secret
	// are the app's, from the configuration, and are not stored here.
	ShopifyPublicApp ShopifyMethod = "public_app"
)

// ShopifyCredentials is what the Shopify connection keeps, sealed.
// AccessToken is empty once the app was uninstalled (the shop's data is
// kept; the tokens are not).
type ShopifyCredentials struct {
	Method       ShopifyMethod `json:"method"`
	ClientID     string        `json:"client_id,omitempty"`
	ClientSecret string        `json:"client_secret,omitempty"`
	AccessToken  string        `json:"access_token,omitempty"`
	ExpiresAt    *time.Time    `json:"expires_at,omitempty"`
	// RefreshAt is when the token is to be renewed, set as it is saved
	// (some time before ExpiresAt).
	RefreshAt        *time.Time `json:"refresh_at,omitempty"`
	RefreshToken     string     `json:"refresh_token,omitempty"`
	RefreshExpiresAt *time.Time `json:"refresh_expires_at,omitempty"`
	// GrantedScopes are the scopes Shopify said the token has.
	GrantedScopes []string `json:"granted_scopes,omitempty"`
	// UninstalledAt is when Shopify said the app was uninstalled.
	UninstalledAt *time.Time `json:"uninstalled_at,omitempty"`
}

// ShopifyCredentials reads the connection's credentials; it is an error
// to call it on another provider's connection.
func (c *Connection) ShopifyCredentials() (*ShopifyCredentials, error) {
	if c.Provider != ProviderShopify {
		return nil, fmt.Errorf("connection: %s is not a Shopify connection", c.Provider)
	}
	var sc ShopifyCredentials
	if err := json.Unmarshal([]byte(c.Credentials), &sc); err != nil {
		return nil, fmt.Errorf("connection: Shopify credentials are unreadable: %w", err)
	}
	return &sc, nil
}

// SetShopifyCredentials stores sc as the connection's credentials.
func (c *Connection) SetShopifyCredentials(sc *ShopifyCredentials) error {
	b, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	c.Provider = ProviderShopify
	c.Credentials = string(b)
	return nil
}

// Expired says whether the access token is gone or past its expiry at now.
func (sc *ShopifyCredentials) Expired(now time.Time) bool {
	return sc.AccessToken == "" || (sc.ExpiresAt != nil && !now.Before(*sc.ExpiresAt))
}
