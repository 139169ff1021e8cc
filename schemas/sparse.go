package schemas

import (
	"fmt"
	"reflect"

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
	if err := e.EncodeArrayLen(len(pairs)); err != nil {
		return err
	}
	for _, p := range pairs {
		if err := e.EncodeArrayLen(2); err != nil {
			return err
		}
		if err := e.EncodeInt(p[0]); err != nil {
			return err
		}
		if err := e.EncodeInt(p[1]); err != nil {
			return err
		}
	}
	return nil
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
	for i := range n {
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
