// Package mailin reads the mail shoppers send to a shop's support
// address and files it: Parse turns raw MIME into a Mail (text, sanitised
// HTML, files, threading headers, and whether a machine sent it), and
// Handler, the intake's handler for email, hands it to the helpdesk's
// FromMail use case inside the transaction that marks the event
// processed. However the mail came — the SMTP listener, an IMAP mailbox,
// an inbound-parse webhook — it arrives here as a stored intake event.
package mailin

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/inbucket/html2text"
	"github.com/jhillyerd/enmime/v2"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/mailhtml"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// MaxMailBytes is the largest mail taken in: the 25 MiB of files a
// message may carry, base64-encoded (4/3), with room for the text.
const MaxMailBytes = 30 << 20

// maxForwardDepth bounds how deep forwarded mails inside forwarded mails
// are read for their text.
const maxForwardDepth = 3

// ErrMalformed refuses a mail that cannot be filed: not MIME, or no
// sender to answer. The reason follows it in the error's text.
var ErrMalformed = errors.New("mail cannot be read")

// Address is a mail's sender.
type Address struct {
	Email string // lower case
	Name  string
}

// File is an attachment or inline image of a mail.
type File struct {
	attachment.Upload
	// ContentID names an inline image for the HTML's cid: references,
	// without angle brackets; "" for an ordinary attachment.
	ContentID string
}

// Mail is one shopper's mail, read.
type Mail struct {
	MessageID string // without angle brackets; "" when the mail had none
	// Thread is the Message-IDs the mail answers, most likely first:
	// In-Reply-To, then References from the latest back.
	Thread  []string
	From    Address
	Subject string
	// Text is the plain text (derived from the HTML when the mail had
	// only HTML), valid UTF-8 — undecodable bytes became U+FFFD — and cut
	// to ticket.MaxBodyRunes with a note saying so.
	Text string
	// HTML is the mail's HTML part, sanitised (mailhtml.Sanitize); "" when
	// it had none, or more than mailhtml.MaxHTMLBytes.
	HTML  string
	Files []File
	// Dropped are notes on files not kept (over the attachment limits),
	// named so the agent can ask for them another way.
	Dropped []string
	// Automated says why a machine sent the mail — an auto-reply, a
	// bounce, a mailing list — and "" when a person did. Such mail opens
	// no ticket and is never answered (see AutomatedReason).
	Automated string
}

// Parse reads a raw mail. It is lenient where mail clients are sloppy
// (a missing charset, a part that does not decode: replacement
// characters) and refuses (ErrMalformed) only what cannot be filed at
// all: no headers, no sender address.
func Parse(raw []byte) (*Mail, error) {
	if len(raw) > MaxMailBytes {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrMalformed, MaxMailBytes>>20)
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, firstLine(err.Error()))
	}
	if len(env.GetHeaderKeys()) == 0 {
		return nil, fmt.Errorf("%w: no mail headers", ErrMalformed)
	}
	m := &Mail{
		MessageID: messageIDs(env.GetHeader("Message-Id")).first(),
		Subject:   cleanText(env.GetHeader("Subject")),
		Automated: AutomatedReason(env),
	}
	m.Thread = threadOf(env)
	m.From, err = sender(env)
	if err != nil {
		if m.Automated != "" {
			// A bounce often comes from no address at all; it is dropped
			// anyway, and says why rather than failing.
			return m, nil
		}
		return nil, err
	}

	var clean string
	if env.HTML != "" {
		clean = mailhtml.Sanitize(cleanText(env.HTML))
		if len(clean) <= mailhtml.MaxHTMLBytes {
			m.HTML = clean
		}
	}
	text := env.Text
	if !hasTextPart(env) && clean != "" {
		// HTML-only mail: the text is derived from the sanitised HTML, so
		// what a script or a javascript: link said never reaches it.
		if derived, err := html2text.FromString(clean); err == nil {
			text = derived
		}
	}
	m.Text = limitText(cleanText(text + forwarded(env, 1)))
	m.collectFiles(env)
	if strings.TrimSpace(m.Text) == "" {
		m.Text = noText(m)
	}
	return m, nil
}

// hasTextPart reports whether the mail has a text/plain body of its own
// (enmime derives one from the HTML when it has not).
func hasTextPart(env *enmime.Envelope) bool {
	if env.Root == nil {
		return false
	}
	return env.Root.DepthMatchFirst(func(p *enmime.Part) bool {
		return p.ContentType == "text/plain" && p.Disposition != "attachment"
	}) != nil || (env.Root.ContentType == "" && env.HTML == "")
}

// noText is the body of a mail that had no text: a photo sent with no
// words, say. The ticket still needs words to show in the inbox.
func noText(m *Mail) string {
	if len(m.Files) > 0 {
		names := make([]string, 0, len(m.Files))
		for _, f := range m.Files {
			names = append(names, attachment.CleanFilename(f.Filename))
		}
		return "(no text; files: " + strings.Join(names, ", ") + ")"
	}
	return "(no text)"
}

// sender is the mail's From address (Sender when From has none).
func sender(env *enmime.Envelope) (Address, error) {
	for _, h := range []string{"From", "Sender"} {
		list, err := env.AddressList(h)
		if err != nil || len(list) == 0 {
			continue
		}
		email := ticket.NormalizeEmail(list[0].Address)
		if at := strings.LastIndexByte(email, '@'); at > 0 && at < len(email)-1 {
			return Address{Email: email, Name: cleanText(list[0].Name)}, nil
		}
	}
	if raw := strings.TrimSpace(env.GetHeader("From")); raw != "" {
		return Address{}, fmt.Errorf("%w: the From address %q cannot be read", ErrMalformed, oneLine(raw, 80))
	}
	return Address{}, fmt.Errorf("%w: no From address", ErrMalformed)
}

// threadOf lists the Message-IDs the mail answers: In-Reply-To first,
// then References latest first, each once.
func threadOf(env *enmime.Envelope) []string {
	var out []string
	seen := map[string]bool{}
	add := func(ids []string) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	add(messageIDs(env.GetHeader("In-Reply-To")))
	refs := messageIDs(env.GetHeader("References"))
	for i, j := 0, len(refs)-1; i < j; i, j = i+1, j-1 {
		refs[i], refs[j] = refs[j], refs[i]
	}
	add(refs)
	if len(out) > maxThreadIDs {
		out = out[:maxThreadIDs]
	}
	return out
}

// maxThreadIDs bounds the ids a mail's threading is looked up by: a long
// conversation's References grow with every answer, and the latest few
// find it.
const maxThreadIDs = 20

type idList []string

func (l idList) first() string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// messageIDs reads the <id> tokens of a Message-ID, In-Reply-To or
// References header; a bare id (no brackets, as some clients send) is
// taken whole.
func messageIDs(h string) idList {
	var out idList
	rest := h
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		if id := cleanID(rest[i+1 : i+j]); id != "" {
			out = append(out, id)
		}
		rest = rest[i+j+1:]
	}
	if len(out) == 0 {
		if id := cleanID(h); id != "" && !strings.ContainsAny(id, " \t") {
			out = append(out, id)
		}
	}
	return out
}

// cleanID is a Message-ID as stored: trimmed, at most 250 bytes of
// printable ASCII, else "".
func cleanID(id string) string {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > 250 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return ""
		}
	}
	return id
}

// forwarded is the text of the mails attached to this one (a forward
// "as attachment"), each under a header saying whose it was, so the agent
// reads what the shopper forwarded without opening a file.
func forwarded(env *enmime.Envelope, depth int) string {
	if depth > maxForwardDepth || env.Root == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range env.Root.DepthMatchAll(func(p *enmime.Part) bool { return p.ContentType == "message/rfc822" }) {
		inner, err := enmime.ReadEnvelope(bytes.NewReader(p.Content))
		if err != nil {
			continue
		}
		b.WriteString("\n\n---------- Forwarded message ----------\n")
		for _, h := range []string{"From", "Date", "Subject", "To"} {
			if v := strings.TrimSpace(inner.GetHeader(h)); v != "" {
				b.WriteString(h + ": " + oneLine(v, 200) + "\n")
			}
		}
		b.WriteString("\n" + strings.TrimSpace(inner.Text) + forwarded(inner, depth+1))
	}
	return b.String()
}

// collectFiles keeps the mail's attachments and inline images within the
// attachment limits: a file too large, or one past the message's limits,
// is dropped with a note, and the mail is still filed.
func (m *Mail) collectFiles(env *enmime.Envelope) {
	var parts []*enmime.Part
	parts = append(parts, env.Attachments...)
	parts = append(parts, env.Inlines...)
	for _, p := range env.OtherParts {
		if p.ContentID != "" || p.FileName != "" {
			parts = append(parts, p) // images of multipart/related with no disposition
		}
	}
	total := 0
	for _, p := range parts {
		name := p.FileName
		if name == "" {
			name = defaultName(p.ContentType)
		}
		size := len(p.Content)
		switch {
		case size == 0:
			continue
		case size > attachment.MaxFileBytes:
			m.Dropped = append(m.Dropped, fmt.Sprintf("%s (%s) was not kept: larger than %d MiB", attachment.CleanFilename(name), humanSize(size), attachment.MaxFileBytes>>20))
			continue
		case len(m.Files) >= attachment.MaxFilesPerMessage:
			m.Dropped = append(m.Dropped, fmt.Sprintf("%s was not kept: more than %d files", attachment.CleanFilename(name), attachment.MaxFilesPerMessage))
			continue
		case total+size > attachment.MaxMessageBytes:
			m.Dropped = append(m.Dropped, fmt.Sprintf("%s (%s) was not kept: the mail's files pass %d MiB together", attachment.CleanFilename(name), humanSize(size), attachment.MaxMessageBytes>>20))
			continue
		}
		total += size
		m.Files = append(m.Files, File{Upload: attachment.Upload{Filename: name, Data: p.Content}, ContentID: mailhtml.ContentID(p.ContentID)})
	}
}

func defaultName(contentType string) string {
	switch {
	case contentType == "message/rfc822":
		return "forwarded.eml"
	case strings.HasPrefix(contentType, "image/"):
		return "image." + strings.TrimPrefix(contentType, "image/")
	}
	return "attachment"
}

func humanSize(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}

// cleanText is s as valid UTF-8 without NUL: bytes a charset did not
// decode become U+FFFD (the raw mail is kept on the intake event), and a
// NUL — which PostgreSQL's text refuses — is dropped.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// limitText cuts text to ticket.MaxBodyRunes, saying so at the end.
func limitText(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	const note = "\n\n[… the rest of this mail was cut: it was longer than the ticket keeps]"
	if utf8.RuneCountInString(s) <= ticket.MaxBodyRunes {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:ticket.MaxBodyRunes-utf8.RuneCountInString(note)])) + note
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(cleanText(s)), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return oneLine(s, 200)
}
