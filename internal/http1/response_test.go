package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// readers hands a stream to the reader whole, byte by byte, and in halves, so
// that every parse step meets a response split at every possible place.
var readers = map[string]func(io.Reader) io.Reader{
	"whole":       func(r io.Reader) io.Reader { return r },
	"byte a time": iotest.OneByteReader,
	"halves":      iotest.HalfReader,
}

func TestResponseReaderFraming(t *testing.T) {
	big := strings.Repeat("b", 3*discardBufferSize+17)
	cases := []struct {
		name      string
		head      bool
		stream    string
		status    int
		keepAlive bool
		rest      string // what follows the response in the stream, unread
	}{
		{"content-length", false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, true, ""},
		{"no reason phrase", false, "HTTP/1.1 204\r\n\r\n", 204, true, ""},
		{"bare LF lines", false, "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", 200, true, ""},
		{"header case and spacing", false, "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh:\t3 \r\n\r\nabc", 200, true, ""},
		{"framing names in any case", false, "HTTP/1.1 200 OK\r\ntransfer-ENCODING: chunked\r\nCONNECTION: close\r\n\r\n1\r\nz\r\n0\r\n\r\n", 200, false, ""},
		{"names that only start like framing ones", false, "HTTP/1.1 200 OK\r\nContent-Lengths: 9\r\nConnectionx: close\r\nContent-Length: 1\r\n\r\nz", 200, true, ""},
		{"repeated equal lengths", false, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 200, true, ""},
		{"chunked", false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\n\r\n", 200, true, ""},
		{"chunked with trailers", false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3 \r\nabc\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n", 200, true, ""},
		{"chunked wins over length, then close", false, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, false, ""},
		{"connection close", false, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 200, false, ""},
		{"connection tokens", false, "HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n", 200, false, ""},
		{"HTTP/1.0 closes", false, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, false, ""},
		{"HTTP/1.0 keep-alive", false, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", 200, true, ""},
		{"body until close", false, "HTTP/1.1 200 OK\r\n\r\nall of this until the end", 200, false, ""},
		{"HEAD ignores the length", true, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 200, true, ""},
		{"204 has no body", false, "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 204, true, ""},
		{"304 has no body", false, "HTTP/1.1 304 Not Modified\r\n\r\n", 304, true, ""},
		{"100 continue skipped", false, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", 201, true, ""},
		{"101 ends the exchange", false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 101, false, ""},
		{"folded header line", false, "HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 1\r\n\r\nz", 200, true, ""},
		{"big body", false, "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big, 200, true, ""},
		{"big chunk", false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(big)), 16) + "\r\n" + big + "\r\n0\r\n\r\n", 200, true, ""},
		{"huge headers", false, "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("h", 3*readBufferSize) + "\r\nContent-Length: 1\r\n\r\n!", 200, true, ""},
		{"unsolicited bytes", false, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!garbage", 200, false, "garbage"},
	}
	for _, c := range cases {
		for how, wrap := range readers {
			if c.rest != "" && how == "byte a time" {
				continue // bytes that have not arrived yet cannot be seen
			}
			t.Run(c.name+"/"+how, func(t *testing.T) {
				rr := responseReader{src: wrap(strings.NewReader(c.stream))}
				res, err := rr.readResponse(c.head)
				if err != nil {
					t.Fatalf("readResponse: %v", err)
				}
				if res.status != c.status || res.keepAlive != c.keepAlive {
					t.Errorf("status %d keep-alive %v, want %d %v", res.status, res.keepAlive, c.status, c.keepAlive)
				}
				want := int64(len(c.stream) - len(c.rest))
				if res.keepAlive || c.rest != "" {
					if res.bytes != want {
						t.Errorf("counted %d bytes, the response has %d", res.bytes, want)
					}
				} else if res.bytes > int64(len(c.stream)) || res.bytes < want {
					t.Errorf("counted %d bytes of a %d-byte stream", res.bytes, len(c.stream))
				}
			})
		}
	}
}

// The reader goes from one response to the next on the same connection.
func TestResponseReaderKeepsAlive(t *testing.T) {
	one := "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
	two := "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
	for how, wrap := range readers {
		t.Run(how, func(t *testing.T) {
			// Each response is read once its request went; the stream holds them back to back.
			rr := responseReader{src: wrap(strings.NewReader(one + two + one))}
			for i, want := range []struct {
				status int
				bytes  int
			}{{200, len(one)}, {404, len(two)}, {200, len(one)}} {
				res, err := rr.readResponse(false)
				if err != nil || res.status != want.status || res.bytes != int64(want.bytes) {
					t.Fatalf("response %d: %+v, %v; want status %d, %d bytes", i+1, res, err, want.status, want.bytes)
				}
			}
			if _, err := rr.readResponse(false); !errors.Is(err, io.EOF) {
				t.Errorf("after the last response: %v, want io.EOF", err)
			}
		})
	}
}

func TestResponseReaderErrors(t *testing.T) {
	cases := []struct {
		name   string
		stream string
		want   error // nil: any malformed-response error
		status int   // status known before the failure
	}{
		{"nothing at all", "", io.EOF, 0},
		{"cut in the status line", "HTTP/1.1 20", io.ErrUnexpectedEOF, 0},
		{"cut in the headers", "HTTP/1.1 200 OK\r\nContent-Le", io.ErrUnexpectedEOF, 0},
		{"cut in the body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", io.ErrUnexpectedEOF, 200},
		{"cut in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", io.ErrUnexpectedEOF, 200},
		{"cut before the last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n", io.ErrUnexpectedEOF, 200},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", nil, 0},
		{"HTTP/2 status line", "HTTP/2 200\r\n\r\n", nil, 0},
		{"status not a number", "HTTP/1.1 2x0 OK\r\n\r\n", nil, 0},
		{"status too long", "HTTP/1.1 2000 OK\r\n\r\n", nil, 0},
		{"status below 100", "HTTP/1.1 099 Odd\r\n\r\n", nil, 0},
		{"header without colon", "HTTP/1.1 200 OK\r\nBroken\r\n\r\n", nil, 0},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", nil, 0},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", nil, 0},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", nil, 200},
		{"chunk longer than said", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n", nil, 200},
		{"unsupported coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", errUnsupportedEncoding, 0},
		{"headers too large", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("h", maxResponseHeaderBytes), errHeaderTooLarge, 0},
		{"1xx past the header budget", strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", maxResponseHeaderBytes/30) + "HTTP/1.1 200 OK\r\n\r\n", errHeaderTooLarge, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rr := responseReader{src: strings.NewReader(c.stream)}
			res, err := rr.readResponse(false)
			var bad *malformedError
			switch {
			case err == nil:
				t.Fatalf("read %+v from a broken response", res)
			case c.want == nil && !errors.As(err, &bad):
				t.Errorf("error %v, want a malformed response", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("error %v, want %v", err, c.want)
			}
			if res.status != c.status {
				t.Errorf("status %d with the error, want %d", res.status, c.status)
			}
			if res.bytes > int64(len(c.stream)) {
				t.Errorf("counted %d bytes of a %d-byte stream", res.bytes, len(c.stream))
			}
		})
	}
}

// The framing agrees with net/http's on every case above that both read.
func TestResponseReaderAgreesWithNetHTTP(t *testing.T) {
	for _, stream := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\nmoved",
		"HTTP/1.1 503 Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy",
		"HTTP/1.1 204 No Content\r\n\r\n",
	} {
		ours, err := (&responseReader{src: strings.NewReader(stream)}).readResponse(false)
		if err != nil {
			t.Fatalf("%q: %v", stream, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(stream)), nil)
		if err != nil {
			t.Fatalf("net/http: %q: %v", stream, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if ours.status != resp.StatusCode || ours.keepAlive == resp.Close {
			t.Errorf("%q: ours status %d keep-alive %v; net/http %d close %v", stream, ours.status, ours.keepAlive, resp.StatusCode, resp.Close)
		}
	}
}

// FuzzResponseReader: whatever a server sends, the reader neither panics nor
// counts bytes that were not there, and where net/http reads a final response
// from the same bytes, both see the same status (net/http's ReadResponse stops
// at a 1xx; its transport reads on, as this reader does).
func FuzzResponseReader(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.0 404 Not Found\nConnection: keep-alive\nContent-Length: 0\n\n"), true)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Oops\r\n\r\nrest"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n"), false)
	f.Fuzz(func(t *testing.T, stream []byte, head bool) {
		for _, wrap := range readers {
			rr := responseReader{src: wrap(bytes.NewReader(stream))}
			res, err := rr.readResponse(head)
			if res.bytes < 0 || res.bytes > int64(len(stream)) {
				t.Fatalf("counted %d bytes of %d", res.bytes, len(stream))
			}
			if err != nil {
				continue
			}
			if res.status < 100 || res.status > 999 {
				t.Fatalf("status %d", res.status)
			}
			req := &http.Request{Method: http.MethodGet}
			if head {
				req.Method = http.MethodHead
			}
			resp, nerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(stream)), req)
			if nerr == nil && resp.StatusCode >= 200 && resp.StatusCode != res.status {
				t.Fatalf("status %d, net/http reads %d", res.status, resp.StatusCode)
			}
		}
	})
}
