//go:build !unix

package http1

type rawExchange struct{}

func (c *conn) initExchange() {}

// peerClosed cannot look without a raw socket: a close shows as the request's error.
func (c *conn) peerClosed() bool { return false }

// exchange writes a small request; a large one is returned, to be written
// while the response is read.
func (c *conn) exchange(wire []byte) (rest []byte, err error) {
	return writeSmall(c, wire)
}
