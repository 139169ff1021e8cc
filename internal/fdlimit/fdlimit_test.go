package fdlimit

import (
	"strings"
	"testing"
)

func TestNeedCountsOriginsPerVU(t *testing.T) {
	urls := []string{"http://a:80/x", "http://a:80/y", "https://a:80/", "http://b/"}
	if got, want := Need(100, urls), uint64(100*3+Reserve); got != want {
		t.Errorf("Need = %d, want %d (three origins)", got, want)
	}
	if got, want := Need(5, nil), uint64(5+Reserve); got != want {
		t.Errorf("Need without URLs = %d, want %d (one connection each)", got, want)
	}
}

func TestCheck(t *testing.T) {
	urls := []string{"http://127.0.0.1:8080/"}
	if err := Check("--vus 900", 900, urls, 1024, 1024); err != nil {
		t.Errorf("900 VUs under 1024: %v", err)
	}
	err := Check("--vus 3000", 3000, urls, 1024, 1024)
	if err == nil {
		t.Fatal("3000 VUs under 1024 accepted")
	}
	for _, part := range []string{"--vus 3000", "3064 file descriptors", "limit is 1024 (hard 1024)", "raise the hard limit"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%q lacks %q", err, part)
		}
	}
	if err := Check("--vus 3000", 3000, urls, 1024, 65536); err == nil || !strings.Contains(err.Error(), "ulimit -n 3064") {
		t.Errorf("with room under the hard limit: %v, want the soft limit to raise", err)
	}
}

func TestRaiseReachesTheHardLimit(t *testing.T) {
	soft, hard, err := Raise()
	if err != nil {
		t.Fatal(err)
	}
	if soft != hard {
		t.Errorf("soft %d, hard %d after Raise", soft, hard)
	}
}
