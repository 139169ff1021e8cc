//go:build !unix

package worker

import "time"

type rawExchange struct{}

func (c *fastConn) initExchange() {}

// exchange writes wire; the response is read through net.Conn.
func (c *fastConn) exchange(wire []byte) (wrote bool, err error) {
	n, err := c.nc.Write(wire)
	if err == nil {
		c.sentAt = time.Now()
	}
	return n > 0, err
}
