package server_test

import (
	"testing"

	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
)

// BenchmarkActivateLargeCode: binding a seat of a code that has 5,000 bound
// already (SQLite). The same machine is looked up through the index of
// fingerprint parts, not by comparing with every activation.
func BenchmarkActivateLargeCode(b *testing.B) {
	e := servertest.New(b, "", server.Config{})
	code := e.Code(b, 1e6)
	e.ActivateMany(b, code, 5000)
	b.ResetTimer()
	for i := range b.N {
		if _, err := e.Service.Activate(ctx, servertest.NewDevice(10000+i).ActivateRequest(code)); err != nil {
			b.Fatal(err)
		}
	}
}
