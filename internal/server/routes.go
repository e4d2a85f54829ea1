package server

import (
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"net/http"
	"slices"

	"github.com/hubdesk/hubdesk/internal/api"
	"github.com/hubdesk/hubdesk/internal/desk"
	"github.com/hubdesk/hubdesk/internal/user"
)

// routes is the whole route list, read top to bottom: operations, static
// files, the staff desk, the shoppers' Customer Hub, then the REST API. Each line names the handler
// that serves it and the access rule wrapped around it.
func (s *Server) routes() *http.ServeMux {
	mux := &routeList{ServeMux: http.NewServeMux()}
	s.mux = mux.ServeMux
	defer func() { s.patterns = mux.patterns }()
	d, a, h := s.desk, s.api, s.Hub
	tickets := &desk.TicketPages{Desk: d, Tickets: s.Tickets, Helpdesk: s.Helpdesk, Attachments: s.Attachments, Macros: s.Macros, Logger: s.logger,
		Viewer: &helpdesk.Viewer{DB: s.opts.DB, Tickets: s.Tickets, Shops: s.Shops, Macros: s.Macros, Users: s.Users, OrderView: s.Orders}}
	macros := &desk.MacroPages{Desk: d, Macros: s.Macros}
	files := &desk.AttachmentFiles{Desk: d, Attachments: s.Attachments}
	s.LivePages = &desk.LivePages{Desk: d, Tickets: s.Tickets, Bus: s.Live}
	hubTokens := &api.HubTokens{Commerce: s.Commerce, Issuer: s.Hub, Logger: s.logger}
	backfill := &api.ShopifyBackfill{Sync: s.ShopifySync, Logger: s.logger, Now: s.opts.Now}

	// Operations. /metrics is not here: Serve answers it on its own
	// listener (HUBDESK_METRICS_ADDR), out of the public one's reach.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /static/", s.Assets())

	// Staff desk (session cookie).
	mux.HandleFunc("GET /login", d.LoginPage)
	mux.HandleFunc("POST /login", d.Login)
	mux.HandleFunc("POST /logout", d.Logout)
	mux.HandleFunc("GET /forgot-password", d.ForgotPasswordPage)
	mux.HandleFunc("POST /forgot-password", d.ForgotPassword)
	mux.HandleFunc("GET /reset/{token}", d.ResetPasswordPage)
	mux.HandleFunc("POST /reset/{token}", d.ResetPassword)
	mux.HandleFunc("GET /invite/{token}", d.InvitationPage)
	mux.HandleFunc("POST /invite/{token}", d.AcceptInvitation)
	mux.Handle("GET /{$}", d.RequireUser(d.Home))
	mux.Handle("GET /customers", d.RequireUser(d.Customers))
	mux.Handle("GET /customers/{id}", d.RequireUser(d.Customer))
	mux.Handle("GET /orders", d.RequireUser(d.Orders))
	mux.Handle("GET /orders/{id}", d.RequireUser(d.Order))
	mux.Handle("POST /orders/{id}/return-link", d.RequireUser(d.InitiateReturn))
	mux.Handle("GET /orders/{id}/return-qr.png", d.RequireUser(d.ReturnQR))
	mux.Handle("GET /returns/unlinked", d.RequireRole(user.RoleManager, d.UnlinkedReturns))
	mux.Handle("POST /returns/{id}/link", d.RequireRole(user.RoleManager, d.LinkReturn))
	mux.Handle("GET /settings", d.RequireRole(user.RoleManager, d.SettingsGeneral))
	mux.Handle("GET /settings/general", d.RequireRole(user.RoleManager, d.SettingsGeneral))
	mux.Handle("POST /settings/general", d.RequireRole(user.RoleManager, d.SaveSettingsGeneral))
	mux.Handle("POST /settings/live", d.RequireRole(user.RoleManager, d.SetLive))
	mux.Handle("GET /settings/returns", d.RequireRole(user.RoleManager, d.SettingsReturns))
	mux.Handle("POST /settings/returns", d.RequireRole(user.RoleManager, d.SaveSettingsReturns))
	mux.Handle("POST /settings/returns/preview", d.RequireRole(user.RoleManager, d.PreviewReturns))
	mux.Handle("GET /settings/staff", d.RequireRole(user.RoleAdmin, d.Staff))
	mux.Handle("POST /settings/staff/{id}/disable", d.RequireRole(user.RoleAdmin, d.DisableStaff))
	mux.Handle("POST /settings/staff/{id}/enable", d.RequireRole(user.RoleAdmin, d.EnableStaff))
	mux.Handle("POST /settings/staff/tokens/{id}/revoke", d.RequireRole(user.RoleAdmin, d.RevokeStaffToken))
	mux.Handle("POST /settings/staff/{id}/role", d.RequireRole(user.RoleAdmin, d.ChangeStaffRole))
	mux.Handle("POST /settings/staff/{id}/reset-link", d.RequireRole(user.RoleAdmin, d.MakeResetLink))
	mux.Handle("POST /settings/staff/invitations", d.RequireRole(user.RoleAdmin, d.InviteStaff))
	mux.Handle("POST /settings/staff/invitations/{id}/resend", d.RequireRole(user.RoleAdmin, d.ResendInvitation))
	mux.Handle("POST /settings/staff/invitations/{id}/revoke", d.RequireRole(user.RoleAdmin, d.RevokeInvitation))
	mux.Handle("GET /audit", d.RequireRole(user.RoleManager, d.AuditLog))
	mux.Handle("GET /settings/mail", d.RequireRole(user.RoleAdmin, d.MailSettings))
	mux.Handle("POST /settings/mail/addresses", d.RequireRole(user.RoleAdmin, d.AddMailAddress))
	mux.Handle("POST /settings/mail/addresses/{id}/delete", d.RequireRole(user.RoleAdmin, d.RemoveMailAddress))
	mux.Handle("POST /settings/mail/imap", d.RequireRole(user.RoleAdmin, d.SaveIMAP))
	mux.Handle("POST /settings/mail/imap/delete", d.RequireRole(user.RoleAdmin, d.DisconnectIMAP))
	mux.Handle("GET /settings/mail-webhook", d.RequireRole(user.RoleAdmin, d.MailWebhook))
	mux.Handle("POST /settings/mail-webhook/token", d.RequireRole(user.RoleAdmin, d.NewMailWebhookToken))
	mux.Handle("GET /settings/privacy", d.RequireRole(user.RoleAdmin, d.PrivacyRequests))
	mux.Handle("GET /settings/privacy/{id}/export", d.RequireRole(user.RoleAdmin, d.PrivacyExport))
	mux.Handle("GET /settings/shopify/backfill", d.RequireRole(user.RoleAdmin, d.ShopifyBackfillPage))
	mux.Handle("POST /settings/shopify/backfill", d.RequireRole(user.RoleAdmin, d.StartShopifyBackfill))
	mux.Handle("GET /settings/shopify", d.RequireRole(user.RoleAdmin, d.ShopifySettings))
	mux.Handle("POST /settings/shopify/connect", d.RequireRole(user.RoleAdmin, d.ConnectShopify))
	mux.Handle("POST /settings/shopify/check", d.RequireRole(user.RoleAdmin, d.CheckShopify))
	mux.Handle("POST /settings/shopify/disconnect", d.RequireRole(user.RoleAdmin, d.DisconnectShopify))
	mux.Handle("GET /settings/jobs", d.RequireRole(user.RoleManager, d.Jobs))
	mux.Handle("POST /settings/jobs/{id}/retry", d.RequireRole(user.RoleManager, d.RetryJob))
	mux.Handle("GET /account/tokens", d.RequireUser(d.APITokens))
	mux.Handle("POST /account/tokens", d.RequireUser(d.CreateAPIToken))
	mux.Handle("POST /account/tokens/{id}/revoke", d.RequireUser(d.RevokeAPIToken))
	mux.Handle("GET /account/notifications", d.RequireUser(d.NotificationMailSettings))
	mux.Handle("POST /account/notifications", d.RequireUser(d.SetNotificationMail))
	mux.Handle("POST /account/signature", d.RequireUser(d.SetMailSignature))
	mux.Handle("GET /demo/mailbox", d.RequireUser(d.DemoMailbox))
	mux.Handle("GET /demo/mailbox/{id}/html", d.RequireUser(d.DemoMailboxHTML))
	mux.Handle("GET /tickets", d.RequireUser(tickets.List))
	mux.Handle("GET /tickets/spam", d.RequireRole(user.RoleManager, tickets.Spam))
	mux.Handle("GET /tickets/{id}/attachments/{attachmentID}", d.RequireUser(files.Download))
	mux.Handle("GET /tickets/{id}/macros/{macroID}/expanded", d.RequireUser(macros.Expanded))
	mux.Handle("GET /settings/macros", d.RequireRole(user.RoleManager, macros.List))
	mux.Handle("POST /settings/macros", d.RequireRole(user.RoleManager, macros.Create))
	mux.Handle("GET /settings/macros/{id}", d.RequireRole(user.RoleManager, macros.Edit))
	mux.Handle("POST /settings/macros/{id}", d.RequireRole(user.RoleManager, macros.Update))
	mux.Handle("POST /settings/macros/{id}/delete", d.RequireRole(user.RoleManager, macros.Delete))
	mux.Handle("POST /tickets/{id}/unread", d.RequireUser(tickets.MarkUnread))
	mux.Handle("GET /notifications", d.RequireUser(d.Notifications))
	mux.Handle("POST /notifications/read", d.RequireUser(d.ReadNotifications))
	mux.Handle("GET /reports", d.RequireRole(user.RoleManager, d.Reports))
	mux.Handle("GET /tickets/new", d.RequireUser(tickets.New))
	mux.Handle("POST /tickets", d.RequireUser(tickets.Create))
	mux.Handle("GET /tickets/{id}", d.RequireUser(tickets.Show))
	mux.Handle("POST /tickets/{id}/reply", d.RequireUser(tickets.Reply))
	mux.Handle("POST /tickets/{id}/note", d.RequireUser(tickets.Note))
	mux.Handle("POST /tickets/{id}/status", d.RequireUser(tickets.SetStatus))
	mux.Handle("POST /tickets/{id}/assign", d.RequireUser(tickets.Assign))
	mux.Handle("POST /tickets/{id}/tags", d.RequireUser(tickets.SetTags))
	mux.Handle("POST /tickets/{id}/merge", d.RequireUser(tickets.Merge))
	mux.Handle("POST /tickets/{id}/spam", d.RequireUser(tickets.MarkSpam))
	mux.Handle("POST /tickets/{id}/block", d.RequireUser(tickets.BlockSender))
	mux.Handle("GET /events", d.RequireUser(s.LivePages.Events))
	mux.Handle("GET /tickets/{id}/presence", d.RequireUser(s.LivePages.Presence))
	mux.Handle("POST /tickets/{id}/presence", d.RequireUser(s.LivePages.SetPresence))

	// Customer Hub, for shoppers: App Proxy signature or shopper token on
	// every request (Shopify forwards /apps/<subpath>/... here). Admins
	// preview it for one customer with the draft settings.
	mux.Handle("GET /hub", h.Shopper(h.Orders))
	mux.Handle("GET /hub/{$}", h.Shopper(h.Orders))
	mux.Handle("GET /hub/orders/{id}", h.Shopper(h.Order))
	mux.Handle("POST /hub/orders/{id}/return", h.Shopper(h.StartReturn))
	mux.Handle("POST /hub/orders/{id}/contact", h.Shopper(h.Contact))
	mux.Handle("GET /hub/messages", h.Shopper(h.Messages))
	mux.Handle("GET /hub/messages/{id}", h.Shopper(h.Conversation))
	mux.Handle("POST /hub/messages/{id}", h.Shopper(h.Answer))
	mux.Handle("GET /hub/account", h.Shopper(h.Account))
	// Guest orders: the lookup form (App Proxy, signed; or ?shop= on
	// hubdesk's own domain), the mailed one-time link (a page whose button
	// posts to it: only the post uses the link up), and the one order
	// it opens, carried by a signed grant in its links.
	mux.Handle("GET /hub/guest", h.GuestEntry(h.GuestForm))
	mux.Handle("POST /hub/guest", h.GuestEntry(h.GuestLookup))
	mux.HandleFunc("GET /hub/guest/open", h.GuestOpen)
	mux.HandleFunc("POST /hub/guest/open", h.GuestOpenPost)
	mux.Handle("GET /hub/guest/order", h.Guest(h.Order))
	mux.Handle("POST /hub/guest/order/return", h.Guest(h.StartReturn))
	mux.Handle("POST /hub/guest/order/contact", h.Guest(h.Contact))
	mux.HandleFunc("GET /hub/embed.js", h.EmbedJS)
	mux.Handle("GET /settings/hub-preview", d.RequireRole(user.RoleManager, h.Preview(h.Orders)))
	mux.Handle("GET /settings/hub-preview/orders/{id}", d.RequireRole(user.RoleManager, h.Preview(h.Order)))
	mux.Handle("POST /settings/hub-preview/orders/{id}/return", d.RequireRole(user.RoleManager, h.Preview(h.StartReturn)))
	mux.Handle("POST /settings/hub-preview/orders/{id}/contact", d.RequireRole(user.RoleManager, h.Preview(h.Contact)))
	mux.Handle("GET /settings/hub-preview/messages", d.RequireRole(user.RoleManager, h.Preview(h.Messages)))
	mux.Handle("GET /settings/hub-preview/messages/{id}", d.RequireRole(user.RoleManager, h.Preview(h.Conversation)))
	mux.Handle("POST /settings/hub-preview/messages/{id}", d.RequireRole(user.RoleManager, h.Preview(h.Answer)))
	mux.Handle("GET /settings/hub-preview/account", d.RequireRole(user.RoleManager, h.Preview(h.Account)))
	mux.Handle("GET /settings/hub-preview/guest", d.RequireRole(user.RoleManager, h.GuestPreview(h.GuestForm)))
	mux.Handle("POST /settings/hub-preview/guest", d.RequireRole(user.RoleManager, h.GuestPreview(h.GuestLookup)))
	mux.Handle("GET /settings/hub-preview/guest/order", d.RequireRole(user.RoleManager, h.GuestPreview(h.Order)))
	mux.Handle("POST /settings/hub-preview/guest/order/return", d.RequireRole(user.RoleManager, h.GuestPreview(h.StartReturn)))
	mux.Handle("POST /settings/hub-preview/guest/order/contact", d.RequireRole(user.RoleManager, h.GuestPreview(h.Contact)))

	// The public Shopify app's install: Shopify's signed redirect and the
	// single-use state (bound to the browser by a cookie) are the credentials.
	mux.HandleFunc("GET /shopify/install", d.ShopifyInstall)
	mux.HandleFunc("GET /shopify/callback", d.ShopifyCallback)

	// Webhooks: the provider's signature over the body is the credential.
	mux.HandleFunc("POST /webhooks/loop/{shop}", s.webhooks.Loop)
	mux.HandleFunc("POST /webhooks/shopify", s.webhooks.Shopify)
	// Raw mail from providers' inbound forwarding: the shop's token in the address is the credential.
	mux.HandleFunc("POST /webhooks/email/{shop}", s.webhooks.Email)

	// REST API v1 (bearer token). Agents read, and work tickets; commerce
	// data is written by integrations holding a Manager's or higher token.
	mux.HandleFunc("GET /api/v1/openapi.json", a.OpenAPI)
	mux.Handle("GET /api/v1/customers", s.apiUser(a.ListCustomers))
	mux.Handle("PUT /api/v1/customers", s.apiRole(user.RoleManager, a.UpsertCustomer))
	mux.Handle("GET /api/v1/customers/{id}", s.apiUser(a.GetCustomer))
	mux.Handle("GET /api/v1/customers/{id}/orders", s.apiUser(a.ListCustomerOrders))
	mux.Handle("GET /api/v1/orders", s.apiUser(a.ListOrders))
	mux.Handle("PUT /api/v1/orders", s.apiRole(user.RoleManager, a.UpsertOrder))
	mux.Handle("GET /api/v1/orders/{id}", s.apiUser(a.GetOrder))
	mux.Handle("GET /api/v1/orders/{id}/returns", s.apiUser(a.ListOrderReturns))
	mux.Handle("GET /api/v1/orders/{id}/return-eligibility", s.apiUser(a.GetReturnEligibility))
	mux.Handle("POST /api/v1/orders/{id}/return-link", s.apiUser(a.CreateReturnLink))
	mux.Handle("GET /api/v1/settings/returns", s.apiRole(user.RoleManager, a.GetReturnsSettings))
	mux.Handle("PUT /api/v1/settings/returns", s.apiRole(user.RoleManager, a.PutReturnsSettings))
	mux.Handle("GET /api/v1/settings/shopify", s.apiRole(user.RoleAdmin, a.GetShopifySettings))
	mux.Handle("PUT /api/v1/settings/shopify", s.apiRole(user.RoleAdmin, a.PutShopifySettings))
	mux.Handle("DELETE /api/v1/settings/shopify", s.apiRole(user.RoleAdmin, a.DeleteShopifySettings))
	mux.Handle("GET /api/v1/audit", s.apiRole(user.RoleManager, a.ListAudit))
	mux.Handle("GET /api/v1/jobs", s.apiRole(user.RoleManager, a.ListJobs))
	mux.Handle("GET /api/v1/privacy/requests", s.apiRole(user.RoleAdmin, a.ListPrivacyRequests))
	mux.Handle("GET /api/v1/privacy/requests/{id}/export", s.apiRole(user.RoleAdmin, a.GetPrivacyExport))
	mux.Handle("POST /api/v1/hub/tokens", s.apiRole(user.RoleAdmin, hubTokens.Issue))
	mux.Handle("GET /api/v1/shopify/backfill", s.apiRole(user.RoleAdmin, backfill.Get))
	mux.Handle("POST /api/v1/shopify/backfill", s.apiRole(user.RoleAdmin, backfill.Start))
	mux.Handle("GET /api/v1/tickets", s.apiUser(a.ListTickets))
	mux.Handle("POST /api/v1/tickets", s.apiUser(a.CreateTicket))
	mux.Handle("GET /api/v1/tickets/{id}", s.apiUser(a.GetTicket))
	mux.Handle("PATCH /api/v1/tickets/{id}", s.apiUser(a.UpdateTicket))
	mux.Handle("GET /api/v1/tickets/{id}/messages", s.apiUser(a.ListTicketMessages))
	mux.Handle("POST /api/v1/tickets/{id}/messages", s.apiUser(a.AddTicketMessage))
	mux.HandleFunc("/api/", s.apiFallback)

	// Anything else.
	mux.HandleFunc("/", d.NotFound)
	return mux.ServeMux
}

// routeList is a ServeMux that remembers the patterns registered on it, in
// order, so the route-table test can insist that each one has its access
// rule checked.
type routeList struct {
	*http.ServeMux
	patterns []string
}

func (l *routeList) Handle(pattern string, h http.Handler) {
	l.patterns = append(l.patterns, pattern)
	l.ServeMux.Handle(pattern, h)
}

func (l *routeList) HandleFunc(pattern string, h http.HandlerFunc) {
	l.Handle(pattern, h)
}

// Routes lists every pattern of the route list, in the order registered.
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }
