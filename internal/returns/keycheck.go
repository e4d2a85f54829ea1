package returns

import "github.com/hubdesk/hubdesk/internal/integration/loop"

// ScopeWarnings says, for people, what breaks without each missing scope.
func ScopeWarnings(kc *KeyCheck) []string {
	if kc == nil {
		return nil
	}
	var w []string
	switch kc.Orders {
	case string(loop.ScopeDenied):
		w = append(w, "The key lacks the Orders scope: Start a return, Initiate return links and QR codes will fail.")
	case string(loop.ScopeUnknown):
		w = append(w, "The Orders scope could not be checked (Loop did not answer): return links may fail.")
	}
	switch kc.Returns {
	case string(loop.ScopeDenied):
		w = append(w, "The key lacks the Returns scope: return statuses cannot be fetched, so agents see only what webhooks deliver.")
	case string(loop.ScopeUnknown):
		w = append(w, "The Returns scope could not be checked (Loop did not answer): return statuses may fail.")
	}
	if kc.DeveloperTools == string(loop.ScopeDenied) {
		w = append(w, "The key lacks Developer Tools: Loop's webhooks cannot be registered automatically for this key.")
	}
	return w
}
