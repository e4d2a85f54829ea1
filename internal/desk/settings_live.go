package desk

import (
	"fmt"
	"slices"

	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// goLive is what the Live switch's confirmation says before the draft is
// published: what shoppers (and agents) will see differently, in words,
// and what will not work with the draft.
type goLive struct {
	Changes  []string
	Warnings []string
}

// goLiveSummary compares the published configuration with the draft that
// going live would publish. The returns destination is described by where
// the sample order's Start a return would go, the same resolver code as
// the click.
func goLiveSummary(published, draft returns.Config, sample orderview.Sample) *goLive {
	g := &goLive{}
	add := func(format string, a ...any) { g.Changes = append(g.Changes, fmt.Sprintf(format, a...)) }
	pg, dg := published.General, draft.General
	if pg.HubEnabled != dg.HubEnabled {
		add("The Customer Hub will be %s for shoppers.", onOff(dg.HubEnabled, "switched on", "switched off: shoppers see that it is unavailable"))
	}
	if pg.HelpdeskEnabled != dg.HelpdeskEnabled {
		add("%s", onOff(dg.HelpdeskEnabled, "Shoppers will be able to contact support from the hub.", "Shoppers will no longer see the Contact support form in the hub."))
	}
	if pg.InTheme != dg.InTheme {
		add("%s", onOff(dg.InTheme, "The hub will show inside the store's theme, between its header and footer.", "The hub will show as a page of its own, outside the store's theme."))
	}
	if pg.ReturnWindowDays != dg.ReturnWindowDays {
		add("The return window will be %d days instead of %d.", dg.ReturnWindowDays, pg.ReturnWindowDays)
	}
	switch {
	case pg.HelpCentreURL == dg.HelpCentreURL:
	case dg.HelpCentreURL == "":
		add("The hub will no longer link to a help centre.")
	default:
		add("The hub's Help centre link will go to %s.", dg.HelpCentreURL)
	}
	if pg.LogoURL != dg.LogoURL {
		add("%s", onOff(dg.LogoURL != "", "Emails to shoppers will show the new logo.", "Emails to shoppers will show the shop's name instead of a logo."))
	}
	if !slices.Equal(pg.StorefrontDomains, dg.StorefrontDomains) {
		add("The storefront domains the hub accepts forms from will change.")
	}
	pr, dr := published.Returns, draft.Returns
	switch pOn, dOn := published.ReturnsEnabled(), draft.ReturnsEnabled(); {
	case pOn && !dOn:
		add("Shoppers will no longer see Start a return.")
	case !pOn && dOn:
		add("Shoppers will see Start a return, going to %s.", providerName(dr.Provider))
	case dOn && pr.Provider != dr.Provider:
		add("Start a return will go to %s instead of %s.", providerName(dr.Provider), providerName(pr.Provider))
	}
	if published.ReturnsEnabled() && draft.ReturnsEnabled() {
		if before, after := sample.Preview(published).Text(), sample.Preview(draft).Text(); before != after && sample.Order != nil {
			add("Start a return on sample order %s will go to %s (now: %s).", sample.Order.Name, after, before)
		}
	}
	if pr.HideInitiateReturn != dr.HideInitiateReturn {
		add("%s", onOff(dr.HideInitiateReturn, "Agents will no longer see Initiate return on tickets and orders.", "Agents will see Initiate return on tickets and orders."))
	}
	if len(g.Changes) == 0 && !reflectEqual(published, draft) {
		add("Settings that shoppers do not see directly (parameter names, lookups) will change.")
	}
	if dr.Provider == returns.ProviderLoop {
		g.Warnings = returns.ScopeWarnings(dr.KeyCheck)
		if !draft.ReturnsEnabled() {
			g.Warnings = append(g.Warnings, "Loop is the returns provider but has no API key or portal URL: shoppers will not see Start a return.")
		}
	}
	if !dg.HubEnabled {
		g.Warnings = append(g.Warnings, "The Customer Hub is switched off in this draft: shoppers will not reach it.")
	}
	return g
}

func onOff(on bool, yes, no string) string {
	if on {
		return yes
	}
	return no
}

func providerName(p returns.Provider) string { return label(staffLocale, "provider", p) }

// reflectEqual reports whether going live would publish anything at all.
func reflectEqual(a, b returns.Config) bool {
	st := returns.State{Draft: b, Published: a}
	return !st.Unpublished()
}
