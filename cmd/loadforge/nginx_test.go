package main_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// nginxServer is a real nginx on loopback that logs every request it answers.
type nginxServer struct {
	URL       string
	accessLog string
}

// startNginx starts nginx in the foreground with an access log. Without nginx on
// the machine the test is skipped, unless LOADFORGE_REQUIRE_NGINX is set (CI).
func startNginx(t *testing.T) *nginxServer {
	t.Helper()
	return startNginxWith(t, nginxOptions{})
}

// nginxOptions change startNginx's server: TLS (tls_test.go), the log format.
type nginxOptions struct {
	// tls holds the listen parameters (e.g. "ssl http2") and the server's
	// ssl_* directives; empty: plain http.
	listenParams, tls string
	// logFormat is the access log's format; empty: nginx's combined.
	logFormat string
	// server holds more directives for the server block.
	server string
}

func startNginxWith(t *testing.T, o nginxOptions) *nginxServer {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("LOADFORGE_REQUIRE_NGINX") != "" {
			t.Fatal("nginx is required (LOADFORGE_REQUIRE_NGINX) but not installed")
		}
		t.Skip("nginx not installed")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	n := &nginxServer{URL: "http://" + addr, accessLog: filepath.Join(dir, "access.log")}
	if o.tls != "" {
		n.URL = "https://" + addr
	}
	format, logFormat := "", ""
	if o.logFormat != "" {
		format, logFormat = "log_format lf '"+o.logFormat+"';", " lf"
	}
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 4096; }
http {
  %[4]s
  access_log %[2]s%[5]s;
  keepalive_requests 100000000;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[3]s %[6]s;
    %[7]s
    %[8]s
    location / { return 200 "ok\n"; }
  }
}
`, dir, n.accessLog, addr, format, logFormat, o.listenParams, o.tls, o.server)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful: nginx flushes its log
		cmd.Wait()
	})
	// nginx says nothing when it is ready; the listening socket is the signal.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not listening on %s: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// logged counts the requests nginx has logged. nginx writes each line when the
// response is done, unbuffered without a buffer= parameter.
func (n *nginxServer) logged(t *testing.T) uint64 {
	t.Helper()
	data, err := os.ReadFile(n.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(bytes.Count(data, []byte("\n")))
}

func TestNginxLogsExactlyWhatTheResultCounts(t *testing.T) {
	for _, client := range []string{"auto", "net/http"} {
		t.Run(client, func(t *testing.T) {
			ngx := startNginx(t)
			out := filepath.Join(t.TempDir(), "r.json")
			code, _, stderr := runLoadforge(t, "run", "--url", ngx.URL+"/", "--vus", "20", "--duration", "2s",
				"--http-client", client, "--quiet", "--out", out)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			r, _ := readResult(t, out)
			if got := ngx.logged(t); r.Totals.Requests != got || got == 0 {
				t.Errorf("result counts %d requests, nginx logged %d", r.Totals.Requests, got)
			}
			want := map[string]string{"auto": "fast", "net/http": "net/http"}[client]
			if r.HTTPClient != want || len(r.Endpoints) != 1 || r.Endpoints[0].HTTPClient != want {
				t.Errorf("result says http_client %q (endpoints %+v), want %q", r.HTTPClient, r.Endpoints, want)
			}
			// Both clients time every request's parts, with no TLS on plain
			// http. The fast client dials once per VU at least; net/http's
			// pool may hand a connection dialled for one request to another,
			// whose trace then shows no connect.
			minConns := map[string]uint64{"auto": 20, "net/http": 1}[client]
			if tm := r.Totals.TimingsMs; tm.NewConnections < minConns || tm.Connecting.Max == 0 || tm.TLSHandshaking.Max != 0 ||
				tm.Waiting.Max == 0 || tm.Receiving.Max == 0 || tm.Waiting.Min > r.Totals.LatencyMs.Max {
				t.Errorf("timings %+v, latency %+v", tm, r.Totals.LatencyMs)
			}
		})
	}
}

func TestNginxInterruptedRunLosesNothing(t *testing.T) {
	ngx := startNginx(t)
	out := filepath.Join(t.TempDir(), "r.json")
	cmd, lw := startRun(t, "--url", ngx.URL+"/", "--vus", "20", "--duration", "1m", "--graceful-stop", "3s", "--out", out)
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitCode(t, cmd, lw); code != 130 {
		t.Fatalf("exit %d, want 130:\n%s", code, lw)
	}
	r, _ := readResult(t, out)
	if r.State != "interrupted" {
		t.Errorf("state %q, want interrupted", r.State)
	}
	if got := ngx.logged(t); r.Totals.Requests != got || got == 0 {
		t.Errorf("result counts %d requests, nginx logged %d", r.Totals.Requests, got)
	}
}
