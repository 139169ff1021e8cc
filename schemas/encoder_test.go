package schemas

import (
	"reflect"
	"testing"
)

// An Encoder writes what Encode writes (decoded alike: maps go out in any
// order), message after message, large or small, and once warm it encodes
// an event without growing a buffer.
func TestEncoderWritesWhatEncodeWrites(t *testing.T) {
	big := benchEvent()
	for range 6 {
		big.Endpoints = append(big.Endpoints, big.Endpoints...)
	}
	var e Encoder
	for _, m := range []Versioned{benchEvent(), &Snapshot{SchemaVersion: Version, RunID: "r", Seq: 3}, big, benchEvent()} {
		want, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%T: %d bytes, Encode's %d", m, len(got), len(want))
		}
		g, w := reflect.New(reflect.TypeOf(m).Elem()).Interface().(Versioned), reflect.New(reflect.TypeOf(m).Elem()).Interface().(Versioned)
		if err := Decode(got, g); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if err := Decode(want, w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) || !reflect.DeepEqual(g, m) {
			t.Fatalf("%T: decoded differently", m)
		}
	}
	ev := benchEvent()
	fresh := testing.AllocsPerRun(20, func() { _, _ = Encode(ev) })
	warm := testing.AllocsPerRun(20, func() { _, _ = e.Encode(ev) })
	if warm >= fresh-3 {
		t.Errorf("a warm Encoder allocated %v times an event, Encode %v", warm, fresh)
	}
}
