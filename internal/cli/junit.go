package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/loadforge/loadforge/internal/junit"
	"github.com/loadforge/loadforge/schemas"
)

// junitPath reads --junit and checks, before the run starts, that the file can
// be written: a CI job should not run a ten-minute test to lose its report.
func junitPath(st *settings) (string, error) {
	s := find(runSettings, "junit")
	path := st.text(s)
	if path == "" {
		return "", nil
	}
	_, origin, _ := st.lookup(s)
	origin = originOr(origin, s)
	if out := st.text(find(runSettings, "out")); out != "" && sameFile(out, path) {
		return "", fmt.Errorf("%s %s: is also the --out file; give the report its own", origin, path)
	}
	return path, checkWritable(origin, path)
}

// sameFile tells whether two paths name one file (by path; the files need not exist).
func sameFile(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// writeJUnit writes the run's verdicts to path (when set), whatever the run's
// state: an interrupted or aborted run still gets its report, like --out.
func writeJUnit(path string, res *schemas.Result) error {
	if path == "" || res == nil {
		return nil
	}
	return junit.WriteFile(path, res)
}

// checkWritable tells whether a file can be created or replaced at path: its
// directory exists and takes a new file, and path is not a directory.
func checkWritable(origin, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s: is a directory", origin, path)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s %s: no directory %s to write it in", origin, path, dir)
	}
	// The files are replaced by a rename, so the directory must take a new file.
	f, err := os.CreateTemp(dir, ".loadforge-check-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s %s: cannot write in %s: %w", origin, path, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}
