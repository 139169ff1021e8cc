package schemas

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// ErrVersion is returned by Decode for a message from a newer, incompatible schema.
var ErrVersion = errors.New("unsupported schema_version")

// Versioned is implemented by every message: it exposes the schema_version field.
type Versioned interface{ schemaVersion() int }

func (m *SessionState) schemaVersion() int    { return m.SchemaVersion }
func (m *ScaleCommand) schemaVersion() int    { return m.SchemaVersion }
func (m *WorkerHello) schemaVersion() int     { return m.SchemaVersion }
func (m *WorkerHeartbeat) schemaVersion() int { return m.SchemaVersion }
func (m *WorkerBye) schemaVersion() int       { return m.SchemaVersion }
func (m *MetricEvent) schemaVersion() int     { return m.SchemaVersion }
func (m *Snapshot) schemaVersion() int        { return m.SchemaVersion }
func (m *Result) schemaVersion() int          { return m.SchemaVersion }
func (m *RunSpec) schemaVersion() int         { return m.SchemaVersion }

// Messages of remote workers and outside control.
func (m *WorkerAssignment) schemaVersion() int { return m.SchemaVersion }
func (m *ControlCommand) schemaVersion() int   { return m.SchemaVersion }
func (m *ControlReply) schemaVersion() int     { return m.SchemaVersion }

// The collector's verdicts.
func (m *ThresholdState) schemaVersion() int { return m.SchemaVersion }

// Encode marshals a message as a msgpack map.
func Encode(v any) ([]byte, error) {
	return msgpack.Marshal(v)
}

// An Encoder encodes messages as Encode does, into a buffer it keeps:
// Marshal grows a new buffer for each message, about twice a metric event's
// size in copies and garbage, four events a second per worker. The bytes
// returned are valid until the next call. An Encoder is not safe for
// concurrent use; its zero value is ready.
type Encoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// maxKeptEncoding bounds the buffer an Encoder keeps after a large message
// (a final result).
const maxKeptEncoding = 1 << 20

// Encode marshals a message as a msgpack map.
func (e *Encoder) Encode(v any) ([]byte, error) {
	if e.enc == nil || e.buf.Cap() > maxKeptEncoding {
		e.buf = bytes.Buffer{}
		e.enc = msgpack.NewEncoder(&e.buf)
	}
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

// Decode unmarshals a msgpack message into m and checks its schema version.
// A message without schema_version, or with one this build does not know, is an error.
func Decode(data []byte, m Versioned) error {
	if err := checkWire(data); err != nil {
		return fmt.Errorf("decode %T: %w", m, err)
	}
	if err := unmarshal(data, m); err != nil {
		return fmt.Errorf("decode %T: %w", m, err)
	}
	if v := m.schemaVersion(); v < 1 || v > Version {
		return fmt.Errorf("decode %T: %w %d", m, ErrVersion, v)
	}
	return nil
}
