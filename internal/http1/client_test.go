package http1

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
)

// The client sends what net/http sends for the same request: same method,
// target, Host, headers and body, as a server reads them.
func TestRequestMatchesNetHTTP(t *testing.T) {
	type tc struct {
		method, url string
		headers     [][2]string
		body        string
	}
	cases := map[string]tc{
		"get":           {url: "http://127.0.0.1:8080/a/b?x=1&y=%20z", headers: [][2]string{{"Accept", "text/plain"}, {"x-lower", " padded\t"}}},
		"no path":       {url: "http://127.0.0.1:8080"},
		"post body":     {method: "POST", url: "http://h.example:81/p", body: "k=v&x=y", headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}},
		"put empty":     {method: "PUT", url: "http://127.0.0.1/put"},
		"delete":        {method: "DELETE", url: "http://127.0.0.1/thing/1"},
		"head":          {method: "HEAD", url: "http://127.0.0.1/"},
		"own host":      {url: "http://127.0.0.1:9/", headers: [][2]string{{"Host", "virtual.example"}}},
		"own agent":     {url: "http://127.0.0.1/", headers: [][2]string{{"User-Agent", "probe/1"}}},
		"empty agent":   {url: "http://127.0.0.1/", headers: [][2]string{{"User-Agent", ""}}},
		"own length":    {method: "POST", url: "http://127.0.0.1/", body: "abc", headers: [][2]string{{"Content-Length", "99"}, {"Transfer-Encoding", "chunked"}}},
		"repeated":      {url: "http://127.0.0.1/", headers: [][2]string{{"X-A", "1"}, {"X-A", "2"}, {"Cookie", "a=b"}}},
		"close":         {url: "http://127.0.0.1/", headers: [][2]string{{"Connection", "close"}}},
		"ipv6":          {url: "http://[::1]:8080/v6"},
		"custom method": {method: "PURGE", url: "http://127.0.0.1/cache"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, c.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range c.headers {
				if http.CanonicalHeaderKey(h[0]) == "Host" {
					req.Host = h[1]
					continue
				}
				req.Header.Add(h[0], h[1])
			}
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
				req.ContentLength = int64(len(body))
			}
			sameAsNetHTTP(t, req, body)
		})
	}
}

// sameAsNetHTTP checks that the client's bytes for req read back as the
// request net/http writes for it.
func sameAsNetHTTP(t *testing.T, req *http.Request, body []byte) {
	t.Helper()
	fr, err := New(Config{}).Prepare(req, body)
	if err != nil {
		t.Fatal(err)
	}
	viaStd := req.WithContext(t.Context())
	if body != nil {
		viaStd.Body = io.NopCloser(bytes.NewReader(body))
	}
	var std bytes.Buffer
	if err := viaStd.Write(&std); err != nil {
		t.Fatal(err)
	}
	want, wantBody := readRequest(t, std.Bytes())
	got, gotBody := readRequest(t, fr.Wire())
	if got.Method != want.Method || got.RequestURI != want.RequestURI || got.Host != want.Host ||
		got.ContentLength != want.ContentLength || !maps.EqualFunc(got.Header, want.Header, equalValues) ||
		!bytes.Equal(gotBody, wantBody) {
		t.Errorf("fast client writes\n%q\nnet/http writes\n%q", fr.wire, std.Bytes())
	}
	if fr.close != want.Close || fr.head != (want.Method == http.MethodHead) {
		t.Errorf("close %v head %v, net/http's request: close %v method %s", fr.close, fr.head, want.Close, want.Method)
	}
}

func equalValues(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func readRequest(t *testing.T, wire []byte) (*http.Request, []byte) {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		t.Fatalf("%q: %v", wire, err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return req, body
}
