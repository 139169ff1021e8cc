//go:build !unix

package http1

import "net"

type rawExchange struct{}

func (c *conn) initExchange(net.Conn) {}

func (c *conn) rawExchange() bool { return false }

// peekIdle cannot look without a raw socket: a close shows as the request's error.
func (c *conn) peekIdle() peekState { return peekQuiet }

// exchange writes a small request; a large one is returned, to be written
// while the response is read.
func (c *conn) exchange(wire []byte) (rest []byte, wrote bool, err error) {
	return writeSmall(c, wire)
}
