package demo

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// MailboxSize is how many mails the demo's mailbox keeps; older ones are
// dropped, so a long-running demo does not grow without bound.
const MailboxSize = 200

// maxCapturedBytes bounds one captured mail: the demo sends replies and
// notifications, never anything near this.
const maxCapturedBytes = 2 << 20

// CapturedMail is one mail the demo's relay took, decoded for the
// mailbox page.
type CapturedMail struct {
	ID       int
	At       time.Time
	From, To string // envelope
	Subject  string
	// Header holds the headers as sent: Message-ID, In-Reply-To,
	// References, Auto-Submitted.
	Header mail.Header
	Text   string
	HTML   string
}

// Mailbox is the demo's SMTP relay: a real SMTP server on a loopback port
// that hubdesk sends through (HUBDESK_SMTP_RELAY), keeping what it
// receives in memory for the desk's mailbox page instead of delivering
// it, so a newcomer sees what shoppers and agents would receive.
type Mailbox struct {
	addr   string
	server *smtp.Server
	mu     sync.Mutex
	mails  []CapturedMail // oldest first
	nextID int
}

// StartMailbox listens on a free loopback port until Close.
func StartMailbox() (*Mailbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mb := &Mailbox{addr: ln.Addr().String()}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &mailboxSession{mb: mb}, nil }))
	s.Domain = "localhost"
	s.MaxMessageBytes = maxCapturedBytes
	s.MaxRecipients = 10
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	mb.server = s
	go s.Serve(ln)
	return mb, nil
}

// URL is the relay's HUBDESK_SMTP_RELAY.
func (mb *Mailbox) URL() string { return "smtp://" + mb.addr }

// Close stops the server.
func (mb *Mailbox) Close() error { return mb.server.Close() }

// Mails are the kept mails, newest first.
func (mb *Mailbox) Mails() []CapturedMail {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	out := make([]CapturedMail, len(mb.mails))
	for i, m := range mb.mails {
		out[len(out)-1-i] = m
	}
	return out
}

// Mail is one kept mail by id.
func (mb *Mailbox) Mail(id int) (CapturedMail, bool) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	for _, m := range mb.mails {
		if m.ID == id {
			return m, true
		}
	}
	return CapturedMail{}, false
}

func (mb *Mailbox) keep(m CapturedMail) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.nextID++
	m.ID = mb.nextID
	mb.mails = append(mb.mails, m)
	if len(mb.mails) > MailboxSize {
		mb.mails = append([]CapturedMail(nil), mb.mails[len(mb.mails)-MailboxSize:]...)
	}
}

type mailboxSession struct {
	mb       *Mailbox
	from, to string
}

func (s *mailboxSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }

func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.to != "" {
		s.to += ", "
	}
	s.to += to
	return nil
}

func (s *mailboxSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parseCaptured(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "cannot read the message: " + err.Error()}
	}
	m.From, m.To, m.At = s.from, s.to, time.Now()
	s.mb.keep(m)
	return nil
}

func (s *mailboxSession) Reset()        { s.from, s.to = "", "" }
func (s *mailboxSession) Logout() error { return nil }

// parseCaptured decodes hubdesk's own mail: plain text, or
// multipart/alternative of text and HTML, quoted-printable or base64.
func parseCaptured(raw []byte) (CapturedMail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return CapturedMail{}, err
	}
	got := CapturedMail{Header: msg.Header}
	got.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	media, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		media = "text/plain"
	}
	if !strings.HasPrefix(media, "multipart/") {
		body, err := decodePart(msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
		if err != nil {
			return CapturedMail{}, err
		}
		if media == "text/html" {
			got.HTML = body
		} else {
			got.Text = body
		}
		return got, nil
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := parts.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return CapturedMail{}, err
		}
		body, err := decodePart(p, p.Header.Get("Content-Transfer-Encoding"))
		if err != nil {
			return CapturedMail{}, err
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			got.HTML = body
		} else if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			got.Text = body
		}
	}
	return got, nil
}

func decodePart(r io.Reader, encoding string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = newBase64Reader(r)
	}
	b, err := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}

// newBase64Reader decodes base64 that is broken into lines.
func newBase64Reader(r io.Reader) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, &lineStripper{r: r})
}

// lineStripper drops line breaks, which base64 in mail has every 76
// characters.
type lineStripper struct{ r io.Reader }

func (l *lineStripper) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' {
			p[j] = b
			j++
		}
	}
	return j, err
}

// MailFrom is the demo's sender (HUBDESK_MAIL_FROM) when none is given.
const MailFrom = ShopName + " <support@demo.hubdesk.dev>"
