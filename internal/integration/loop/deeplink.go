package loop

import (
	"context"
	"net/http"
)

// Scope is a permission a Loop API key carries.
type Scope string

const (
	ScopeOrders         Scope = "orders"          // deep links, QR links (and, assumed, eligibility)
	ScopeReturns        Scope = "returns"         // returns list, return details
	ScopeDeveloperTools Scope = "developer_tools" // webhook subscriptions
)

// DeepLinkRequest identifies an order the way Loop's portal does: by name and
// a lookup value.
type DeepLinkRequest struct {
	// OrderName is the store's order name, e.g. "#1001".
	OrderName string
	// Lookup is what the shop's Loop portal asks for next to the order name:
	// the shipping postal code by default, or the email or phone. Loop calls
	// the field "zip" whatever it holds.
	Lookup string
	// Gift starts Loop's gift-return flow.
	Gift bool
}

type deepLinkBody struct {
	Name string `json:"name"`
	Zip  string `json:"zip"`
	Gift bool   `json:"gift"`
}

// DeepLink is a URL that opens the shop's Loop portal on the order.
type DeepLink struct {
	URL string `json:"url"`
}

// CreateDeepLink asks Loop for a deep link into its returns portal (scope
// Orders). Loop answers 400 when it cannot find the order with that lookup
// value: that is ErrNotFound.
func (c *Client) CreateDeepLink(ctx context.Context, r DeepLinkRequest) (DeepLink, error) {
	req := request{
		endpoint: "create_deep_link", op: "create deep link for " + r.OrderName, scope: ScopeOrders,
		method: http.MethodPost, path: "/order/link",
		body: deepLinkBody{Name: r.OrderName, Zip: r.Lookup, Gift: r.Gift},
		// Creating a link has no lasting effect in Loop, so a lost answer
		// may be asked again.
		idempotent: true,
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return DeepLink{}, err
	}
	var out DeepLink
	if err := decode(req, resp, &out); err != nil {
		return DeepLink{}, err
	}
	if out.URL == "" {
		return DeepLink{}, &Error{Op: req.op, Kind: KindUnavailable, Status: resp.status, Message: "Loop answered without a url"}
	}
	return out, nil
}

// QR image formats Loop can render.
const (
	QRPNG = "png"
	QRSVG = "svg"
	QREPS = "eps"
)

// QRRequest is a DeepLinkRequest plus the image Loop should render.
type QRRequest struct {
	DeepLinkRequest
	Type string // QRPNG (Loop's default), QRSVG or QREPS; "" lets Loop choose
	Size int    // pixels; 0 lets Loop choose
}

type qrBody struct {
	Name string `json:"name"`
	Zip  string `json:"zip"`
	Gift bool   `json:"gift"`
	Type string `json:"type,omitempty"`
	Size int    `json:"size,omitempty"`
}

// QRCode is Loop's answer to a QR request: a link to the image (Loop does not
// send image data) and the deep link it encodes.
type QRCode struct {
	QR          string `json:"qr"`
	DeepLinkURL string `json:"deeplink_url"`
}

// CreateQR asks Loop for a deep link and a QR image of it (scope Orders).
// hubdesk renders QR codes itself from the deep link; this exists for shops
// that want Loop's branded image.
func (c *Client) CreateQR(ctx context.Context, r QRRequest) (QRCode, error) {
	req := request{
		endpoint: "create_qr", op: "create QR deep link for " + r.OrderName, scope: ScopeOrders,
		method: http.MethodPost, path: "/order/qr",
		body:       qrBody{Name: r.OrderName, Zip: r.Lookup, Gift: r.Gift, Type: r.Type, Size: r.Size},
		idempotent: true,
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return QRCode{}, err
	}
	var out QRCode
	if err := decode(req, resp, &out); err != nil {
		return QRCode{}, err
	}
	if out.QR == "" && out.DeepLinkURL == "" {
		return QRCode{}, &Error{Op: req.op, Kind: KindUnavailable, Status: resp.status, Message: "Loop answered without qr or deeplink_url"}
	}
	return out, nil
}
