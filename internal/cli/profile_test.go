package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func profileFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	addProfileFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

// The profiling flags write a CPU profile, an execution trace and an
// allocation profile, each to its file, once stopped.
func TestProfilesWriteTheirFiles(t *testing.T) {
	dir := t.TempDir()
	cpu, trace, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "trace.out"), filepath.Join(dir, "mem.prof")
	stop, err := startProfiles(profileFlags(t, "--cpuprofile", cpu, "--trace", trace, "--memprofile", mem))
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for path, magic := range map[string][]byte{
		cpu:   {0x1f, 0x8b}, // gzip, as pprof writes
		mem:   {0x1f, 0x8b},
		trace: []byte("go 1."), // the execution trace's header
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, magic) {
			t.Errorf("%s starts %q, want %q", filepath.Base(path), b[:min(len(b), 8)], magic)
		}
	}
}

// A trace that cannot start fails with its flag named, and leaves no CPU
// profile running behind it.
func TestFailedTraceStopsTheCPUProfile(t *testing.T) {
	dir := t.TempDir()
	_, err := startProfiles(profileFlags(t, "--cpuprofile", filepath.Join(dir, "cpu.prof"), "--trace", filepath.Join(dir, "no", "trace.out")))
	if err == nil || !strings.HasPrefix(err.Error(), "--trace: ") {
		t.Fatalf("error %v, want one naming --trace", err)
	}
	// Only one CPU profile runs at a time: starting one tells whether the
	// first was stopped.
	if err := pprof.StartCPUProfile(new(bytes.Buffer)); err != nil {
		t.Fatalf("the CPU profile is still running: %v", err)
	}
	pprof.StopCPUProfile()
}
