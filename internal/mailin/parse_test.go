package mailin_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/mailin"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

func readMail(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// The corpus holds mail as the common clients and servers write it; each
// is read into what the helpdesk files.
func TestParseCorpus(t *testing.T) {
	cases := []struct {
		file      string
		id        string
		thread    []string
		from      string
		name      string
		subject   string
		text      []string // each in the text
		notText   []string
		html      []string // each in the HTML
		notHTML   []string
		files     []string // filename[:content-id]
		automated string   // a prefix of the reason; "" for a person
	}{
		{file: "alternative.eml", id: "alt-1@mail.example.com", from: "ada@example.com", name: "Ada Lovelace",
			subject: "Where is my order #1001?", text: []string{"has not arrived yet", "— Ada"},
			html: []string{"<b>#1001</b>"}, notHTML: []string{"<style", "color:red"}},
		{file: "html_only.eml", id: "html-only-1@example.org", from: "grace@example.org", name: "Grace Hopper", subject: "Rücksendung",
			text: []string{"send back the blue jacket", "track"}, notText: []string{"<div>", "alert(", "javascript:"},
			html:    []string{"<i>blue</i>", `rel="nofollow noreferrer noopener"`, `target="_blank"`},
			notHTML: []string{"<script", "alert", "onerror", "javascript:", "<iframe", "<form", "<input"}},
		{file: "latin1.eml", id: "latin1-1@example.fr", from: "francois@example.fr", name: "François Dupré", subject: "Problème de livraison",
			text: []string{"arrivé abîmé", "François"}},
		{file: "bad_charset.eml", id: "bad-charset-1@example.com", from: "x@example.com", subject: "broken bytes",
			text: []string{"Valid start", "\uFFFD", "and the end."}, notText: []string{"\x00"}},
		{file: "attachments.eml", id: "att-1@mail.example.com", from: "ada@example.com", name: "Ada Lovelace", subject: "Photos of the damage",
			text: []string{"photos and receipt attached"}, files: []string{"lamp.png", "receipt.pdf"}},
		{file: "inline_image.eml", id: "inline-1@mail.example.com", from: "ada@example.com", subject: "Screenshot",
			text: []string{"See the error below."}, html: []string{`src="cid:img1@example.com"`}, files: []string{"error.png:img1@example.com"}},
		{file: "bounce.eml", id: "bounce-1@mx.example.net", from: "mailer-daemon@mx.example.net", subject: "Undelivered Mail Returned to Sender",
			automated: "auto-submitted"},
		{file: "bounce_plain.eml", id: "bounce-2@example.net", from: "postmaster@example.net", subject: "failure notice", automated: "bounce"},
		{file: "autoreply.eml", id: "ooo-1@mail.example.com", thread: []string{"reply-9@hubdesk.test"}, from: "ada@example.com",
			subject: "Out of office: Re: Your order", automated: "auto-submitted"},
		{file: "precedence_bulk.eml", id: "bulk-1@brand.example", from: "news@brand.example", subject: "Our winter sale", automated: "precedence bulk"},
		{file: "reply_quoted.eml", id: "reply-q-1@mail.example.com", thread: []string{"hubdesk-reply-1@shop.test", "alt-1@mail.example.com"},
			from: "ada@example.com", subject: "Re: Where is my order #1001? [#42]", text: []string{"Thanks, that helps!", "> Your parcel is on its way."}},
		{file: "gmail.eml", id: "CAFx=gmail-1@mail.gmail.com", thread: []string{"hubdesk-reply-2@shop.test"}, from: "ada.lovelace@gmail.com",
			subject: "Re: Your return", text: []string{"Perfect, thank you."}, html: []string{`class="gmail_quote"`}, notHTML: []string{"style="}},
		{file: "outlook.eml", id: "AM0PR01MB1234@eurprd01.prod.outlook.com", thread: []string{"hubdesk-reply-3@shop.test"},
			from: "grace@outlook.example", subject: "RE: Exchange", text: []string{"Size M please."},
			html: []string{`id="divRplyFwdMsg"`}, notHTML: []string{"<style", "Calibri"}},
		{file: "forwarded.eml", id: "fwd-1@mail.example.com", from: "ada@example.com", subject: "Fwd: Your order confirmation",
			text:  []string{"the address is wrong", "---------- Forwarded message ----------", "Subject: Order #1001 confirmed", "Ships to 1 Wrong Street."},
			files: []string{"confirmation.eml"}},
		{file: "malformed_boundary.eml", id: "broken-1@example.com", from: "ada@example.com", subject: "Broken multipart",
			text: []string{"The text survives a missing end boundary."}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			m, err := mailin.Parse(readMail(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if m.MessageID != c.id || m.From.Email != c.from || m.Subject != c.subject {
				t.Errorf("id %q from %q subject %q, want %q %q %q", m.MessageID, m.From.Email, m.Subject, c.id, c.from, c.subject)
			}
			if c.name != "" && m.From.Name != c.name {
				t.Errorf("name %q, want %q", m.From.Name, c.name)
			}
			if strings.Join(m.Thread, " ") != strings.Join(c.thread, " ") {
				t.Errorf("thread %q, want %q", m.Thread, c.thread)
			}
			if c.automated == "" && m.Automated != "" || !strings.HasPrefix(m.Automated, c.automated) {
				t.Errorf("automated %q, want %q", m.Automated, c.automated)
			}
			if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) || strings.TrimSpace(m.Text) == "" {
				t.Errorf("text %q / HTML %q: empty or not UTF-8", m.Text, m.HTML)
			}
			for _, s := range c.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text %q lacks %q", m.Text, s)
				}
			}
			for _, s := range c.notText {
				if strings.Contains(m.Text, s) {
					t.Errorf("text %q has %q", m.Text, s)
				}
			}
			for _, s := range c.html {
				if !strings.Contains(m.HTML, s) {
					t.Errorf("HTML %q lacks %q", m.HTML, s)
				}
			}
			for _, s := range c.notHTML {
				if strings.Contains(strings.ToLower(m.HTML), strings.ToLower(s)) {
					t.Errorf("HTML %q has %q", m.HTML, s)
				}
			}
			var files []string
			for _, f := range m.Files {
				name := f.Filename
				if f.ContentID != "" {
					name += ":" + f.ContentID
				}
				files = append(files, name)
			}
			if strings.Join(files, ",") != strings.Join(c.files, ",") {
				t.Errorf("files %q, want %q", files, c.files)
			}
		})
	}
}

// Mail that cannot be filed is refused with the reason, never a panic.
func TestParseRefusesWhatCannotBeFiled(t *testing.T) {
	for file, reason := range map[string]string{
		"malformed_no_from.eml": "no From address",
		"not_mail.eml":          "MIME header",
	} {
		_, err := mailin.Parse(readMail(t, file))
		if !errors.Is(err, mailin.ErrMalformed) || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: %v, want ErrMalformed saying %q", file, err, reason)
		}
	}
	if _, err := mailin.Parse([]byte("From: <>\r\n\r\nhello")); !errors.Is(err, mailin.ErrMalformed) {
		t.Errorf("an empty From address: %v", err)
	}
}

// Files over the attachment limits are left out with a note naming them;
// the mail is still read.
func TestParseDropsOversizedFiles(t *testing.T) {
	big := strings.Repeat("QUFB", (attachment.MaxFileBytes/3)+10) // base64 of just over 10 MiB
	var b strings.Builder
	b.WriteString("From: ada@example.com\r\nSubject: big\r\nMessage-ID: <big@x>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nA video of the problem.\r\n")
	b.WriteString("--b\r\nContent-Type: video/mp4\r\nContent-Disposition: attachment; filename=clip.mp4\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for i := 0; i < len(big); i += 76 {
		b.WriteString(big[i:min(i+76, len(big))] + "\r\n")
	}
	b.WriteString("--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=small.txt\r\n\r\nsmall\r\n--b--\r\n")
	m, err := mailin.Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 || m.Files[0].Filename != "small.txt" {
		t.Errorf("files %+v, want only small.txt", m.Files)
	}
	if len(m.Dropped) != 1 || !strings.Contains(m.Dropped[0], "clip.mp4") || !strings.Contains(m.Dropped[0], "larger than 10 MiB") {
		t.Errorf("dropped %q", m.Dropped)
	}
	if !strings.Contains(m.Text, "A video of the problem.") {
		t.Errorf("text %q", m.Text)
	}
}

// A text longer than a ticket keeps is cut with a note, within the limit.
func TestParseCutsLongText(t *testing.T) {
	raw := "From: ada@example.com\r\nSubject: long\r\n\r\n" + strings.Repeat("word ", ticket.MaxBodyRunes)
	m, err := mailin.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(m.Text); n > ticket.MaxBodyRunes || !strings.HasSuffix(m.Text, "longer than the ticket keeps]") {
		t.Errorf("%d runes, ending %q", n, m.Text[len(m.Text)-60:])
	}
}

// FuzzParse: whatever arrives, Parse returns a mail or an error — no
// panic — and what it returns can be stored: UTF-8 without NUL, within
// the limits, HTML without script.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := mailin.Parse(raw)
		if err != nil {
			return
		}
		for _, s := range []string{m.Text, m.HTML, m.Subject, m.From.Name, m.MessageID} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("unstorable text %q", s)
			}
		}
		if utf8.RuneCountInString(m.Text) > ticket.MaxBodyRunes {
			t.Fatalf("text of %d runes", utf8.RuneCountInString(m.Text))
		}
		if strings.Contains(strings.ToLower(m.HTML), "<script") {
			t.Fatalf("script in %q", m.HTML)
		}
		if err := attachment.Check(uploads(m)); err != nil {
			t.Fatalf("files over the limits: %v", err)
		}
	})
}

func uploads(m *mailin.Mail) []attachment.Upload {
	var out []attachment.Upload
	for _, f := range m.Files {
		out = append(out, f.Upload)
	}
	return out
}

// BenchmarkParse reads the whole corpus per iteration: the cost of reading
// mail in the intake's job, before any database work.
func BenchmarkParse(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	var corpus [][]byte
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		corpus = append(corpus, raw)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range corpus {
			_, _ = mailin.Parse(raw)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(corpus))/1e3, "µs/mail")
}
