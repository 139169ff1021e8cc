package cli

import (
	"fmt"
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
// profile and writes the allocation profile.
func startProfiles(fs *pflag.FlagSet) (stop func() error, err error) {
	cpuPath, _ := fs.GetString(flagCPUProfile)
	memPath, _ := fs.GetString(flagMemProfile)
	tracePath, _ := fs.GetString(flagTrace)
	var cpuFile, traceFile *os.File
	if cpuPath != "" {
		if cpuFile, err = os.Create(cpuPath); err != nil {
			return nil, fmt.Errorf("--%s: %w", flagCPUProfile, err)
		}
		if err := pprof.StartCPUProfile(cpuFile); err != nil {
			cpuFile.Close()
			return nil, fmt.Errorf("--%s: %w", flagCPUProfile, err)
		}
	}
	if tracePath != "" {
		if traceFile, err = os.Create(tracePath); err != nil {
			return nil, fmt.Errorf("--%s: %w", flagTrace, err)
		}
		if err := trace.Start(traceFile); err != nil {
			traceFile.Close()
			return nil, fmt.Errorf("--%s: %w", flagTrace, err)
		}
	}
	return func() error {
		if traceFile != nil {
			trace.Stop()
			if err := traceFile.Close(); err != nil {
				return fmt.Errorf("--%s: %w", flagTrace, err)
			}
		}
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Close(); err != nil {
				return fmt.Errorf("--%s: %w", flagCPUProfile, err)
			}
		}
		if memPath == "" {
			return nil
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
