package schemas

import (
	"errors"
	"io"

	"github.com/vmihailenco/msgpack/v5"
)

// wireReader is the reader Decode hands msgpack: bytes.Reader's part that
// msgpack uses, with the bytes and the position open to this package, so
// the sparse histogram decoder reads its pairs straight from the slice
// instead of a method call through an interface per byte.
type wireReader struct {
	data []byte
	pos  int
}

func (r *wireReader) Read(b []byte) (int, error) {
	if r.pos >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(b, r.data[r.pos:])
	r.pos += n
	return n, nil
}

func (r *wireReader) ReadByte() (byte, error) {
	if r.pos >= len(r.data) {
		return 0, io.EOF
	}
	b := r.data[r.pos]
	r.pos++
	return b, nil
}

func (r *wireReader) UnreadByte() error {
	if r.pos == 0 {
		return errUnreadAtStart
	}
	r.pos--
	return nil
}

var errUnreadAtStart = errors.New("schemas: unread before the first byte")

// unmarshal is msgpack.Unmarshal over a wireReader.
func unmarshal(data []byte, v any) error {
	r := wireReader{data: data}
	d := msgpack.GetDecoder()
	defer msgpack.PutDecoder(d)
	// Reset clears the flags: as in msgpack.Unmarshal, whose request of
	// pre-allocated values Reset undoes (honoured, it starts a goroutine
	// per type that never ends).
	d.Reset(&r)
	return d.Decode(v)
}
