package demo

import (
	"fmt"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
)

// customerExternalID is the Shopify customer id seeding gives the i-th
// person; the storefront sandbox logs shoppers in under the same ids, so
// its signed logged_in_customer_id names a customer hubdesk knows.
func customerExternalID(i int) string { return fmt.Sprintf("7%09d", 100+i) }

// StorefrontCustomers are the seeded customers as storefront accounts,
// the demo shopper first so the storefront offers her first.
func StorefrontCustomers(res *Result) []sandbox.Customer {
	var out []sandbox.Customer
	for _, c := range res.Customers {
		if c == nil || c.ExternalID == "" {
			continue
		}
		sc := storefrontCustomer(c)
		if res.Shopper != nil && c.ID == res.Shopper.ID {
			out = append([]sandbox.Customer{sc}, out...)
			continue
		}
		out = append(out, sc)
	}
	return out
}

// DefaultStorefrontCustomers are the customers every demo seeds, known
// without a database: `hubdesk sandbox shopify` offers them, so a
// standalone storefront in front of a running `hubdesk demo` works as is.
func DefaultStorefrontCustomers() []sandbox.Customer {
	out := make([]sandbox.Customer, len(people))
	for i, p := range people {
		out[i] = sandbox.Customer{ID: customerExternalID(i), Email: p.email, FirstName: p.first, LastName: p.last,
			Phone: p.phone, Address: sandboxAddress(p)}
	}
	return out
}

// storefrontCustomer is the customer as the sandbox's storefront and
// Admin API know them: the same name, phone and date, and the address
// their orders ship to, so a refresh from the sandbox agrees with the
// seed (and fills in the default address the seed leaves out).
func storefrontCustomer(c *commerce.Customer) sandbox.Customer {
	sc := sandbox.Customer{ID: c.ExternalID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone, UpdatedAt: c.UpdatedAt}
	for _, p := range people {
		if p.email == c.Email {
			sc.Address = sandboxAddress(p)
		}
	}
	return sc
}
