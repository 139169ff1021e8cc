package http1

import (
	"slices"
	"strings"
	"testing"
)

// A capture for the cookie jar keeps every Set-Cookie line, whatever the
// case of its name, and nothing else.
func TestCaptureKeepsOnlySetCookie(t *testing.T) {
	stream := "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nX-Other: y\r\nSet-Cookies: no\r\nSET-COOKIE: b=2; Path=/\r\n" +
		"Set-Cookie2: old\r\nContent-Length: 2\r\n\r\nok"
	var keep Capture
	keep.Setup(false, true, false)
	rr := responseReader{src: strings.NewReader(stream), keep: &keep}
	res, err := rr.readResponse(false)
	if err != nil || res.status != 200 {
		t.Fatalf("status %d, err %v", res.status, err)
	}
	if got, want := keep.Values("Set-Cookie"), []string{"a=1", "b=2; Path=/"}; !slices.Equal(got, want) {
		t.Errorf("kept %q, want %q", got, want)
	}
	if got := keep.Values("X-Other"); got != nil {
		t.Errorf("kept X-Other %q", got)
	}
	if len(keep.Body()) != 0 {
		t.Errorf("kept a body %q", keep.Body())
	}
}
