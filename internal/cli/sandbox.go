package cli

import (
	"context"
	"fmt"

	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

// runSandbox serves a contract-faithful simulator of a third-party API
// standalone, for development against hubdesk or anything else.
func runSandbox(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "loop" {
		return usageError{"want 'sandbox loop [--addr host:port]'"}
	}
	fs := newFlags(e, "sandbox", "sandbox loop [--addr host:port]")
	addr := fs.String("addr", "127.0.0.1:8089", "address to listen on")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	logger := newLogger(e.stderr, e.cfg, "text")
	sb := sandbox.New(sandbox.Options{Logger: logger})
	defer sb.Close()
	fmt.Fprintf(e.stdout, "Loop sandbox on http://%s/api/v1 (keys: %s, %s, %s; webhook secret %s)\n",
		*addr, sandbox.KeyFull, sandbox.KeyOrders, sandbox.KeyReturns, sb.WebhookSecret())
	return sb.ListenAndServe(ctx, *addr)
}
