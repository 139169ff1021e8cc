//go:build !unix

package http1

import "time"

type rawExchange struct{}

func (c *conn) initExchange() {}

// exchange writes wire; the response is read through net.Conn.
func (c *conn) exchange(wire []byte) (wrote bool, err error) {
	n, err := c.nc.Write(wire)
	if err == nil {
		c.sentAt = time.Now()
	}
	return n > 0, err
}
