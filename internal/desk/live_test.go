package desk_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// liveGuard bounds waits for what should come at once: a hang fails the
// test, and nothing is asserted about how long anything took.
const liveGuard = 30 * time.Second

// eventStream is GET /events read line by line, as it arrives.
type eventStream struct {
	resp  *http.Response
	lines chan string
}

func openEvents(t *testing.T, app *testapp.App, client *http.Client) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app.URL+"/events", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &eventStream{resp: resp, lines: make(chan string, 256)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return s
}

// until reads lines until one contains want, and returns the lines read
// (want's included). It fails when the stream ends first.
func (s *eventStream) until(t *testing.T, want string) []string {
	t.Helper()
	var seen []string
	timeout := time.After(liveGuard)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("the stream ended before %q; read %q", want, seen)
			}
			seen = append(seen, l)
			if strings.Contains(l, want) {
				return seen
			}
		case <-timeout:
			t.Fatalf("no %q on the stream; read %q", want, seen)
		}
	}
}

// ended waits for the stream to end and returns its last lines.
func (s *eventStream) ended(t *testing.T) []string {
	t.Helper()
	var seen []string
	timeout := time.After(liveGuard)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return seen
			}
			seen = append(seen, l)
		case <-timeout:
			t.Fatalf("the stream did not end; its last lines %q", seen[max(0, len(seen)-6):])
		}
	}
}

// TestEventsCarryOnlyTheShopsChanges: a change in shop B never reaches a
// stream of shop A — asserted on the wire — while shop A's own changes do,
// as a ticket id and what changed, never a message's text.
func TestEventsCarryOnlyTheShopsChanges(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		a, b := app.NewTenant("shopa"), app.NewTenant("shopb")
		ticketA := deskTicket(t, app, a.Shop.ID, "Parcel late", nil, "")
		ticketB := deskTicket(t, app, b.Shop.ID, "Wrong size", nil, "")
		stream := openEvents(t, app, app.LoginAs(a.Agent))
		stream.until(t, "retry: ")
		ctx := context.Background()
		if _, err := app.Server.Helpdesk.Reply(ctx, b.Agent, ticketB, "Secret of shop B"); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Server.Helpdesk.CustomerMessage(ctx, a.Shop.ID, ticketA, helpdesk.Sender{Email: "parcellate@example.com"}, "Any news?"); err != nil {
			t.Fatal(err)
		}
		lines := stream.until(t, fmt.Sprintf(`"ticket":%d`, ticketA))
		wire := strings.Join(lines, "\n")
		if !strings.Contains(wire, "event: ticket\ndata: "+fmt.Sprintf(`{"ticket":%d,"what":"message"}`, ticketA)) {
			t.Errorf("shop A's event on the wire:\n%s", wire)
		}
		for _, leak := range []string{fmt.Sprintf(`"ticket":%d`, ticketB), "Secret", "Any news"} {
			if strings.Contains(wire, leak) {
				t.Errorf("the stream carries %q:\n%s", leak, wire)
			}
		}
		if ticketA == ticketB {
			t.Fatal("the shops' tickets share an id; the check above proves nothing")
		}
	})
}

// TestEventsEndWhenTheSessionEnds: at the heartbeat after a logout (or a
// disabled user), the stream says "end" and closes.
func TestEventsEndWhenTheSessionEnds(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		app.Server.LivePages.Heartbeat = 20 * time.Millisecond
		agent := app.LoginAs(tn.Agent)
		stream := openEvents(t, app, agent)
		stream.until(t, ": keep-alive") // the session is good: heartbeats
		resp, err := agent.PostForm(app.URL+"/logout", url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last := stream.ended(t)
		if strings.Join(last, "\n") == "" || !strings.Contains(strings.Join(last, "\n"), "event: end") {
			t.Errorf("the stream ended without saying so: %q", last)
		}
	})
}

// TestPresenceShownToOthersOnly: an agent's "viewing" reaches the other
// agents' streams and the ticket's presence line, never their own; "gone"
// removes it; another shop's ticket is a 404.
func TestPresenceShownToOthersOnly(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn, other := app.NewTenant("shopa"), app.NewTenant("shopb")
		id := deskTicket(t, app, tn.Shop.ID, "Parcel late", nil, "")
		otherID := deskTicket(t, app, other.Shop.ID, "Elsewhere", nil, "")
		if _, err := app.DB.Exec(context.Background(), `UPDATE users SET name = 'Ana' WHERE id = ?`, tn.Manager.ID); err != nil {
			t.Fatal(err)
		}
		ana, agent := app.LoginAs(tn.Manager), app.LoginAs(tn.Agent)
		agentStream, anaStream := openEvents(t, app, agent), openEvents(t, app, ana)
		post := func(c *http.Client, ticketID int64, state string) int {
			resp, err := c.PostForm(fmt.Sprintf("%s/tickets/%d/presence", app.URL, ticketID), url.Values{"state": {state}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		line := func(c *http.Client) string {
			status, body, _ := app.Do(c, http.MethodGet, fmt.Sprintf("/tickets/%d/presence", id), "", "")
			if status != http.StatusOK {
				t.Fatalf("presence line: %d", status)
			}
			return body
		}
		if got := post(ana, id, "replying"); got != http.StatusNoContent {
			t.Fatalf("post presence: %d", got)
		}
		agentStream.until(t, "event: presence")
		if got := line(agent); !strings.Contains(got, "Ana is replying…") {
			t.Errorf("the agent sees %q, want Ana replying", got)
		}
		if got := line(ana); strings.Contains(got, "Ana") {
			t.Errorf("Ana sees herself: %q", got)
		}
		post(agent, id, "viewing")
		// A change after both as a marker: up to it, Ana's stream carried
		// the agent's presence and not her own.
		if _, err := app.Server.Helpdesk.Note(context.Background(), tn.Agent, id, "Marker"); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(strings.Join(anaStream.until(t, `"what":"note"`), "\n"), "event: presence"); n != 1 {
			t.Errorf("Ana's stream carried %d presence events, want the agent's alone", n)
		}
		if got := line(ana); !strings.Contains(got, tn.Agent.Email+" is viewing") {
			t.Errorf("Ana sees %q, want the agent viewing", got)
		}
		post(ana, id, "gone")
		agentStream.until(t, "event: presence")
		if got := line(agent); strings.Contains(got, "Ana") {
			t.Errorf("after gone the agent sees %q", got)
		}
		if got := post(ana, otherID, "viewing"); got != http.StatusNotFound {
			t.Errorf("presence on another shop's ticket: %d, want 404", got)
		}
		if got := post(ana, id, "dancing"); got != http.StatusBadRequest {
			t.Errorf("an unknown state: %d, want 400", got)
		}
	})
}
