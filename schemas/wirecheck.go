package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Bounds on what a message may declare before it is decoded.
const (
	// maxWireDepth bounds nesting; the deepest message (RunSpec) nests about six levels.
	maxWireDepth = 64
	// maxWireArray bounds an array's length (a timeline of 12 days of seconds fits).
	maxWireArray = 1 << 20
)

// ErrWire is returned by Decode for bytes that are not one well-formed msgpack value.
var ErrWire = errors.New("malformed msgpack")

// checkWire walks the first msgpack value in data without decoding it and rejects
// what could make the decoder exhaust memory or stack: a length larger than the
// bytes left (msgpack v5 allocates a declared array length up front, so a few
// bytes claiming 2^32 elements would end the process), an array longer than
// maxWireArray, or nesting deeper than maxWireDepth.
func checkWire(data []byte) error { return walkWire(data, true) }

// walkWire is checkWire; pairs false walks each histogram pair value by value
// too, which the fast step must agree with.
func walkWire(data []byte, pairs bool) error {
	w := wireWalker{data: data, left: []uint64{1}}
	for len(w.left) > 0 {
		top := len(w.left) - 1
		if w.left[top] == 0 {
			w.left = w.left[:top]
			continue
		}
		w.left[top]--
		// Most of a metric event is histogram pairs: step over a pair of
		// integers at once. Not past the depth limit, which the slow
		// path enforces on the pair's array.
		if pairs && len(w.left) <= maxWireDepth {
			if _, next, ok := readIntPair(w.data, w.pos); ok {
				w.pos = next
				continue
			}
		}
		if err := w.value(); err != nil {
			return fmt.Errorf("%w: %v at byte %d", ErrWire, err, w.pos)
		}
	}
	return nil
}

type wireWalker struct {
	data []byte
	pos  int
	left []uint64 // values still to read at each open level
}

// value steps over one value, or opens the container it starts.
func (w *wireWalker) value() error {
	if w.pos >= len(w.data) {
		return errors.New("truncated")
	}
	b := w.data[w.pos]
	w.pos++
	switch {
	case b <= 0x7f || b >= 0xe0: // fixint
		return nil
	case b <= 0x8f: // fixmap
		return w.open(2*uint64(b&0x0f), false)
	case b <= 0x9f: // fixarray
		return w.open(uint64(b&0x0f), true)
	case b <= 0xbf: // fixstr
		return w.skip(uint64(b & 0x1f))
	}
	switch b {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return nil
	case 0xc4, 0xd9: // bin8, str8
		return w.skipLen(1, 0)
	case 0xc5, 0xda: // bin16, str16
		return w.skipLen(2, 0)
	case 0xc6, 0xdb: // bin32, str32
		return w.skipLen(4, 0)
	case 0xc7: // ext8: length, type, data
		return w.skipLen(1, 1)
	case 0xc8: // ext16
		return w.skipLen(2, 1)
	case 0xc9: // ext32
		return w.skipLen(4, 1)
	case 0xcc, 0xd0: // uint8, int8
		return w.skip(1)
	case 0xcd, 0xd1: // uint16, int16
		return w.skip(2)
	case 0xca, 0xce, 0xd2: // float32, uint32, int32
		return w.skip(4)
	case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
		return w.skip(8)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16: type, data
		return w.skip(1 + uint64(1)<<(b-0xd4))
	case 0xdc, 0xdd: // array16, array32
		n, err := w.length(2 << (b - 0xdc))
		if err != nil {
			return err
		}
		return w.open(n, true)
	case 0xde, 0xdf: // map16, map32
		n, err := w.length(2 << (b - 0xde))
		if err != nil {
			return err
		}
		return w.open(2*n, false)
	}
	return fmt.Errorf("reserved type byte %#x", b)
}

// length reads the size-byte big-endian length that follows a type byte.
func (w *wireWalker) length(size int) (uint64, error) {
	if len(w.data)-w.pos < size {
		return 0, errors.New("truncated length")
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(w.data[w.pos])
	case 2:
		n = uint64(binary.BigEndian.Uint16(w.data[w.pos:]))
	default:
		n = uint64(binary.BigEndian.Uint32(w.data[w.pos:]))
	}
	w.pos += size
	return n, nil
}

// skipLen steps over a length of size bytes, extra bytes, then that many bytes.
func (w *wireWalker) skipLen(size int, extra uint64) error {
	n, err := w.length(size)
	if err != nil {
		return err
	}
	return w.skip(n + extra)
}

func (w *wireWalker) skip(n uint64) error {
	if n > uint64(len(w.data)-w.pos) {
		return errors.New("length past the end")
	}
	w.pos += int(n)
	return nil
}

// open starts a container of n values, each at least one byte long.
func (w *wireWalker) open(n uint64, isArray bool) error {
	if n > uint64(len(w.data)-w.pos) {
		return errors.New("length past the end")
	}
	if isArray && n > maxWireArray {
		return errors.New("array too long")
	}
	if n == 0 {
		return nil
	}
	if len(w.left) > maxWireDepth {
		return errors.New("nested too deep")
	}
	w.left = append(w.left, n)
	return nil
}
