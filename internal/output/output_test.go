package output

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFileReplacesRegularFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "result.json")
	if err := os.WriteFile(path, []byte("old content that is longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckWritable("--out", path); err != nil {
		t.Fatalf("CheckWritable: %v", err)
	}
	if err := WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new" {
		t.Fatalf("read back %q, %v; want %q", got, err, "new")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the result (no leftover temporary files)", len(entries))
	}
}

func TestWriteFileFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	realDir := filepath.Join(dir, "real")
	if err := os.Mkdir(realDir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(realDir, "r.json")
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink("real/r.json", link); err != nil {
		t.Fatal(err)
	}
	// A dangling link names the file to create; a second write replaces it.
	for _, content := range []string{"first", "second"} {
		if err := CheckWritable("--out", link); err != nil {
			t.Fatalf("CheckWritable: %v", err)
		}
		if err := WriteFile(link, []byte(content)); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(link)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("link replaced: mode %v, err %v", fi.Mode(), err)
		}
		got, err := os.ReadFile(target)
		if err != nil || string(got) != content {
			t.Fatalf("target holds %q, %v; want %q", got, err, content)
		}
	}
}

func TestWriteFileIntoFIFO(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs")
	}
	path := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := CheckWritable("--out", path); err != nil {
		t.Fatalf("CheckWritable: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	payload := bytes.Repeat([]byte("x"), 200_000) // more than a pipe buffer
	if err := WriteFile(path, payload); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, payload) {
		t.Fatalf("reader got %d bytes, want %d", len(b), len(payload))
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("FIFO replaced: mode %v, err %v", fi.Mode(), err)
	}
}

func TestWriteFileIntoDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a device node needs root")
	}
	// A private null device: if the code were wrong it would replace this one,
	// never the system's.
	path := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, int(mkdev(1, 3))); err != nil {
		t.Skipf("mknod: %v", err)
	}
	if err := CheckWritable("--out", path); err != nil {
		t.Fatalf("CheckWritable: %v", err)
	}
	if err := WriteFile(path, []byte("gone")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("device replaced: mode %v, err %v", fi.Mode(), err)
	}
}

func mkdev(major, minor uint32) uint64 {
	return uint64(major)<<8 | uint64(minor)
}

func TestCheckWritableRefuses(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"directory":      dir,
		"no directory":   filepath.Join(dir, "missing", "r.json"),
		"parent is file": filepath.Join(mustFile(t, dir), "r.json"),
	}
	// An existing directory the process may not write in: as root only a
	// kernel file system refuses.
	if os.Geteuid() == 0 {
		if runtime.GOOS == "linux" {
			cases["unwritable directory"] = "/proc/self/r.json"
		}
	} else {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		cases["unwritable directory"] = filepath.Join(ro, "r.json")
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckWritable("--out", path)
			if err == nil {
				t.Fatalf("CheckWritable(%s) passed", path)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "--out ") || strings.Contains(msg, "\n") || strings.Contains(msg, ".loadforge-check-") {
				t.Fatalf("message %q: want one line naming the flag and not the probe file", msg)
			}
		})
	}
}

func mustFile(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "plain")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
