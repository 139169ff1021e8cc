package schemas

import "fmt"

// DecodeAny unmarshals a msgpack message into v with Decode's guards on the
// bytes (no declared length beyond what is there, bounded nesting), for a
// message type Decode does not take; the caller checks its schema_version.
func DecodeAny(data []byte, v any) error {
	if err := checkWire(data); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	if err := unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}
