package worker

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// BenchmarkIterationTLS is BenchmarkIteration over TLS 1.3 to a loopback
// server, on a kept-alive connection, with each client.
func BenchmarkIterationTLS(b *testing.B) {
	ca := newTestCA(b)
	cert, _, _ := ca.issue(b, false, time.Now().Add(time.Hour))
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}}
	srv := &benchServer{}
	srv.tcpServer = startTCPServer(b, func(c net.Conn) { srv.serve(tls.Server(c, serverTLS)) })
	url := "https://" + srv.addr() + "/"
	for _, client := range []string{schemas.HTTPClientFast, schemas.HTTPClientNetHTTP} {
		b.Run("client="+benchName(client), func(b *testing.B) {
			cfg := baseConfig(task("bench", 1, url))
			cfg.Spec.Scenario.Tasks[0].Requests[0].Headers = [][2]string{{"Accept", "text/plain"}}
			cfg.Spec.HTTPClient = client
			cfg.Spec.HTTPVersion = schemas.HTTPVersion11
			cfg.Spec.TLS = &schemas.TargetTLS{CAPEM: ca.pem}
			w, err := New(cfg, testConn(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(w.client.CloseIdleConnections)
			v := benchVU(b, w)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if !w.iterate(ctx, v) {
					b.Fatal("iteration cut short")
				}
			}
			checkBench(b, w)
		})
	}
}
