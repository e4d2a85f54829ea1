package desk

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/macro"
)

// TestHelpdeskPartials renders what the ticket view writes for files and
// macros: every file is a download link, only raster images
// get a thumbnail, names are escaped, and the picker names the ticket
// and the reply box.
func TestHelpdeskPartials(t *testing.T) {
	d, err := New(Desk{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	render := func(name string, data any) string {
		w := httptest.NewRecorder()
		d.render.Fragment(w, 200, name, data)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
		return w.Body.String()
	}
	files := []attachment.Attachment{
		{ID: 5, TicketID: 9, Filename: "damage.png", ContentType: "image/png", Size: 2_400_000},
		{ID: 6, TicketID: 9, Filename: `logo".svg<script>`, ContentType: "text/plain", Size: 512},
		{ID: 7, TicketID: 9, Filename: "invoice.pdf", ContentType: "application/pdf", Size: 48_000},
	}
	var w htmlWriter
	attachmentsHTML(&w, files)
	got := w.String()
	for _, want := range []string{
		`<img src="/tickets/9/attachments/5?inline=1" alt="damage.png"`,
		`<a href="/tickets/9/attachments/5" download="damage.png">damage.png</a> <span class="muted small">2.4 MB</span>`,
		`<a href="/tickets/9/attachments/6" download="logo&#34;.svg&lt;script&gt;">logo&#34;.svg&lt;script&gt;</a> <span class="muted small">512 B</span>`,
		`<a href="/tickets/9/attachments/7" download="invoice.pdf">invoice.pdf</a> <span class="muted small">48 KB</span>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("attachments lack %s:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "<img"); n != 1 {
		t.Errorf("%d thumbnails, want 1 (the PNG only):\n%s", n, got)
	}
	var none htmlWriter
	if attachmentsHTML(&none, nil); none.String() != "" {
		t.Error("a message without files renders something")
	}
	if got := render("attachment-input", nil); !strings.Contains(got, `name="files" type="file" multiple`) {
		t.Errorf("file field: %s", got)
	}

	picker := newMacroPicker(9, []*macro.Macro{{ID: 3, Name: "Where is <my> order"}}, "reply-body")
	got = render("macro-picker", picker)
	for _, want := range []string{`data-ticket="9"`, `data-target="reply-body"`, `<option value="3">Where is &lt;my&gt; order</option>`, `/static/macros.`} {
		if !strings.Contains(got, want) {
			t.Errorf("picker lacks %s:\n%s", want, got)
		}
	}
	if render("macro-picker", newMacroPicker(9, nil, "reply-body")) != "" {
		t.Error("a shop without macros gets a picker")
	}
}
