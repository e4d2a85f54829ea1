package cli

import (
	"context"
)

func runSandbox(ctx context.Context, e *env, args []string) error {
	return usageError{"want 'sandbox loop'"}
}
