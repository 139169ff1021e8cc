// Command loadforge is an HTTP load-testing engine; see internal/cli.
package main

import (
	"context"
	"os"

	"github.com/loadforge/loadforge/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
