package worker

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// FuzzCompileRequest: whatever a plan holds, compileRequest either rejects it
// or yields a request the HTTP stack writes, with sane byte counts.
func FuzzCompileRequest(f *testing.F) {
	f.Add("GET", "http://127.0.0.1:8080/x?y=1", "Accept", "text/plain", []byte(nil))
	f.Add("POST", "https://example.invalid/a b", "Host", "other:81", []byte("body"))
	f.Add("", "http://[::1]:1/", "X-Tab", "a\tb", []byte{0})
	f.Add("GE T", "ftp://x", "Bad Name", "v\r\n", []byte("z"))
	f.Add("PUT", "http://h/%zz", "K", "\x7f", []byte(nil))
	f.Fuzz(func(t *testing.T, method, rawURL, hk, hv string, body []byte) {
		tmpl, err := compileRequest(schemas.Request{
			Name: "f", Method: method, URL: rawURL, Headers: [][2]string{{hk, hv}}, Body: body,
		})
		if err != nil {
			return
		}
		req := tmpl.tmpl.WithContext(t.Context())
		if tmpl.body != nil {
			req.Body = newBodyReader(tmpl.body)
		}
		if err := req.Write(io.Discard); err != nil {
			t.Fatalf("accepted request does not write: %v", err)
		}
		for k, vs := range req.Header {
			if schemas.CheckHeader(k, "") != nil {
				t.Fatalf("header name %q", k)
			}
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header value %q", v)
				}
			}
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" || req.URL.Host == "" {
			t.Fatalf("url %v", req.URL)
		}
		if tmpl.bytesOut < uint64(len(body))+uint64(len(req.Method)) {
			t.Fatalf("bytes out %d for a %d-byte body", tmpl.bytesOut, len(body))
		}
		if method == "" && req.Method != http.MethodGet {
			t.Fatalf("default method %q", req.Method)
		}
	})
}

// FuzzIntervals: whatever the tick times, events are aligned to t0, at most
// one interval long, in order and never overlapping.
func FuzzIntervals(f *testing.F) {
	f.Add(int64(1_700_000_000_000_000_000), int64(30_000_000), uint8(5), []byte{250, 10, 0, 255})
	f.Add(int64(1), int64(-5), uint8(0), []byte{1})
	f.Add(int64(1_000_000_000), int64(3_000_000_000), uint8(3), []byte{0, 0, 200})
	f.Fuzz(func(t *testing.T, t0, firstOffset int64, fiIdx uint8, gaps []byte) {
		divisors := []time.Duration{time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond, 125 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond}
		fi := int64(divisors[int(fiIdx)%len(divisors)])
		if t0 <= 0 || t0 > 1<<61 || firstOffset < -int64(time.Hour) || firstOffset > int64(time.Hour) {
			return
		}
		iv := intervals{fi: fi}
		now := t0 + firstOffset
		iv.begin(t0, now)
		prevEnd := iv.lastEnd
		check := func(start, end int64) {
			if (end-t0)%fi != 0 || end <= start || end-start > fi || start < prevEnd || end < t0 {
				t.Fatalf("interval (%d, %d] with t0 %d, fi %d, previous end %d", start, end, t0, fi, prevEnd)
			}
			prevEnd = end
		}
		for _, g := range gaps {
			// The timer fires at the next end, late by g/16 intervals.
			now = max(now, iv.nextEnd()) + int64(g)*fi/16
			check(iv.tick(now))
		}
		now += fi / 3
		start, end := iv.final(now)
		check(start, end)
		if end < now {
			t.Fatalf("final interval ends at %d, before now %d", end, now)
		}
	})
}
