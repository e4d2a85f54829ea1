package desk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// ticketWithFiles opens a ticket in the tenant's shop and attaches files
// to its first message; it returns the ticket and the files by name.
func ticketWithFiles(t *testing.T, app *testapp.App, tn *testapp.Tenant, files map[string][]byte) (int64, map[string]*attachment.Attachment) {
	t.Helper()
	ctx := context.Background()
	tk, err := app.Server.Tickets.Create(ctx, tn.Shop.ID, ticket.NewTicket{Subject: "Damaged", Channel: ticket.ChannelHub, Body: "See the files."})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := app.Server.Tickets.Messages(ctx, tn.Shop.ID, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*attachment.Attachment{}
	for name, data := range files {
		a, err := app.Server.Attachments.Add(ctx, tn.Shop.ID, tk.ID, msgs[0].ID, attachment.Upload{Filename: name, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = a
	}
	return tk.ID, out
}

func get(t *testing.T, app *testapp.App, c *http.Client, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", app.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// TestAttachmentDownloadIsSandboxed asserts the headers of real downloads
// through the whole server: the sniffed type, never the name's or the
// uploader's; a download unless a raster image is asked inline; nosniff
// and a sandboxing CSP on every file.
func TestAttachmentDownloadIsSandboxed(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	html := []byte("<!DOCTYPE html><html><body><script>fetch('/settings/staff')</script></body></html>")
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		ticketID, files := ticketWithFiles(t, app, tn, map[string][]byte{"image.png": html, "invoice.pdf": png, "logo.svg": svg})
		agent := app.LoginAs(tn.Agent)
		for _, c := range []struct {
			name, query, contentType, disposition string
		}{
			{"image.png", "", "application/octet-stream", `attachment; filename="image.png"`},
			{"image.png", "?inline=1", "application/octet-stream", `attachment; filename="image.png"`},
			{"invoice.pdf", "", "image/png", `attachment; filename="invoice.pdf"`},
			{"invoice.pdf", "?inline=1", "image/png", `inline; filename="invoice.pdf"`},
			{"logo.svg", "?inline=1", "text/plain; charset=utf-8", `attachment; filename="logo.svg"`},
		} {
			path := fmt.Sprintf("/tickets/%d/attachments/%d%s", ticketID, files[c.name].ID, c.query)
			resp, body := get(t, app, agent, path)
			h := resp.Header
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
			for header, want := range map[string]string{
				"Content-Type":                 c.contentType,
				"X-Content-Type-Options":       "nosniff",
				"Content-Security-Policy":      "sandbox; default-src 'none'",
				"Cross-Origin-Resource-Policy": "same-origin",
				"ETag":                         `"` + files[c.name].SHA256 + `"`,
			} {
				if got := h.Get(header); got != want {
					t.Errorf("%s %s: %s = %q, want %q", c.name, c.query, header, got, want)
				}
			}
			if got := h.Get("Content-Disposition"); !strings.HasPrefix(got, c.disposition+"; filename*=UTF-8''") {
				t.Errorf("%s %s: Content-Disposition = %q, want %s; filename*=…", c.name, c.query, got, c.disposition)
			}
			if len(h.Values("Content-Security-Policy")) != 1 || strings.Contains(h.Get("Cache-Control"), "public") {
				t.Errorf("%s: CSP %q, Cache-Control %q", c.name, h.Values("Content-Security-Policy"), h.Get("Cache-Control"))
			}
			if c.name == "image.png" && !bytes.Equal(body, html) {
				t.Errorf("served %q", body)
			}
		}

		path := fmt.Sprintf("/tickets/%d/attachments/%d", ticketID, files["invoice.pdf"].ID)
		if resp, body := get(t, app, agent, path, "Range", "bytes=0-3"); resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, png[:4]) {
			t.Errorf("range: %d %q", resp.StatusCode, body)
		}
		if resp, _ := get(t, app, agent, path, "If-None-Match", `"`+files["invoice.pdf"].SHA256+`"`); resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match with the hash: %d, want 304", resp.StatusCode)
		}
	})
}

// TestAttachmentScopedToShopAndTicket: a file is reached only through its
// own ticket, by staff of its own shop.
func TestAttachmentScopedToShopAndTicket(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		a, b := app.NewTenant("shopa"), app.NewTenant("shopb")
		ticketA, filesA := ticketWithFiles(t, app, a, map[string][]byte{"notes.txt": []byte("hello")})
		otherA, _ := ticketWithFiles(t, app, a, nil)
		ticketB, filesB := ticketWithFiles(t, app, b, map[string][]byte{"notes.txt": []byte("hello")})
		agent := app.LoginAs(a.Agent)
		for _, c := range []struct {
			path string
			want int
		}{
			{fmt.Sprintf("/tickets/%d/attachments/%d", ticketA, filesA["notes.txt"].ID), 200},
			{fmt.Sprintf("/tickets/%d/attachments/%d", otherA, filesA["notes.txt"].ID), 404},  // another ticket of the shop
			{fmt.Sprintf("/tickets/%d/attachments/%d", ticketB, filesB["notes.txt"].ID), 404}, // another shop's
			{fmt.Sprintf("/tickets/%d/attachments/%d", ticketA, filesB["notes.txt"].ID), 404},
			{fmt.Sprintf("/tickets/%d/attachments/x", ticketA), 404},
		} {
			if resp, _ := get(t, app, agent, c.path); resp.StatusCode != c.want {
				t.Errorf("GET %s: %d, want %d", c.path, resp.StatusCode, c.want)
			}
		}
	})
}

// TestMultipartFormsCarryFiles: the server's form check lets a multipart
// form carry a message's files (up to attachment.MaxRequestBytes) while
// its text fields keep the bound of any other form.
func TestMultipartFormsCarryFiles(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	manager := app.LoginAs(tn.Manager)
	post := func(name string, fileSize, textSize int) int {
		return postMultipart(t, app, manager, "/settings/macros", name, fileSize, textSize)
	}
	if got := post("With a photo", 200<<10, 0); got != http.StatusSeeOther {
		t.Errorf("a form with a 200 KiB file: %d, want it to reach the page (303)", got)
	}
	if got := post("Too big", attachment.MaxRequestBytes, 0); got != http.StatusRequestEntityTooLarge {
		t.Errorf("a form over the files' bound: %d, want 413", got)
	}
	if got := post("Long text", 1, 70<<10); got != http.StatusRequestEntityTooLarge {
		t.Errorf("a multipart form with 70 KiB of text: %d, want 413", got)
	}
	// Without a session, files are no reason to take more than a form.
	if got := postMultipart(t, app, app.Browser(), "/login", "x", 200<<10, 0); got != http.StatusRequestEntityTooLarge {
		t.Errorf("a 200 KiB multipart form without a session: %d, want 413", got)
	}
}

// postMultipart posts a form with fields name and body (padded by
// textSize spaces) and a file of fileSize bytes, and returns the status.
func postMultipart(t *testing.T, app *testapp.App, client *http.Client, path, name string, fileSize, textSize int) int {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("name", name)
	mw.WriteField("body", "Hello"+strings.Repeat(" ", textSize))
	w, _ := mw.CreateFormFile("files", "photo.jpg")
	w.Write(bytes.Repeat([]byte{0xff}, fileSize))
	mw.Close()
	req, _ := http.NewRequest("POST", app.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// postReplyForm posts the ticket view's reply form to path (reply or
// note) with the body and the named files, and returns the status and the
// page answered (a refusal; a 303 when the message was written).
func postReplyForm(t *testing.T, app *testapp.App, client *http.Client, path, text string, files map[string][]byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("body", text)
	for name, data := range files {
		w, _ := mw.CreateFormFile("files", name)
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", app.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

// TestReplyAndNoteCarryFiles: the ticket view's reply box sends files with
// a reply or a note, in the message's transaction; the conversation lists
// them under their message (images as thumbnails); a refused file keeps
// the text, writes neither message nor file. The reply box offers the
// shop's macros.
func TestReplyAndNoteCarryFiles(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		ctx := context.Background()
		ticketID, _ := ticketWithFiles(t, app, tn, nil)
		agent := app.LoginAs(tn.Agent)
		status, page := postReplyForm(t, app, agent, fmt.Sprintf("/tickets/%d/reply", ticketID), "Here is the label.",
			map[string][]byte{"label.png": png, "terms.txt": []byte("Returns within 30 days.")})
		if status != http.StatusSeeOther {
			t.Fatalf("reply with files: %d\n%s", status, page)
		}
		if status, _ := postReplyForm(t, app, agent, fmt.Sprintf("/tickets/%d/note", ticketID), "Photo for the carrier.",
			map[string][]byte{"parcel.png": png}); status != http.StatusSeeOther {
			t.Fatalf("note with a file: %d", status)
		}
		msgs, err := app.Server.Tickets.Messages(ctx, tn.Shop.ID, ticketID)
		if err != nil || len(msgs) != 3 {
			t.Fatalf("messages: %d, %v", len(msgs), err)
		}
		files, err := app.Server.Attachments.ForMessages(ctx, tn.Shop.ID, []int64{msgs[1].ID, msgs[2].ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(files[msgs[1].ID]) != 2 || len(files[msgs[2].ID]) != 1 || files[msgs[2].ID][0].Filename != "parcel.png" {
			t.Fatalf("files by message: %+v", files)
		}
		resp, view := get(t, app, agent, fmt.Sprintf("/tickets/%d", ticketID))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ticket view: %d", resp.StatusCode)
		}
		for _, f := range append(files[msgs[1].ID], files[msgs[2].ID]...) {
			link := fmt.Sprintf(`href="/tickets/%d/attachments/%d" download="%s"`, ticketID, f.ID, f.Filename)
			if !strings.Contains(string(view), link) {
				t.Errorf("the ticket view lacks the link %s", link)
			}
		}
		thumb := fmt.Sprintf(`src="/tickets/%d/attachments/%d?inline=1"`, ticketID, files[msgs[2].ID][0].ID)
		if !strings.Contains(string(view), thumb) || !strings.Contains(string(view), `enctype="multipart/form-data"`) ||
			!strings.Contains(string(view), `name="files" type="file" multiple`) {
			t.Errorf("the ticket view lacks the thumbnail %s or the file field", thumb)
		}
		if strings.Contains(string(view), "data-macro-picker") {
			t.Error("a shop without macros shows a picker")
		}

		status, page = postReplyForm(t, app, agent, fmt.Sprintf("/tickets/%d/reply", ticketID), "Keep this draft",
			map[string][]byte{"empty.txt": nil})
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, "Keep this draft") || !strings.Contains(page, "empty.txt") {
			t.Errorf("an empty file: %d, want 422 naming it with the draft kept", status)
		}
		if msgs, _ := app.Server.Tickets.Messages(ctx, tn.Shop.ID, ticketID); len(msgs) != 3 {
			t.Errorf("a refused file left %d messages, want 3", len(msgs))
		}

		if _, err := app.Server.Macros.Create(ctx, tn.Manager, macro.Input{Name: "Label sent", Body: "Your label is attached."}); err != nil {
			t.Fatal(err)
		}
		if _, view := get(t, app, agent, fmt.Sprintf("/tickets/%d", ticketID)); !strings.Contains(string(view), `<option value="`) ||
			!strings.Contains(string(view), "Label sent") || !strings.Contains(string(view), `data-target="reply-body"`) {
			t.Error("the reply box lacks the macro picker")
		}
	})
}
