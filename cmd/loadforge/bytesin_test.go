package main_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Against nginx, over plain http and TLS, both clients count bytes_in as
// nginx counts what it sent ($bytes_sent: the response at the HTTP layer,
// over TLS the records' contents): the totals are equal to the byte. Several
// VUs share net/http's pool of connections, so a connection goes from one
// VU's request to another's as soon as a body is read.
func TestNginxBytesInIsWhatNginxSent(t *testing.T) {
	p := newTestPKI(t)
	for _, c := range []struct{ client, scheme string }{
		{"fast", "http"}, {"net/http", "http"}, {"fast", "https"}, {"net/http", "https"},
	} {
		t.Run(c.scheme+"-"+strings.ReplaceAll(c.client, "/", "-"), func(t *testing.T) {
			client := c.client
			o := nginxOptions{
				logFormat: "$bytes_sent",
				// A chunked body with a trailer: what a parsed response would lose.
				server: `location = /chunked { add_trailer X-T "v"; return 200 "chunked body\n"; }
    chunked_transfer_encoding on;`,
			}
			if c.scheme == "https" {
				o.listenParams = "ssl"
				o.tls = "ssl_certificate " + p.serverCert + "; ssl_certificate_key " + p.serverKey + ";"
			}
			ngx := startNginxWith(t, o)
			out := filepath.Join(t.TempDir(), "r.json")
			code, _, stderr := runLoadforge(t, "run", "--url", ngx.URL+"/chunked", "--vus", "4", "--duration", "1s",
				"--target-ca", p.ca, "--http-version", "1.1", "--http-client", client, "--quiet", "--out", out)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			r, _ := readResult(t, out)
			data, err := os.ReadFile(ngx.accessLog)
			if err != nil {
				t.Fatal(err)
			}
			var sent, lines uint64
			for line := range strings.Lines(string(data)) {
				n, err := strconv.ParseUint(strings.TrimSpace(line), 10, 64)
				if err != nil {
					t.Fatalf("access log line %q", line)
				}
				sent += n
				lines++
			}
			if r.Totals.Requests == 0 || r.Totals.Requests != lines || r.Totals.Errors != 0 || r.HTTPClient != client {
				t.Fatalf("result: %d requests (%d errors) by %q; nginx logged %d", r.Totals.Requests, r.Totals.Errors, r.HTTPClient, lines)
			}
			if r.Totals.BytesIn != sent {
				t.Errorf("%s over %s: bytes_in %d over %d requests, nginx sent %d", client, c.scheme, r.Totals.BytesIn, lines, sent)
			}
			t.Logf("%s over %s: %d requests, bytes_in %d, nginx $bytes_sent %d", client, c.scheme, lines, r.Totals.BytesIn, sent)
		})
	}
}
