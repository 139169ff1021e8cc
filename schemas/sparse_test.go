package schemas

import (
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
