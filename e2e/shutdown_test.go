package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// TestSIGTERMUnderLoadFinishesInFlightRequests: an operator stops
// `hubdesk serve` (SIGTERM, as systemd or Kubernetes do) while API calls
// stream in. Every request the server took is answered in full with a 200
// — none cut off, none a 5xx — later ones are refused at connect (or
// reset from the closed listener's backlog, never accepted), and the
// process exits cleanly (status 0) within its 30 s drain.
func TestSIGTERMUnderLoadFinishesInFlightRequests(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			env := []string{"HUBDESK_DATA_DIR=" + t.TempDir(), "HUBDESK_SECRET_KEY=" + strings.Repeat("cd", 32), "HUBDESK_LOG_LEVEL=warn"}
			if dialect == "postgres" {
				env = append(env, "HUBDESK_DATABASE_URL="+dbtest.CreatePostgres(t))
			} else {
				env = append(env, "HUBDESK_DATABASE_URL=")
			}
			const domain = "stop.myshopify.com"
			cli(t, env, "shop", "create", "--name", "Stop & Go", "--domain", domain, "--client-secret", "stop-client-secret")
			cli(t, env, "user", "create", "admin@stop.test", "--shop", domain, "--role", "admin", "--password", "stop password")
			token := strings.TrimSpace(cli(t, env, "user", "token", "admin@stop.test"))
			p := startServe(t, env)
			p.log.Secret(token, "stop-client-secret", "stop password")
			exited := make(chan error, 1)
			go func() { exited <- p.cmd.Wait() }()
			t.Cleanup(func() {
				select {
				case <-exited:
				default:
					p.cmd.Process.Kill()
				}
			})

			var answered, refused atomic.Int64
			var mu sync.Mutex
			var broken []string
			stop := make(chan struct{})
			var wg sync.WaitGroup
			client := &http.Client{Timeout: 30 * time.Second}
			for range 16 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						req, _ := http.NewRequest(http.MethodGet, p.base+"/api/v1/customers", nil)
						req.Header.Set("Authorization", "Bearer "+token)
						var connected, reused bool
						req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
							GotConn: func(i httptrace.GotConnInfo) { connected, reused = true, i.Reused }}))
						resp, err := client.Do(req)
						if err != nil {
							var op *net.OpError
							switch {
							case errors.As(err, &op) && op.Op == "dial":
								// The listener is closed: the request never reached the server.
								refused.Add(1)
								time.Sleep(10 * time.Millisecond)
								continue
							case connected && !reused:
								// A new connection reset or ended before any answer: the
								// kernel had queued it on the listener, which the server
								// closed without accepting it (closing a listening
								// socket resets its backlog). The server never saw the
								// request; the server's own refusal at connect, a few
								// microseconds late. A connection the server accepted
								// is not closed unanswered until it has been idle 5 s.
								refused.Add(1)
								time.Sleep(10 * time.Millisecond)
								continue
							}
							mu.Lock()
							broken = append(broken, fmt.Sprintf("reused connection: %v", err))
							mu.Unlock()
							continue
						}
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != http.StatusOK {
							mu.Lock()
							broken = append(broken, resp.Status+" "+errString(err))
							mu.Unlock()
							continue
						}
						answered.Add(1)
					}
				})
			}
			for deadline := time.Now().Add(30 * time.Second); answered.Load() < 200; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("only %d calls answered before the signal", answered.Load())
				}
			}
			atSignal := answered.Load()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("hubdesk serve exited with %v after SIGTERM, want status 0", err)
				}
			case <-time.After(40 * time.Second): // the drain is 30 s
				t.Fatal("hubdesk serve did not exit within 40 s of SIGTERM")
			}
			for deadline := time.Now().Add(5 * time.Second); refused.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			close(stop)
			wg.Wait()
			t.Logf("%d calls answered (%d before the signal), %d refused after it", answered.Load(), atSignal, refused.Load())
			if len(broken) > 0 {
				t.Errorf("%d requests were cut off or failed; first: %s", len(broken), broken[0])
			}
			if refused.Load() == 0 {
				t.Error("no request was refused after the process stopped: was it still serving?")
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
