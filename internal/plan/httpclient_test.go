package plan

import (
	"strings"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

func TestHTTPClientChoice(t *testing.T) {
	tlsPlan := strings.Replace(valid, "http://127.0.0.1:8080", "https://127.0.0.1:8443", 1)
	cases := []struct {
		name      string
		src       string
		overrides []Override
		want      string // the spec's choice, or the error's start
		fails     bool
	}{
		{"default", valid, nil, "", false},
		{"in the plan", valid + "http_client: net/http\n", nil, schemas.HTTPClientNetHTTP, false},
		{"fast on http", valid + "http_client: fast\n", nil, schemas.HTTPClientFast, false},
		{"auto on https", tlsPlan + "http_client: auto\n", nil, schemas.HTTPClientAuto, false},
		{"flag over plan", valid + "http_client: net/http\n", []Override{ov(KeyHTTPClient, "--http-client", "fast")}, schemas.HTTPClientFast, false},
		{"unknown", valid + "http_client: curl\n", nil, `p.yaml:11: http_client: want auto, fast or net/http, got "curl"`, true},
		{"unknown flag", valid, []Override{ov(KeyHTTPClient, "LOADFORGE_HTTP_CLIENT", "h2")}, `LOADFORGE_HTTP_CLIENT: want auto, fast or net/http, got "h2"`, true},
		{"fast on https", tlsPlan + "http_client: fast\n", nil, schemas.HTTPClientFast, false},
		{"fast over HTTP/2", tlsPlan + "http_client: fast\nhttp_version: \"2\"\n", nil, `p.yaml:12: http_version: http_client fast speaks HTTP/1.1 only`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.src), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Apply(tc.overrides); err != nil {
				t.Fatal(err)
			}
			p, err := r.Build()
			switch {
			case tc.fails && err == nil:
				t.Fatalf("built with http_client %q", p.Spec.HTTPClient)
			case tc.fails && !strings.HasPrefix(err.Error(), tc.want):
				t.Fatalf("error %q, want %q", err, tc.want)
			case !tc.fails && err != nil:
				t.Fatal(err)
			case !tc.fails && p.Spec.HTTPClient != tc.want:
				t.Errorf("http client %q, want %q", p.Spec.HTTPClient, tc.want)
			}
		})
	}
}
