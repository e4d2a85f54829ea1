package hub

import (
	"io/fs"
	"regexp"
	"testing"

	"github.com/hubdesk/hubdesk/internal/locale"
)

// TestTemplatesUseKnownKeys: every literal key a template asks for is in
// the catalogues, and every status, shipment and return state the code
// can produce has its text.
func TestTemplatesUseKnownKeys(t *testing.T) {
	key := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	err := fs.WalkDir(templateFiles, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(templateFiles, p)
		if err != nil {
			return err
		}
		for _, m := range key.FindAllStringSubmatch(string(raw), -1) {
			if !locale.Hub.For("en").Has(m[1]) {
				t.Errorf("%s uses unknown key %q", p, m[1])
			}
		}
		// Shopper-facing words belong in the catalogues: a template's text
		// outside tags is only template actions, punctuation and names.
		text := regexp.MustCompile(`(?s)<[^>]*>|\{\{.*?\}\}`).ReplaceAllString(string(raw), " ")
		if words := regexp.MustCompile(`\p{L}{3,}`).FindAllString(text, -1); len(words) > 0 {
			t.Errorf("%s has literal text %v; use a catalogue key", p, words)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var dynamic []string
	for _, s := range []string{"cancelled", "processing", "partially_shipped", "in_transit", "out_for_delivery", "delivered", "return_in_progress", "returned"} {
		dynamic = append(dynamic, "status."+s)
	}
	for _, s := range []string{"placed", "shipped", "out_for_delivery", "delivered", "cancelled"} {
		dynamic = append(dynamic, "timeline."+s)
	}
	for _, s := range []string{"pending", "label_printed", "confirmed", "in_transit", "out_for_delivery", "attempted_delivery", "delivered", "failure"} {
		dynamic = append(dynamic, "shipment."+s)
	}
	for _, s := range []string{"open", "review", "closed", "cancelled", "expired"} {
		dynamic = append(dynamic, "return.state."+s)
	}
	for _, k := range dynamic {
		if !locale.Hub.For("en").Has(k) {
			t.Errorf("no text for %q", k)
		}
	}
}
