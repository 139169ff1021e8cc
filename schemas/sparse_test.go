package schemas

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// pair is [2]int64 under another name, so msgpack encodes []pair through
// reflection: the encoding a build without the sparse codec writes.
type pair [2]int64

type reflected struct {
	H []pair `msgpack:"h"`
}

type registered struct {
	H [][2]int64 `msgpack:"h"`
}

// The sparse codec reads what the reflecting codec writes and the reverse,
// number for number, nil staying nil and empty staying empty; and it writes
// fewer bytes.
func TestSparseCodecMatchesReflection(t *testing.T) {
	for _, h := range [][][2]int64{
		nil,
		{},
		{{1, 1}},
		{{0, 0}, {127, 128}, {-33, 1 << 20}, {math.MaxInt64, math.MinInt64}, {-1, 255}},
	} {
		old := reflected{}
		if h != nil {
			old.H = make([]pair, len(h))
			for i, p := range h {
				old.H[i] = pair(p)
			}
		}
		oldBytes, err := msgpack.Marshal(old)
		if err != nil {
			t.Fatal(err)
		}
		var got registered
		if err := msgpack.Unmarshal(oldBytes, &got); err != nil {
			t.Fatalf("%v: sparse decoder on the reflected encoding: %v", h, err)
		}
		if !reflect.DeepEqual(got.H, h) {
			t.Errorf("sparse decoder read %#v, want %#v", got.H, h)
		}

		newBytes, err := msgpack.Marshal(registered{H: h})
		if err != nil {
			t.Fatal(err)
		}
		var back reflected
		if err := msgpack.Unmarshal(newBytes, &back); err != nil {
			t.Fatalf("%v: reflecting decoder on the sparse encoding: %v", h, err)
		}
		if !reflect.DeepEqual(back, old) {
			t.Errorf("reflecting decoder read %#v, want %#v", back.H, old.H)
		}
		if len(h) > 0 && len(newBytes) >= len(oldBytes) {
			t.Errorf("%v: sparse encoding %d bytes, reflected %d", h, len(newBytes), len(oldBytes))
		}
	}
}

func TestSparseDecoderRejectsWideBuckets(t *testing.T) {
	data, err := msgpack.Marshal(map[string]any{"h": []any{[]int64{1, 2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	var got registered
	if err := msgpack.Unmarshal(data, &got); err == nil {
		t.Fatalf("a bucket of three numbers decoded as %v", got.H)
	}
}

// sparseForms writes the histogram h=pairs with every integer in the given
// msgpack form, as encoders other than this one may.
func sparseForms(t testing.TB, pairs [][2]int64, form func(*msgpack.Encoder, int64) error) []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	if err := e.EncodeMapLen(1); err != nil {
		t.Fatal(err)
	}
	if err := e.EncodeString("h"); err != nil {
		t.Fatal(err)
	}
	if err := e.EncodeArrayLen(len(pairs)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		if err := e.EncodeArrayLen(2); err != nil {
			t.Fatal(err)
		}
		for _, v := range p {
			if err := form(e, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return buf.Bytes()
}

// The direct reading of pairs (Decode's path) and the decoder's own (what
// msgpack.Unmarshal does with the same codec) read every integer form alike.
func TestSparseDirectReadingMatchesDecoder(t *testing.T) {
	pairs := [][2]int64{{0, 1}, {127, 128}, {-1, -32}, {-33, 255}, {256, 65535}, {65536, -129},
		{-32769, 1 << 31}, {-(1 << 31) - 1, 1 << 40}, {math.MaxInt64, math.MinInt64}}
	forms := map[string]func(*msgpack.Encoder, int64) error{
		"shortest": func(e *msgpack.Encoder, v int64) error { return e.EncodeInt(v) },
		"int64":    func(e *msgpack.Encoder, v int64) error { return e.EncodeInt64(v) },
		"uint64":   func(e *msgpack.Encoder, v int64) error { return e.EncodeUint64(uint64(v)) },
		"float":    func(e *msgpack.Encoder, v int64) error { return e.EncodeFloat64(float64(v)) },
		"nil":      func(e *msgpack.Encoder, v int64) error { return e.EncodeNil() },
	}
	for name, form := range forms {
		data := sparseForms(t, pairs, form)
		var direct, reference registered
		errDirect := DecodeAny(data, &direct)
		errReference := msgpack.Unmarshal(data, &reference)
		if (errDirect == nil) != (errReference == nil) {
			t.Fatalf("%s: direct error %v, decoder's %v", name, errDirect, errReference)
		}
		if !reflect.DeepEqual(direct, reference) {
			t.Errorf("%s: direct read %v, decoder %v", name, direct.H, reference.H)
		}
		if name == "shortest" && !reflect.DeepEqual(direct.H, pairs) {
			t.Errorf("read %v, wrote %v", direct.H, pairs)
		}
	}
	// Pairs the direct reading leaves to the decoder, between ones it reads.
	mixed := sparseForms(t, [][2]int64{{1, 2}, {3, 4}}, func(e *msgpack.Encoder, v int64) error { return e.EncodeInt(v) })
	mixed = bytes.Replace(mixed, []byte{0x92, 0x03, 0x04}, []byte{0x91, 0x03}, 1) // a one-number pair
	var got registered
	if err := DecodeAny(mixed, &got); err != nil || !reflect.DeepEqual(got.H, [][2]int64{{1, 2}, {3, 0}}) {
		t.Errorf("mixed forms read %v, %v; want [[1 2] [3 0]]", got.H, err)
	}
	// 0x80, the first byte past the positive fixints, is no number (an
	// empty map), also with more pairs after it.
	mixed = bytes.Replace(mixed, []byte{0x92, 0x01, 0x02}, []byte{0x92, 0x80, 0x01}, 1)
	if err := DecodeAny(mixed, &got); err == nil {
		t.Errorf("a map for a number read as %v", got.H)
	}
}

// FuzzSparseDirect: on any bytes, the direct reading of pairs and the
// decoder's own give the same histogram or both fail, and the wire check
// with its pair step gives the verdict of the check walking value by value.
func FuzzSparseDirect(f *testing.F) {
	f.Add(sparseForms(f, [][2]int64{{1, 2}, {300, -5}}, func(e *msgpack.Encoder, v int64) error { return e.EncodeInt(v) }))
	f.Add(sparseForms(f, [][2]int64{{1 << 40, 2}}, func(e *msgpack.Encoder, v int64) error { return e.EncodeInt64(v) }))
	f.Add([]byte{0x81, 0xa1, 'h', 0x92, 0x92, 0x01, 0xcd, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, slow := walkWire(data, true), walkWire(data, false)
		if (fast == nil) != (slow == nil) {
			t.Fatalf("wire check with the pair step: %v; value by value: %v", fast, slow)
		}
		if fast != nil {
			return
		}
		var direct, reference registered
		errDirect := unmarshal(data, &direct)
		errReference := msgpack.Unmarshal(data, &reference)
		if (errDirect == nil) != (errReference == nil) {
			t.Fatalf("direct error %v, decoder's %v", errDirect, errReference)
		}
		if errDirect == nil && !reflect.DeepEqual(direct, reference) {
			t.Fatalf("direct read %v, decoder %v", direct.H, reference.H)
		}
	})
}

// sparseBytes is what the sparse encoder writes for h=pairs.
func sparseBytes(t testing.TB, pairs [][2]int64) []byte {
	b, err := msgpack.Marshal(registered{H: pairs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeSparseByEncoder is h=pairs written through msgpack's encoder, number
// by number: the bytes the sparse encoder must write.
func encodeSparseByEncoder(t testing.TB, pairs [][2]int64) []byte {
	return sparseForms(t, pairs, (*msgpack.Encoder).EncodeInt)
}

// The sparse encoder writes, byte for byte, what msgpack's encoder writes
// for the same array of integer pairs: every integer form at its edges, and
// every array header.
func TestSparseEncoderWritesTheEncodersBytes(t *testing.T) {
	var edges []int64
	for _, v := range []int64{0, 127, 255, math.MaxUint16, math.MaxUint32, math.MaxInt64,
		-32, math.MinInt8, math.MinInt16, math.MinInt32, math.MinInt64} {
		edges = append(edges, v)
		if v != math.MaxInt64 {
			edges = append(edges, v+1)
		}
		if v != math.MinInt64 {
			edges = append(edges, v-1)
		}
	}
	var pairs [][2]int64
	for i, v := range edges {
		pairs = append(pairs, [2]int64{v, edges[(i*7)%len(edges)]})
	}
	for _, n := range []int{0, 1, 15, 16, len(pairs), math.MaxUint16, math.MaxUint16 + 1} {
		h := make([][2]int64, n)
		for i := range h {
			h[i] = pairs[i%len(pairs)]
		}
		if got, want := sparseBytes(t, h), encodeSparseByEncoder(t, h); !bytes.Equal(got, want) {
			t.Fatalf("%d pairs: %d bytes written, the encoder's %d, first difference at %d",
				n, len(got), len(want), firstDifference(got, want))
		}
	}
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func FuzzSparseEncode(f *testing.F) {
	f.Add(int64(0), int64(-1), int64(math.MaxInt64))
	f.Add(int64(math.MinInt64), int64(-33), int64(256))
	f.Fuzz(func(t *testing.T, a, b, c int64) {
		pairs := [][2]int64{{a, b}, {b, c}, {c, a}}
		if got, want := sparseBytes(t, pairs), encodeSparseByEncoder(t, pairs); !bytes.Equal(got, want) {
			t.Fatalf("%v: wrote % x, the encoder % x", pairs, got, want)
		}
	})
}
