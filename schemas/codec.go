package schemas

import (
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
