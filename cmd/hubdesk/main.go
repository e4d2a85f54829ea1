// Command hubdesk is the Customer Hub and Helpdesk for online stores.
package main

import (
	"os"

	"github.com/hubdesk/hubdesk/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
