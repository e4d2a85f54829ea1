package macro

import (
	"regexp"
	"slices"
	"strings"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/user"
)

// Placeholder names Expand knows. The set is fixed: macros are written by
// staff but read by no template engine, so a body can never run code or
// reach data beyond these four values.
const (
	CustomerFirstName = "customer.first_name"
	OrderName         = "order.name"
	OrderTrackingURL  = "order.tracking_url"
	AgentFirstName    = "agent.first_name"
)

// Placeholders lists the names in the order the settings page shows them.
var Placeholders = []string{CustomerFirstName, OrderName, OrderTrackingURL, AgentFirstName}

// MacroContext holds the values of one ticket's placeholders; an empty
// field is a value the ticket does not have.
type MacroContext struct {
	CustomerFirstName string
	OrderName         string
	OrderTrackingURL  string // the tracking link of the order's latest shipment
	AgentFirstName    string
}

func (c MacroContext) value(name string) (string, bool) {
	switch name {
	case CustomerFirstName:
		return c.CustomerFirstName, true
	case OrderName:
		return c.OrderName, true
	case OrderTrackingURL:
		return c.OrderTrackingURL, true
	case AgentFirstName:
		return c.AgentFirstName, true
	}
	return "", false
}

// placeholder is {{name}} or {{name|fallback}}, spaces allowed around the
// name; the fallback runs to the closing braces and holds no braces or
// line breaks.
var placeholder = regexp.MustCompile(`\{\{\s*([a-z_]+\.[a-z_]+)\s*(?:\|([^{}\r\n]*))?\}\}`)

// Expand fills a macro body's placeholders with the ticket's values, in
// one pass: a value is inserted as text and never expanded again (a
// customer named "{{agent.first_name}}" stays so named). A missing value
// becomes the placeholder's fallback ({{customer.first_name|there}}) or
// nothing; an unknown name, or anything else in braces ({{.}},
// {{printf "%s"}}), is left as written so the agent sees it before
// sending.
func Expand(body string, c MacroContext) string {
	return placeholder.ReplaceAllStringFunc(body, func(m string) string {
		parts := placeholder.FindStringSubmatch(m)
		v, known := c.value(parts[1])
		switch {
		case !known:
			return m
		case v == "":
			return strings.TrimSpace(parts[2])
		}
		return v
	})
}

// UnknownPlaceholders lists the placeholders of body whose names Expand
// does not know, once each, in order.
func UnknownPlaceholders(body string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(body, -1) {
		if _, known := (MacroContext{}).value(m[1]); !known && !slices.Contains(out, m[0]) {
			out = append(out, m[0])
		}
	}
	return out
}

// ContextFor builds the placeholders' values from what a ticket links
// to: its customer (nil when not matched; then the first word of the name
// the shopper gave), its order (nil when none) and the agent who inserts
// the macro.
func ContextFor(customer *commerce.Customer, requesterName string, order *commerce.Order, agent *user.User) MacroContext {
	var c MacroContext
	if customer != nil {
		c.CustomerFirstName = firstWord(customer.FirstName)
	}
	if c.CustomerFirstName == "" {
		c.CustomerFirstName = firstWord(requesterName)
	}
	if order != nil {
		c.OrderName = order.Name
		c.OrderTrackingURL = latestTrackingURL(order.Fulfillments)
	}
	if agent != nil {
		c.AgentFirstName = firstWord(agent.Name)
	}
	return c
}

// latestTrackingURL is the tracking link of the newest shipment that
// still counts and has one.
func latestTrackingURL(fs []commerce.Fulfillment) string {
	var latest *commerce.Fulfillment
	for i := range fs {
		f := &fs[i]
		if !f.Active() || f.TrackingURL == "" {
			continue
		}
		if latest == nil || !f.CreatedAt.Before(latest.CreatedAt) {
			latest = f
		}
	}
	if latest == nil {
		return ""
	}
	return latest.TrackingURL
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// DefaultMacros are saved replies a new shop can start from (the demo
// seed and onboarding may create them); each uses only known placeholders.
func DefaultMacros() []Input {
	return []Input{
		{Name: "Where is my order", Body: "Hi {{customer.first_name|there}},\n\n" +
			"Thanks for reaching out. Your order {{order.name}} is on its way: you can follow it here: {{order.tracking_url|(the tracking link follows as soon as the parcel ships)}}\n\n" +
			"If it has not arrived within a few days, reply to this message and we will look into it.\n\nBest,\n{{agent.first_name}}"},
		{Name: "Return instructions", Body: "Hi {{customer.first_name|there}},\n\n" +
			"You can return items from order {{order.name}} within our return window. Open your order in our Customer Hub and choose " +
			"\"Start a return\": you will get a label and the address to send the parcel to. Please pack the items in their original packaging.\n\n" +
			"Best,\n{{agent.first_name}}"},
		{Name: "Refund issued", Body: "Hi {{customer.first_name|there}},\n\n" +
			"Good news: we have issued your refund for order {{order.name}}. It goes back to your original payment method and usually shows " +
			"within 5–10 business days, depending on your bank.\n\nBest,\n{{agent.first_name}}"},
	}
}
