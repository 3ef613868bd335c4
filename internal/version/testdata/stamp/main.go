// Command stamp prints version.String(); version_test.go builds it with the
// release's -X flag.
package main

import (
	"fmt"

	"github.com/localstorm/localstorm/internal/version"
)

func main() { fmt.Print(version.String()) }
