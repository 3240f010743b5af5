// Command fingerprintonly is the floor for `iscdesk fingerprint` as a
// process: a program that links only the fingerprint probes and prints the
// same line. BenchmarkFingerprintProcess runs both side by side.
package main

import (
	"context"
	"fmt"

	"github.com/iscdesk/iscdesk/fingerprint"
)

func main() {
	fmt.Println(fingerprint.Collector{}.Collect(context.Background()).String())
}
