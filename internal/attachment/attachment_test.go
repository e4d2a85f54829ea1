package attachment_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// Sample files, as their first bytes.
var (
	pngBytes  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	jpegBytes = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	pdfBytes  = []byte("%PDF-1.7\n1 0 obj\n")
	zipBytes  = []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00")
	oleBytes  = []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00")
	htmlBytes = []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>")
	svgBytes  = []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	xmlSVG    = []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)
	exeBytes  = []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff")
)

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"photo.png", pngBytes, "image/png"},
		{"invoice.pdf", pngBytes, "image/png"}, // a PNG named .pdf is a PNG
		{"photo.jpg", jpegBytes, "image/jpeg"},
		{"invoice.pdf", pdfBytes, "application/pdf"},
		{"photo.png", pdfBytes, "application/pdf"},
		{"notes.txt", []byte("Parcel arrived damaged.\n"), "text/plain"},
		{"orders.csv", []byte("order,qty\n#1001,2\n"), "text/csv"},
		{"orders.csv", pngBytes, "image/png"}, // the name refines text only
		{"letter.docx", zipBytes, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"sheet.xlsx", zipBytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"sheet.ods", zipBytes, "application/vnd.oasis.opendocument.spreadsheet"},
		{"photos.zip", zipBytes, "application/zip"},
		{"letter.docx", htmlBytes, attachment.OctetStream}, // not a ZIP, so no document
		{"old.doc", oleBytes, "application/msword"},
		{"old.bin", oleBytes, attachment.OctetStream},
		{"image.png", htmlBytes, attachment.OctetStream}, // HTML is never served as itself
		{"page.html", htmlBytes, attachment.OctetStream},
		{"logo.svg", xmlSVG, attachment.OctetStream},
		{"logo.svg", svgBytes, "text/plain"}, // served as text, never as an image
		{"setup.exe", exeBytes, attachment.OctetStream},
	} {
		if got := attachment.Sniff(c.name, c.data); got != c.want {
			t.Errorf("Sniff(%q, %.12q) = %q, want %q", c.name, c.data, got, c.want)
		}
	}
}

func TestInlineOnlyRasterImages(t *testing.T) {
	for typ, want := range map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
		"image/svg+xml": false, "text/plain": false, "application/pdf": false, attachment.OctetStream: false, "image/bmp": false} {
		if got := attachment.InlineImage(typ); got != want {
			t.Errorf("InlineImage(%q) = %v, want %v", typ, got, want)
		}
	}
}

func TestCleanFilename(t *testing.T) {
	long := strings.Repeat("a", 500) + ".pdf"
	for _, c := range []struct{ in, want string }{
		{"invoice.pdf", "invoice.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\ada\Desktop\photo.jpg`, "photo.jpg"},
		{"report\r\nSet-Cookie: a=b.pdf", "report Set-Cookie_ a=b.pdf"},
		{"a\x00b.txt", "ab.txt"},
		{`say "hi".txt`, "say _hi_.txt"},
		{"Rücksendung – Größe.pdf", "Rücksendung – Größe.pdf"},
		{"фото 1.png", "фото 1.png"},
		{"evil\u202egnp.exe", "evilgnp.exe"}, // no right-to-left override
		{"  lots   of\tspace .txt ", "lots of space .txt"},
		{".htaccess", "htaccess"},
		{"../", "attachment"},
		{"", "attachment"},
		{"bad\xffutf8.txt", "badutf8.txt"},
		{long, strings.Repeat("a", attachment.MaxFilenameRunes-4) + ".pdf"},
	} {
		got := attachment.CleanFilename(c.in)
		if got != c.want {
			t.Errorf("CleanFilename(%q) = %q, want %q", c.in, got, c.want)
		}
		if n := utf8.RuneCountInString(got); n > attachment.MaxFilenameRunes || !utf8.ValidString(got) {
			t.Errorf("CleanFilename(%q) = %q: %d runes, valid UTF-8 %v", c.in, got, n, utf8.ValidString(got))
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for _, c := range []struct{ disposition, name, want string }{
		{"attachment", "invoice.pdf", `attachment; filename="invoice.pdf"; filename*=UTF-8''invoice.pdf`},
		{"inline", "Größe 1.png", `inline; filename="Gr__e 1.png"; filename*=UTF-8''Gr%C3%B6%C3%9Fe%201.png`},
		{"attachment", "a;b=c%d\"e.txt", `attachment; filename="a_b=c_d_e.txt"; filename*=UTF-8''a%3Bb%3Dc%25d_e.txt`},
		{"attachment", "x\r\ny.txt", `attachment; filename="x y.txt"; filename*=UTF-8''x%20y.txt`},
	} {
		if got := attachment.ContentDisposition(c.disposition, c.name); got != c.want {
			t.Errorf("ContentDisposition(%q, %q)\n got %s\nwant %s", c.disposition, c.name, got, c.want)
		}
	}
}

func TestCheckLimits(t *testing.T) {
	file := func(name string, size int) attachment.Upload {
		return attachment.Upload{Filename: name, Data: bytes.Repeat([]byte("a"), size)}
	}
	many := make([]attachment.Upload, attachment.MaxFilesPerMessage+1)
	for i := range many {
		many[i] = file(fmt.Sprint("f", i, ".txt"), 10)
	}
	for _, c := range []struct {
		name    string
		uploads []attachment.Upload
		file    string // named in the refusal; "" when accepted or for the form as a whole
		ok      bool
	}{
		{"none", nil, "", true},
		{"at the per-file limit", []attachment.Upload{file("big.pdf", attachment.MaxFileBytes)}, "", true},
		{"over the per-file limit", []attachment.Upload{file("a.txt", 5), file("huge\n.pdf", attachment.MaxFileBytes+1)}, "huge .pdf", false},
		{"empty", []attachment.Upload{file("empty.txt", 0)}, "empty.txt", false},
		{"too many files", many, "", false},
		{"exactly the most files", many[:attachment.MaxFilesPerMessage], "", true},
		{"over the message total", []attachment.Upload{file("1.bin", attachment.MaxFileBytes), file("2.bin", attachment.MaxFileBytes),
			file("3.bin", attachment.MaxMessageBytes-2*attachment.MaxFileBytes+1)}, "3.bin", false},
		{"at the message total", []attachment.Upload{file("1.bin", attachment.MaxFileBytes), file("2.bin", attachment.MaxFileBytes),
			file("3.bin", attachment.MaxMessageBytes-2*attachment.MaxFileBytes)}, "", true},
	} {
		err := attachment.Check(c.uploads)
		var invalid *attachment.ValidationError
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case !c.ok && !errors.As(err, &invalid):
			t.Errorf("%s: %v, want a ValidationError", c.name, err)
		case !c.ok && invalid.Filename != c.file:
			t.Errorf("%s: refusal names %q, want %q (%v)", c.name, invalid.Filename, c.file, err)
		}
	}
}

// conversation is a shop with a ticket of two messages, and a second
// ticket.
type conversation struct {
	shopID, ticketID, otherTicketID int64
	messages                        []int64
}

func newConversation(t *testing.T, db *database.DB, name string) conversation {
	t.Helper()
	ctx := context.Background()
	sh := fixtures.Shop(t, db, name)
	tickets := ticket.NewStore(db, nil)
	tk, err := tickets.Create(ctx, sh.ID, ticket.NewTicket{Subject: "Damaged parcel", Channel: ticket.ChannelHub, Body: "Photos attached."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tickets.AddMessage(ctx, sh.ID, tk.ID, ticket.Message{AuthorKind: ticket.AuthorAgent, Body: "Thanks, label attached."}); err != nil {
		t.Fatal(err)
	}
	other, err := tickets.Create(ctx, sh.ID, ticket.NewTicket{Subject: "Other", Channel: ticket.ChannelHub, Body: "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := tickets.Messages(ctx, sh.ID, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := conversation{shopID: sh.ID, ticketID: tk.ID, otherTicketID: other.ID}
	for _, m := range msgs {
		c.messages = append(c.messages, m.ID)
	}
	return c
}

func TestStoreAddListOpen(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		a, b := newConversation(t, db, "shopa"), newConversation(t, db, "shopb")
		store := attachment.NewStore(db, nil)
		photo, err := store.Add(ctx, a.shopID, a.ticketID, a.messages[0], attachment.Upload{Filename: "../damage.pdf", Data: pngBytes})
		if err != nil {
			t.Fatal(err)
		}
		if photo.ContentType != "image/png" || photo.Filename != "damage.pdf" || photo.Size != int64(len(pngBytes)) || len(photo.SHA256) != 64 {
			t.Errorf("stored %+v", photo)
		}
		if _, err := store.Add(ctx, a.shopID, a.ticketID, a.messages[0], attachment.Upload{Filename: "page.png", Data: htmlBytes}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Add(ctx, a.shopID, a.ticketID, a.messages[1], attachment.Upload{Filename: "label.pdf", Data: pdfBytes}); err != nil {
			t.Fatal(err)
		}

		byMessage, err := store.ForMessages(ctx, a.shopID, a.messages)
		if err != nil {
			t.Fatal(err)
		}
		first, second := byMessage[a.messages[0]], byMessage[a.messages[1]]
		if len(first) != 2 || len(second) != 1 || first[0].Filename != "damage.pdf" || first[1].ContentType != attachment.OctetStream ||
			second[0].ContentType != "application/pdf" {
			t.Errorf("ForMessages = %+v", byMessage)
		}
		if got, _ := store.ForMessages(ctx, b.shopID, a.messages); len(got) != 0 {
			t.Errorf("another shop lists shop A's files: %+v", got)
		}

		f, err := store.Open(ctx, a.shopID, photo.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.Data, pngBytes) || f.TicketID != a.ticketID || f.SHA256 != photo.SHA256 {
			t.Errorf("Open = %+v", f.Attachment)
		}
		if _, err := store.Open(ctx, b.shopID, photo.ID); !errors.Is(err, attachment.ErrNotFound) {
			t.Errorf("another shop opens shop A's file: %v", err)
		}
		// A message of another shop, or on another ticket, takes no file.
		for _, c := range []struct{ shop, ticket, message int64 }{
			{b.shopID, b.ticketID, a.messages[0]},
			{a.shopID, a.otherTicketID, a.messages[0]},
			{b.shopID, a.ticketID, a.messages[0]},
		} {
			if _, err := store.Add(ctx, c.shop, c.ticket, c.message, attachment.Upload{Filename: "x.txt", Data: []byte("x")}); !errors.Is(err, attachment.ErrNotFound) {
				t.Errorf("Add(shop %d, ticket %d, message %d) = %v, want ErrNotFound", c.shop, c.ticket, c.message, err)
			}
		}
	})
}

// TestStoreKeepsMessageLimits: files added one by one still keep the
// per-message count and total.
func TestStoreKeepsMessageLimits(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		a := newConversation(t, db, "shopa")
		store := attachment.NewStore(db, nil)
		for i := range attachment.MaxFilesPerMessage {
			if _, err := store.Add(ctx, a.shopID, a.ticketID, a.messages[0], attachment.Upload{Filename: fmt.Sprint(i, ".txt"), Data: []byte("note")}); err != nil {
				t.Fatal(err)
			}
		}
		var invalid *attachment.ValidationError
		_, err := store.Add(ctx, a.shopID, a.ticketID, a.messages[0], attachment.Upload{Filename: "one-more.txt", Data: []byte("note")})
		if !errors.As(err, &invalid) || invalid.Filename != "one-more.txt" {
			t.Errorf("file %d: %v, want a ValidationError naming it", attachment.MaxFilesPerMessage+1, err)
		}

		big := bytes.Repeat([]byte{0}, attachment.MaxFileBytes)
		for i := range 2 {
			if _, err := store.Add(ctx, a.shopID, a.ticketID, a.messages[1], attachment.Upload{Filename: fmt.Sprint(i, ".bin"), Data: big}); err != nil {
				t.Fatal(err)
			}
		}
		_, err = store.Add(ctx, a.shopID, a.ticketID, a.messages[1], attachment.Upload{Filename: "third.bin", Data: big[:attachment.MaxMessageBytes-2*attachment.MaxFileBytes+1]})
		if !errors.As(err, &invalid) || invalid.Filename != "third.bin" {
			t.Errorf("over the message total: %v, want a ValidationError naming the file", err)
		}
		_, err = store.Add(ctx, a.shopID, a.ticketID, a.messages[1], attachment.Upload{Filename: "huge.bin", Data: append(big, 0)})
		if !errors.As(err, &invalid) || invalid.Filename != "huge.bin" {
			t.Errorf("over the file limit: %v", err)
		}
	})
}

// TestMessageRolledBackLeavesNoFile: a message and its files are written
// in one transaction; when it fails, neither is kept.
func TestMessageRolledBackLeavesNoFile(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		a := newConversation(t, db, "shopa")
		tickets, files := ticket.NewStore(db, nil), attachment.NewStore(db, nil)
		errLater := errors.New("the reply could not be sent")
		var messageID int64
		err := db.InTx(ctx, func(tx *database.Tx) error {
			m, err := tickets.With(tx).AddMessage(ctx, a.shopID, a.ticketID, ticket.Message{AuthorKind: ticket.AuthorAgent, Body: "See the label."})
			if err != nil {
				return err
			}
			messageID = m.ID
			if _, err := files.With(tx).Add(ctx, a.shopID, a.ticketID, m.ID, attachment.Upload{Filename: "label.pdf", Data: pdfBytes}); err != nil {
				return err
			}
			return errLater
		})
		if !errors.Is(err, errLater) {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM attachments WHERE shop_id = ?`, a.shopID).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d attachments after the rollback (%v), want 0", n, err)
		}
		if got, _ := files.ForMessages(ctx, a.shopID, []int64{messageID}); len(got) != 0 {
			t.Errorf("the rolled-back message has files: %+v", got)
		}
	})
}

// uploadForm is a multipart reply form with the files in field "files",
// each claimed to be a PNG.
func uploadForm(t *testing.T, names []string, data [][]byte) (string, *bytes.Buffer) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("body", "Here you go")
	for i, name := range names {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="files"; filename=%q`, name)}
		h["Content-Type"] = []string{"image/png"} // claimed, and ignored
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data[i])
	}
	mw.Close()
	return mw.FormDataContentType(), &body
}

func TestParseUploads(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where multipart keeps what does not fit in memory
	big := bytes.Repeat([]byte("b"), 3<<20)
	for _, c := range []struct {
		name  string
		names []string
		data  [][]byte
		want  int    // files read; -1 refused
		file  string // named in the refusal
	}{
		{"two files", []string{"../photo.png", "notes.txt"}, [][]byte{pngBytes, []byte("hello")}, 2, ""},
		{"a file kept on disk while read", []string{"big.bin", "small.txt"}, [][]byte{big, []byte("x")}, 2, ""},
		{"no files", nil, nil, 0, ""},
		{"a file over the limit", []string{"ok.txt", "huge.bin"}, [][]byte{[]byte("x"), make([]byte, attachment.MaxFileBytes+1)}, -1, "huge.bin"},
		{"too many files", make([]string, attachment.MaxFilesPerMessage+1), make([][]byte, attachment.MaxFilesPerMessage+1), -1, ""},
		{"an empty file", []string{"empty.txt"}, [][]byte{{}}, -1, "empty.txt"},
	} {
		for i := range c.names {
			if c.names[i] == "" {
				c.names[i], c.data[i] = fmt.Sprint(i, ".txt"), []byte("x")
			}
		}
		contentType, body := uploadForm(t, c.names, c.data)
		r := httptest.NewRequest("POST", "/tickets/1/reply", body)
		r.Header.Set("Content-Type", contentType)
		uploads, err := attachment.ParseUploads(r, "files")
		var invalid *attachment.ValidationError
		switch {
		case c.want >= 0 && (err != nil || len(uploads) != c.want):
			t.Errorf("%s: %d uploads, %v; want %d", c.name, len(uploads), err, c.want)
		case c.want < 0 && (!errors.As(err, &invalid) || invalid.Filename != c.file):
			t.Errorf("%s: %v, want a ValidationError naming %q", c.name, err, c.file)
		}
		if c.name == "two files" && err == nil && (uploads[0].Filename != "photo.png" || !bytes.Equal(uploads[0].Data, pngBytes)) {
			t.Errorf("read %q", uploads[0].Filename)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("%s: temporary files left behind: %v", c.name, left)
		}
	}

	r := httptest.NewRequest("POST", "/tickets/1/reply", strings.NewReader("body=Hi"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if uploads, err := attachment.ParseUploads(r, "files"); err != nil || uploads != nil {
		t.Errorf("a form without files: %v, %v", uploads, err)
	}
}
