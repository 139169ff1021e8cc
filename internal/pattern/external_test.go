package pattern

import "testing"

func TestExternalLoadValidate(t *testing.T) {
	for _, l := range []ExternalLoad{{MaxVUs: 0}, {InitialVUs: 3, MaxVUs: 2}, {InitialVUs: -1, MaxVUs: 2}, {MaxVUs: 1, Duration: -1}} {
		if l.Validate() == nil {
			t.Errorf("%+v accepted", l)
		}
	}
	if err := (ExternalLoad{InitialVUs: 1, MaxVUs: 2}).Validate(); err != nil {
		t.Errorf("a valid load: %v", err)
	}
}
