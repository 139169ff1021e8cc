// Package output writes the files a run produces (the result document and the
// reports beside it) so that a run never ends without them unnoticed: the
// destination is checked before the run starts, a symbolic link is followed, a
// FIFO or a device is written into (never replaced), and a regular file is
// replaced atomically so that a reader never sees half of it.
package output

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLinks bounds how many symbolic links are followed, as the kernel does.
const maxLinks = 40

// CheckWritable tells, before a run starts, whether WriteFile(path) can
// succeed. The error names flag (e.g. "--out") and says why, on one line.
func CheckWritable(flag, path string) error {
	return CheckPath(flag, path, path)
}

// CheckPath is CheckWritable for path, one of the files made from the value
// given to flag (a prefix, say): the error names flag and value, and path
// where it differs from value.
func CheckPath(flag, value, path string) error {
	if path == "" {
		return fmt.Errorf("%s: empty file name", flag)
	}
	name := flag + " " + value
	if path != value {
		name += ": " + path
	}
	target, err := resolve(path)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fi, err := os.Stat(target)
	switch {
	case err == nil && fi.IsDir():
		if path != value {
			return fmt.Errorf("%s %s: %s is a directory", flag, value, path)
		}
		return fmt.Errorf("%s: is a directory", name)
	case err == nil && !fi.Mode().IsRegular():
		// A FIFO, a device or a socket is written into: it must accept writes.
		if err := canWrite(target); err != nil {
			return fmt.Errorf("%s: cannot write: %w", name, err)
		}
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", name, err)
	}
	// A regular file (or none yet) is replaced by renaming a new file beside it,
	// so the directory must take a new file; trying is the only sure test
	// (permissions, read-only mounts, root, quotas).
	dir := filepath.Dir(target)
	di, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s %s: no directory %s to write it in", flag, value, dir)
	}
	if !di.IsDir() {
		return fmt.Errorf("%s %s: %s is not a directory", flag, value, dir)
	}
	f, err := os.CreateTemp(dir, ".loadforge-check-*")
	if err != nil {
		return fmt.Errorf("%s %s: cannot write in %s: %w", flag, value, dir, unwrapPath(err))
	}
	name = f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// WriteFile writes data to path. A symbolic link is followed to its target; a
// target that exists and is not a regular file (a FIFO, a device) is opened and
// written into; otherwise data goes to a new file in the same directory that is
// then renamed over the target.
func WriteFile(path string, data []byte) error {
	target, err := resolve(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(target); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return fmt.Errorf("%s: is a directory", path)
		}
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".loadforge-out-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}

// resolve follows symbolic links from path to the file they finally name,
// which need not exist yet (a dangling link names the file to create).
func resolve(path string) (string, error) {
	p := path
	for range maxLinks {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(p), link)
		}
		p = link
	}
	return "", fmt.Errorf("too many levels of symbolic links")
}

// unwrapPath drops the temporary file's name from an error: the user never
// asked for that file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
