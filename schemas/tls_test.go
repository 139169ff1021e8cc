package schemas

import (
	"bytes"
	"reflect"
	"testing"
)

// A spec carries the target's TLS files to remote workers whole, up to
// their size limit each, and the HTTP version and keep-alive choice.
func TestRunSpecCarriesTargetTLS(t *testing.T) {
	pem := func(b byte) []byte { return bytes.Repeat([]byte{b}, MaxTLSFileBytes) }
	in := &RunSpec{SchemaVersion: Version, RunID: "r", HTTPVersion: HTTPVersion2, NoKeepAlive: true,
		Scenario: Scenario{Tasks: []Task{{Name: "t", Weight: 1, Requests: []Request{{Name: "a", URL: "https://127.0.0.1/"}}}}},
		TLS:      &TargetTLS{Insecure: true, CAPEM: pem('a'), CertPEM: pem('c'), KeyPEM: pem('k'), ServerName: "shop.example", MinVersion: "1.3"}}
	data, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkWire(data); err != nil {
		t.Fatal(err)
	}
	var out RunSpec
	if err := Decode(data, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, &out) {
		t.Errorf("decoded spec differs: tls %+v", out.TLS)
	}
}
