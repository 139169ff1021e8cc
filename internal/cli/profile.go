package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"

	"github.com/spf13/pflag"
)

// Profiling flags of run, hidden: they are for people working on loadforge's
// own efficiency (see docs/performance.md), not for load testing.
const (
	flagCPUProfile = "cpuprofile"
	flagMemProfile = "memprofile"
	flagTrace      = "trace"
)

func addProfileFlags(fs *pflag.FlagSet) {
	fs.String(flagCPUProfile, "", "write a CPU profile of the run to `FILE`")
	fs.String(flagMemProfile, "", "write an allocation profile of the run to `FILE` at its end")
	fs.String(flagTrace, "", "write an execution trace of the run (go tool trace) to `FILE`")
	_ = fs.MarkHidden(flagCPUProfile)
	_ = fs.MarkHidden(flagMemProfile)
	_ = fs.MarkHidden(flagTrace)
}

// startProfiles starts what the profiling flags ask for; stop ends the CPU
// profile and the trace, and writes the allocation profile.
func startProfiles(fs *pflag.FlagSet) (stop func() error, err error) {
	cpu, err := startRecording(fs, flagCPUProfile, pprof.StartCPUProfile, pprof.StopCPUProfile)
	if err != nil {
		return nil, err
	}
	tr, err := startRecording(fs, flagTrace, trace.Start, trace.Stop)
	if err != nil {
		_ = cpu.end()
		return nil, err
	}
	memPath, _ := fs.GetString(flagMemProfile)
	return func() error {
		if err := errors.Join(tr.end(), cpu.end()); err != nil || memPath == "" {
			return err
		}
		f, err := os.Create(memPath)
		if err != nil {
			return fmt.Errorf("--%s: %w", flagMemProfile, err)
		}
		runtime.GC() // the live heap as of the end, next to the run's allocations
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return fmt.Errorf("--%s: %w", flagMemProfile, err)
		}
		return f.Close()
	}, nil
}

// recording is a profile or trace written to a file while the run goes on.
type recording struct {
	flag string
	f    *os.File
	stop func()
}

// startRecording creates the file flag names and starts writing to it;
// nil when the flag is not given.
func startRecording(fs *pflag.FlagSet, flag string, start func(io.Writer) error, stop func()) (*recording, error) {
	path, _ := fs.GetString(flag)
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return &recording{flag: flag, f: f, stop: stop}, nil
}

// end stops the recording and closes its file; nil does nothing.
func (r *recording) end() error {
	if r == nil {
		return nil
	}
	r.stop()
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("--%s: %w", r.flag, err)
	}
	return nil
}
