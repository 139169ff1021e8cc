package worker

import (
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

// goAwayServer speaks just enough HTTP/2 (h2c, prior knowledge) to answer
// each connection's first request with GOAWAY, having processed no stream,
// and close it. It counts the requests it turned away.
type goAwayServer struct {
	*tcpServer
	turnedAway atomic.Int64
}

func newGoAwayServer(t *testing.T) *goAwayServer {
	s := &goAwayServer{}
	s.tcpServer = startTCPServer(t, s.serve)
	return s
}

func (s *goAwayServer) serve(c net.Conn) {
	defer c.Close()
	frame := func(typ, flags byte, payload []byte) []byte {
		f := make([]byte, 9, 9+len(payload))
		f[0], f[1], f[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
		f[3], f[4] = typ, flags
		return append(f, payload...)
	}
	const (
		typeHeaders  = 0x1
		typeSettings = 0x4
		typeGoAway   = 0x7
		flagAck      = 0x1
	)
	if _, err := c.Write(frame(typeSettings, 0, nil)); err != nil {
		return
	}
	preface := make([]byte, len("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
	if _, err := io.ReadFull(c, preface); err != nil {
		return
	}
	head := make([]byte, 9)
	for {
		if _, err := io.ReadFull(c, head); err != nil {
			return
		}
		n := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
		if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
			return
		}
		switch {
		case head[3] == typeSettings && head[4]&flagAck == 0:
			if _, err := c.Write(frame(typeSettings, flagAck, nil)); err != nil {
				return
			}
		case head[3] == typeHeaders:
			s.turnedAway.Add(1)
			payload := make([]byte, 8) // last stream processed: 0; NO_ERROR
			binary.BigEndian.PutUint32(payload, 0)
			_, _ = c.Write(frame(typeGoAway, 0, payload))
			return
		}
	}
}

// A GOAWAY before the answer fails the request as goaway, once: the request
// is neither lost nor sent again, and the next one opens a new connection.
func TestHTTP2GoAway(t *testing.T) {
	srv := newGoAwayServer(t)
	cfg := baseConfig(task("t", 1, "http://"+srv.addr()+"/"))
	cfg.Spec.HTTPVersion = schemas.HTTPVersion2
	s := runVUs(t, cfg, 2, srv.turnedAway.Load, 20)
	if s.requests == 0 || s.requests != uint64(srv.turnedAway.Load()) || s.kinds[schemas.ErrGoAway] != s.requests {
		t.Errorf("requests %d errors %v; the server turned away %d", s.requests, s.kinds, srv.turnedAway.Load())
	}
}
