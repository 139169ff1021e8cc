package http1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/loadforge/loadforge/internal/clock"
)

// Buffer sizes of the fast client's response reader.
const (
	// readBufferSize is each connection's buffer: enough for the headers of
	// almost any response and for small bodies, small enough for 10,000s of VUs.
	readBufferSize = 4 << 10
	// maxResponseHeaderBytes bounds a response's status line and headers; the
	// buffer grows up to it for the rare response with huge headers.
	maxResponseHeaderBytes = 1 << 20
	// discardBufferSize is the shared scratch buffer large bodies are read into
	// and thrown away, so that a few syscalls carry them.
	discardBufferSize = 64 << 10
	// maxChunkLine bounds a chunk-size line with its extensions.
	maxChunkLine = 4 << 10
)

var (
	errHeaderTooLarge      = errors.New("http1: response headers too large")
	errUnsupportedEncoding = errors.New("http1: unsupported transfer encoding")
)

// malformedError is a response that is not HTTP/1.x as it should be.
type malformedError struct {
	what string
	line []byte
}

func (e *malformedError) Error() string {
	if e.line == nil {
		return "http1: malformed response: " + e.what
	}
	const show = 64
	line := e.line
	if len(line) > show {
		line = line[:show]
	}
	return fmt.Sprintf("http1: malformed response: %s: %q", e.what, line)
}

func malformed(what string, line []byte) error {
	// The line lives in a buffer about to be reused.
	return &malformedError{what: what, line: bytes.Clone(line)}
}

// discardBuffers hold the scratch buffers of large bodies, shared by all
// connections: a VU only needs one while it reads a large body.
var discardBuffers = sync.Pool{New: func() any { return new([discardBufferSize]byte) }}

// responseReader reads HTTP/1.x responses from a connection, one per request,
// reading bodies to their end and throwing them away. Its buffer is reused
// from response to response; nothing is allocated per response in the
// common case.
type responseReader struct {
	src  io.Reader
	buf  []byte
	r, w int   // buf[r:w] holds bytes read and not consumed yet
	n    int64 // bytes of the current response consumed so far
	// firstByte is when the first bytes of a response arrived; zero until
	// then. The client clears it before each request.
	firstByte time.Time
	// keep, when set, keeps what a scenario's checks and extraction need of
	// the response (see capture.go); nil: everything is thrown away.
	keep *Capture
	// bareLF: the last line read ended in a bare LF, not CRLF.
	bareLF bool
}

// response is what the fast client needs to know of a response.
type response struct {
	status int
	// bytes is the response's size on the wire: status line, headers, body and
	// chunk framing, and any 1xx responses before it.
	bytes int64
	// keepAlive: the connection may carry another request.
	keepAlive bool
}

// framing of a response's body.
type framing int

const (
	noBody framing = iota
	lengthBody
	chunkedBody
	untilCloseBody
)

// readResponse reads the response to one request (head: the request was a
// HEAD, whose response has no body whatever its headers say). On error,
// res.bytes still tells how much of a response arrived.
func (rr *responseReader) readResponse(head bool) (res response, err error) {
	rr.n = 0
	defer func() { res.bytes = rr.n }()
	for {
		h, err := rr.readHead()
		if err != nil {
			return res, err
		}
		if h.status >= 100 && h.status <= 199 && h.status != 101 {
			// 100 Continue and friends precede the real response.
			continue
		}
		// From here on a failure still has a status: the body broke off.
		res.status = h.status
		keepAlive := !h.close && (h.minor >= 1 || h.keepAlive)
		body := h.body
		switch {
		case head, h.status == 101, h.status == 204, h.status == 304:
			body = noBody
		case body == chunkedBody && h.hasLength:
			// A message with both is suspect (request smuggling); read it by
			// its chunks, then let the connection go.
			keepAlive = false
		}
		if h.status == 101 {
			// The connection now speaks another protocol.
			keepAlive = false
		}
		switch body {
		case lengthBody:
			err = rr.discard(h.length)
		case chunkedBody:
			err = rr.readChunked()
		case untilCloseBody:
			keepAlive = false
			err = rr.discardUntilEOF()
		}
		if err != nil {
			return res, err
		}
		// Bytes nobody asked for: the connection can no longer be trusted.
		if rr.r != rr.w {
			keepAlive = false
		}
		if len(rr.buf) > readBufferSize && rr.r == rr.w {
			// Grown for huge headers: back to the usual size for the next response.
			rr.buf = nil
		}
		res.keepAlive = keepAlive
		return res, nil
	}
}

// head is a response's status line and the headers that frame its body.
type head struct {
	status    int
	minor     int // HTTP/1.minor
	body      framing
	length    int64
	hasLength bool
	close     bool // Connection: close
	keepAlive bool // Connection: keep-alive (for HTTP/1.0)
}

// readHead reads a status line and headers up to the blank line.
//
// The 1xx responses before the final one count toward the final one's
// header budget, as in net/http: any number of them, maxResponseHeaderBytes in all.
func (rr *responseReader) readHead() (h head, err error) {
	const start = 0 // the response's first byte: see readResponse
	line, err := rr.line(start)
	if err != nil {
		return h, err
	}
	rr.keep.reset()
	if h.status, h.minor, err = parseStatusLine(line); err != nil {
		return h, err
	}
	h.body = untilCloseBody
	for {
		line, err := rr.line(start)
		if err != nil {
			return h, eofIsUnexpected(err)
		}
		if len(line) == 0 {
			return h, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // an obsolete folded continuation; nothing we read folds
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return h, malformed("header line without a name", line)
		}
		name, value := line[:colon], trimSpace(line[colon+1:])
		rr.keep.header(name, value)
		switch {
		case fieldIs(name, "Content-Length"):
			n, ok := parseLength(value)
			if !ok {
				return h, malformed("bad Content-Length", value)
			}
			if h.hasLength && n != h.length {
				return h, malformed("conflicting Content-Length", value)
			}
			h.length, h.hasLength = n, true
			if h.body != chunkedBody {
				h.body = lengthBody
			}
		case fieldIs(name, "Transfer-Encoding"):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return h, fmt.Errorf("%w %q", errUnsupportedEncoding, value)
			}
			h.body = chunkedBody
		case fieldIs(name, "Connection"):
			forEachToken(value, func(tok []byte) {
				switch {
				case bytes.EqualFold(tok, []byte("close")):
					h.close = true
				case bytes.EqualFold(tok, []byte("keep-alive")):
					h.keepAlive = true
				}
			})
		}
	}
}

// fieldIs reports whether the header name is want, without case. The
// length is compared first: most of a response's names differ from want
// there, and bytes.EqualFold compares byte by byte before it looks at the
// lengths.
func fieldIs(name []byte, want string) bool {
	return len(name) == len(want) && bytes.EqualFold(name, []byte(want))
}

// parseStatusLine reads "HTTP/d.d NNN reason". A version above 1.x reads as
// 1.1 (net/http takes any HTTP/d.d on an HTTP/1 connection too).
func parseStatusLine(line []byte) (status, minor int, err error) {
	if len(line) < len("HTTP/1.x NNN") || !bytes.HasPrefix(line, []byte("HTTP/")) ||
		!isDigit(line[5]) || line[6] != '.' || !isDigit(line[7]) || line[8] != ' ' || line[5] == '0' {
		return 0, 0, malformed("bad status line", line)
	}
	if len(line) > 12 && line[12] != ' ' {
		return 0, 0, malformed("bad status code", line)
	}
	for _, c := range line[9:12] {
		if !isDigit(c) {
			return 0, 0, malformed("bad status code", line)
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return 0, 0, malformed("bad status code", line)
	}
	if line[5] > '1' {
		return status, 1, nil
	}
	return status, int(line[7] - '0'), nil
}

// line returns the next line without its line ending (CRLF or a bare LF). The
// line is valid until the next read. Headers that began at byte start of the
// response may not grow past maxResponseHeaderBytes.
func (rr *responseReader) line(start int64) ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(rr.buf[rr.r+scanned:rr.w], '\n'); i >= 0 {
			end := rr.r + scanned + i
			line := rr.buf[rr.r:end]
			rr.consume(end + 1 - rr.r)
			rr.bareLF = len(line) == 0 || line[len(line)-1] != '\r'
			if !rr.bareLF {
				line = line[:len(line)-1]
			}
			return line, nil
		}
		scanned = rr.w - rr.r
		if rr.n+int64(scanned)-start >= maxResponseHeaderBytes {
			return nil, errHeaderTooLarge
		}
		if err := rr.fill(); err != nil {
			if scanned > 0 || rr.n > start {
				return nil, eofIsUnexpected(err)
			}
			return nil, err
		}
	}
}

func (rr *responseReader) consume(k int) {
	rr.r += k
	rr.n += int64(k)
	if rr.r == rr.w {
		rr.r, rr.w = 0, 0
	}
}

// fill reads more bytes into the buffer, making room first: unconsumed bytes
// move to the front, or the buffer doubles when they fill it.
func (rr *responseReader) fill() error {
	if rr.buf == nil {
		rr.buf = make([]byte, readBufferSize)
	}
	if rr.w == len(rr.buf) {
		if rr.r > 0 {
			rr.w = copy(rr.buf, rr.buf[rr.r:rr.w])
			rr.r = 0
		} else {
			grown := make([]byte, 2*len(rr.buf))
			copy(grown, rr.buf[:rr.w])
			rr.buf = grown
		}
	}
	for range 100 {
		n, err := rr.src.Read(rr.buf[rr.w:])
		rr.w += n
		if n > 0 {
			if rr.firstByte.IsZero() {
				rr.firstByte = clock.Now()
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// discard consumes n body bytes: first what the buffer holds, then straight
// from the connection, never past the body's end.
func (rr *responseReader) discard(n int64) error {
	avail := int64(rr.w - rr.r)
	if avail >= n {
		rr.keep.body(rr.buf[rr.r : rr.r+int(n)])
		rr.consume(int(n))
		return nil
	}
	rr.keep.body(rr.buf[rr.r:rr.w])
	rr.consume(int(avail))
	n -= avail
	scratch := rr.buf
	if n > int64(len(rr.buf)) {
		big := discardBuffers.Get().(*[discardBufferSize]byte)
		defer discardBuffers.Put(big)
		scratch = big[:]
	}
	for n > 0 {
		m, err := rr.src.Read(scratch[:min(n, int64(len(scratch)))])
		rr.keep.body(scratch[:m])
		n -= int64(m)
		rr.n += int64(m)
		if n > 0 && err != nil {
			return eofIsUnexpected(err)
		}
	}
	return nil
}

// discardUntilEOF reads a body that ends when the server closes the connection.
func (rr *responseReader) discardUntilEOF() error {
	rr.keep.body(rr.buf[rr.r:rr.w])
	rr.consume(rr.w - rr.r)
	big := discardBuffers.Get().(*[discardBufferSize]byte)
	defer discardBuffers.Put(big)
	for {
		m, err := rr.src.Read(big[:])
		rr.keep.body(big[:m])
		rr.n += int64(m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readChunked reads a chunked body: chunks, the last chunk, trailers.
func (rr *responseReader) readChunked() error {
	for {
		line, err := rr.line(rr.n)
		if err != nil {
			return eofIsUnexpected(err)
		}
		if len(line) > maxChunkLine {
			return malformed("chunk-size line too long", nil)
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return malformed("bad chunk size", line)
		}
		if size == 0 {
			break
		}
		if err := rr.discard(size); err != nil {
			return err
		}
		line, err = rr.line(rr.n)
		if err != nil {
			return eofIsUnexpected(err)
		}
		if len(line) != 0 {
			return malformed("chunk data longer than its size", line)
		}
		if rr.bareLF {
			// net/http refuses it too; a size line may end in a bare LF.
			return malformed("chunk data not ended by CRLF", line)
		}
	}
	// Trailers, up to the blank line.
	start := rr.n
	for {
		line, err := rr.line(start)
		if err != nil {
			return eofIsUnexpected(err)
		}
		if len(line) == 0 {
			return nil
		}
	}
}

// parseChunkSize reads a chunk-size line: hex digits, then optional
// whitespace and extensions after a semicolon.
func parseChunkSize(line []byte) (int64, bool) {
	var n int64
	digits := 0
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c == ';' || c == ' ' || c == '\t':
			return n, digits > 0
		default:
			return 0, false
		}
		if digits == 15 {
			return 0, false // past 2^60 bytes: nobody sends such a chunk
		}
		n = n<<4 | int64(d)
		digits++
	}
	return n, digits > 0
}

// parseLength reads a Content-Length value: decimal digits only.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func forEachToken(v []byte, f func([]byte)) {
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if tok = trimSpace(tok); len(tok) > 0 {
			f(tok)
		}
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// eofIsUnexpected turns the end of the stream in the middle of a response
// into io.ErrUnexpectedEOF.
func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
