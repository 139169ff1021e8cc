package http1

import "bytes"

// MaxCaptureBody bounds the body kept for checks and extraction; the rest
// of a larger body is read and thrown away as usual.
const MaxCaptureBody = 1 << 20

// Capture keeps what a scenario request's checks and extraction need of its
// response, read by the fast client: header lines, the body, or only
// Set-Cookie lines for the VU's cookie jar. Its buffers are the VU's, reused
// from response to response. Methods on a nil capture do nothing, so that
// the response reader calls them unconditionally.
type Capture struct {
	wantHeaders bool // keep every header line
	wantCookies bool // keep Set-Cookie lines (implied by wantHeaders)
	wantBody    bool
	lines       []byte // "name: value\n" per kept header
	data        []byte
	truncated   bool
}

// Setup clears the capture and says what to keep of the next response.
func (c *Capture) Setup(headers, cookies, body bool) {
	c.wantHeaders, c.wantCookies, c.wantBody = headers, cookies, body
	c.lines, c.data, c.truncated = c.lines[:0], c.data[:0], false
}

// reset forgets what was kept: a new response head begins (after a 1xx, say).
func (c *Capture) reset() {
	if c != nil {
		c.lines, c.data, c.truncated = c.lines[:0], c.data[:0], false
	}
}

func (c *Capture) header(name, value []byte) {
	if c == nil || !(c.wantHeaders || c.wantCookies && fieldIs(name, "Set-Cookie")) {
		return
	}
	c.lines = append(c.lines, name...)
	c.lines = append(c.lines, ':', ' ')
	c.lines = append(c.lines, value...)
	c.lines = append(c.lines, '\n')
}

func (c *Capture) body(b []byte) {
	if c == nil || !c.wantBody || len(b) == 0 {
		return
	}
	room := MaxCaptureBody - len(c.data)
	if len(b) > room {
		b, c.truncated = b[:room], true
	}
	c.data = append(c.data, b...)
}

// Get is the first value of the header name (without case), or "".
func (c *Capture) Get(name string) string {
	if vs := c.Values(name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Values lists the values of the header name (without case).
func (c *Capture) Values(name string) []string {
	var out []string
	lines := c.lines
	for len(lines) > 0 {
		line, rest, _ := bytes.Cut(lines, []byte("\n"))
		lines = rest
		k, v, ok := bytes.Cut(line, []byte(": "))
		if ok && bytes.EqualFold(k, []byte(name)) {
			out = append(out, string(v))
		}
	}
	return out
}

// Body is the body kept (at most MaxCaptureBody bytes of it).
func (c *Capture) Body() []byte { return c.data }
