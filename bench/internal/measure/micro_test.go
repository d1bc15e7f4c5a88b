package measure

import (
	"testing"
)

// BenchmarkSession runs the micro-benchmarks of the report with go test:
//
//	go test -run '^$' -bench . ./internal/measure/
//
// Sub-benchmarks are named setup/request, e.g. "scs,_idle/read-only".
func BenchmarkSession(b *testing.B) {
	addr := needRedis(b)
	for _, s := range Setups() {
		m, err := NewMicro(b.Context(), addr, s)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = m.Close() })
		benchRequests(b, s.String(), m)
	}
	benchRequests(b, "baseline", NewBaselineMicro())
}

func benchRequests(b *testing.B, name string, m *Micro) {
	for _, req := range MicroRequests {
		b.Run(name+"/"+string(req), func(b *testing.B) {
			if err := m.Run(b, req); err != nil {
				b.Fatal(err)
			}
		})
	}
}
