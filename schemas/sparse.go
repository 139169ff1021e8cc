package schemas

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// A sparse histogram ([][2]int64 of value and count) is most of a metric
// event's bytes. Through reflection msgpack looks up an encoder per element
// and per number (a sync.Map load each) and writes every number in 9 bytes;
// an event of a few thousand buckets cost the worker and the collector about
// a millisecond each, on the open model's core. These codecs write the same
// msgpack types (an array of two-integer arrays), each integer in its
// shortest form, which every msgpack reader takes.
func init() {
	msgpack.Register([][2]int64(nil), encodeSparse, decodeSparse)
}

func encodeSparse(e *msgpack.Encoder, v reflect.Value) error {
	if v.IsNil() {
		return e.EncodeNil()
	}
	pairs := v.Interface().([][2]int64)
	// The bytes are appended here and written at once: the encoder writes
	// each number through its writer, three calls a pair, which was most of
	// an event's encoding (BenchmarkEncodeMetricEvent).
	bp := sparseBufs.Get().(*[]byte)
	b := appendArrayLen((*bp)[:0], len(pairs))
	for _, p := range pairs {
		b = append(b, 0x92) // fixarray of 2
		b = appendInt(appendInt(b, p[0]), p[1])
	}
	_, err := e.Writer().Write(b)
	*bp = b
	sparseBufs.Put(bp)
	return err
}

// sparseBufs are encodeSparse's buffers.
var sparseBufs = sync.Pool{New: func() any { return new([]byte) }}

// appendArrayLen appends an array header as the encoder's EncodeArrayLen writes it.
func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

// appendInt appends n in the bytes of the encoder's EncodeInt: its
// shortest form.
func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return appendUint(b, uint64(n))
	case n >= -32: // negative fixint
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, 0xd0, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

func appendUint(b []byte, n uint64) []byte {
	switch {
	case n <= math.MaxInt8: // positive fixint
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xcc, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), n)
}

// sparsePrealloc bounds what a decoder allocates on a length it has not yet
// seen the bytes for: a hostile length costs no more than this.
const sparsePrealloc = 4096

func decodeSparse(d *msgpack.Decoder, v reflect.Value) error {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n == -1 {
		v.SetZero()
		return nil
	}
	pairs := make([][2]int64, 0, min(n, sparsePrealloc))
	r, direct := d.Buffered().(*wireReader)
	for len(pairs) < n {
		// Most pairs are two integers: read straight from the bytes.
		if direct {
			if p, next, ok := readIntPair(r.data, r.pos); ok {
				pairs, r.pos = append(pairs, p), next
				continue
			}
		}
		// A pair in any other form (nil, a shorter array, a float, a
		// truncated value): the decoder's own reading, with the result the
		// reflecting decoder gives.
		i := len(pairs)
		m, err := d.DecodeArrayLen()
		if err != nil {
			return fmt.Errorf("bucket %d: %w", i, err)
		}
		// As the reflecting decoder: nil or fewer numbers leave zeros.
		if m > 2 {
			return fmt.Errorf("bucket %d: %d numbers, want 2", i, m)
		}
		var p [2]int64
		for j := range max(m, 0) {
			if p[j], err = d.DecodeInt64(); err != nil {
				return fmt.Errorf("bucket %d: %w", i, err)
			}
		}
		pairs = append(pairs, p)
	}
	v.Set(reflect.ValueOf(pairs))
	return nil
}

// readIntPair reads, at data[pos:], a two-element array of integers, and
// says where it ends; ok is false, with nothing consumed, for any other form.
func readIntPair(data []byte, pos int) (p [2]int64, next int, ok bool) {
	if pos >= len(data) || data[pos] != 0x92 { // fixarray of 2
		return p, pos, false
	}
	next = pos + 1
	for i := range p {
		if p[i], next, ok = readInt(data, next); !ok {
			return p, pos, false
		}
	}
	return p, next, true
}

// readInt reads one msgpack integer, as msgpack's DecodeInt64 does.
func readInt(data []byte, pos int) (v int64, next int, ok bool) {
	if pos >= len(data) {
		return 0, pos, false
	}
	c := data[pos]
	if c <= 0x7f || c >= 0xe0 { // positive and negative fixint
		return int64(int8(c)), pos + 1, true
	}
	b := data[pos+1:]
	switch {
	case c == 0xcc && len(b) >= 1: // uint8
		return int64(b[0]), pos + 2, true
	case c == 0xd0 && len(b) >= 1: // int8
		return int64(int8(b[0])), pos + 2, true
	case c == 0xcd && len(b) >= 2: // uint16
		return int64(binary.BigEndian.Uint16(b)), pos + 3, true
	case c == 0xd1 && len(b) >= 2: // int16
		return int64(int16(binary.BigEndian.Uint16(b))), pos + 3, true
	case c == 0xce && len(b) >= 4: // uint32
		return int64(binary.BigEndian.Uint32(b)), pos + 5, true
	case c == 0xd2 && len(b) >= 4: // int32
		return int64(int32(binary.BigEndian.Uint32(b))), pos + 5, true
	case (c == 0xcf || c == 0xd3) && len(b) >= 8: // uint64, int64
		return int64(binary.BigEndian.Uint64(b)), pos + 9, true
	}
	return 0, pos, false
}
