package mailin

import (
	"mime"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// AutomatedReason says why a machine sent the mail, or "" when a person
// did. Answering a machine starts loops (two auto-responders answering
// each other) and files bounces as tickets, so these open no ticket and
// trigger no mail:
//   - Auto-Submitted other than "no" (RFC 3834: auto-replied, auto-generated);
//   - Precedence bulk, junk, list or auto_reply;
//   - X-Autoreply / X-Autorespond (Microsoft's X-Auto-Response-Suppress
//     is not one: it asks others not to answer);
//   - a delivery report (multipart/report; report-type=delivery-status),
//     or mail from MAILER-DAEMON / postmaster, or with an empty
//     Return-Path (the null sender every bounce uses).
func AutomatedReason(env *enmime.Envelope) string {
	if v := strings.ToLower(strings.TrimSpace(env.GetHeader("Auto-Submitted"))); v != "" && v != "no" {
		return "auto-submitted (" + oneLine(v, 40) + ")"
	}
	switch v := strings.ToLower(strings.TrimSpace(env.GetHeader("Precedence"))); v {
	case "bulk", "junk", "list", "auto_reply":
		return "precedence " + v
	}
	for _, h := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if strings.TrimSpace(env.GetHeader(h)) != "" {
			return "auto-reply (" + h + ")"
		}
	}
	if mt, params, err := mime.ParseMediaType(env.GetHeader("Content-Type")); err == nil && mt == "multipart/report" {
		switch rt := strings.ToLower(params["report-type"]); rt {
		case "delivery-status":
			return "bounce (delivery report)"
		case "disposition-notification":
			return "read receipt"
		default:
			return "report (" + oneLine(rt, 40) + ")"
		}
	}
	if rp, ok := returnPath(env); ok && rp == "" {
		return "bounce (null sender)"
	}
	if list, err := env.AddressList("From"); err == nil && len(list) > 0 {
		local := strings.ToLower(list[0].Address)
		if at := strings.LastIndexByte(local, '@'); at >= 0 {
			local = local[:at]
		}
		if local == "mailer-daemon" || local == "postmaster" {
			return "bounce (" + local + ")"
		}
	}
	return ""
}

// returnPath is the Return-Path the receiving server wrote, without angle
// brackets; ok is false when there is none.
func returnPath(env *enmime.Envelope) (string, bool) {
	values := env.GetHeaderValues("Return-Path")
	if len(values) == 0 {
		return "", false
	}
	v := strings.TrimSpace(values[0])
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")), true
}
