// Package browsertest opens a local HTML file in headless Chromium for tests:
// the page's DOM after its scripts ran, its console messages, the network
// requests it made, and screenshots. Chromium is kept off every network: its
// host names resolve nowhere and its proxy is a closed loopback port.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireEnv makes a missing Chromium fail the tests instead of skipping them (CI sets it).
const RequireEnv = "LOADFORGE_REQUIRE_CHROMIUM"

// Find returns the Chromium binary, or skips the test when there is none
// (fails it when RequireEnv is 1).
func Find(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("chromium not found and %s=1", RequireEnv)
	}
	t.Skip("chromium not installed (apt-get install chromium)")
	return ""
}

// timeout bounds one Chromium run: generous, the machine may be busy.
const timeout = 2 * time.Minute

func args(userDir string, extra ...string) []string {
	return append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
		// Screenshots in plain sRGB and the light scheme, so that pixel colours are the stylesheet's.
		"--force-color-profile=srgb", "--blink-settings=preferredColorScheme=1",
		"--user-data-dir=" + userDir,
		"--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
	}, extra...)
}

// Page is what a page did when Chromium loaded it.
type Page struct {
	DOM      string   // the document after its scripts ran
	Console  []string // console messages, uncaught errors among them
	Requests []string // URLs the page asked for, other than file: and data: ones
}

var consoleLine = regexp.MustCompile(`:CONSOLE(?:\(\d+\)|:\d+)\] (.*)$`)

// Load opens file (a path) and returns what the page did.
func Load(t testing.TB, bin, file string) Page {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	netLog := filepath.Join(dir, "net.json")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args(filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--log-net-log="+netLog, "--dump-dom", "file://"+abs)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", file, err, stderr.String())
	}
	p := Page{DOM: stdout.String()}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			p.Console = append(p.Console, m[1])
		}
	}
	p.Requests = pageRequests(t, netLog)
	return p
}

// pageRequests reads Chromium's net log and lists the requests made for a
// page on file:// (Chromium's own background requests have other isolation keys).
func pageRequests(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("chromium wrote no net log: %v", err)
	}
	var doc struct {
		Events []struct {
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		// A log cut short lacks its closing brackets.
		if err2 := json.Unmarshal(append(bytes.TrimRight(bytes.TrimSpace(data), ","), []byte("]}")...), &doc); err2 != nil {
			t.Fatalf("net log %s: %v", path, err)
		}
	}
	var urls []string
	for _, ev := range doc.Events {
		u, _ := ev.Params["url"].(string)
		key, _ := ev.Params["network_isolation_key"].(string)
		if u == "" || !strings.Contains(key, "file://") || strings.HasPrefix(u, "file:") || strings.HasPrefix(u, "data:") {
			continue
		}
		urls = append(urls, u)
	}
	return urls
}

// Screenshot renders file in a window of w × h CSS pixels.
func Screenshot(t testing.TB, bin, file string, w, h int) image.Image {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args(filepath.Join(dir, "profile"), "--hide-scrollbars",
		"--window-size="+strconv.Itoa(w)+","+strconv.Itoa(h), "--screenshot="+shot, "file://"+abs)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot %s: %v\n%s", file, err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return img
}

// CountColor counts the pixels of img with exactly the colour 0xRRGGBB.
func CountColor(img image.Image, rgb uint32) int {
	n := 0
	b := img.Bounds()
	want := [3]uint32{rgb >> 16 & 0xff, rgb >> 8 & 0xff, rgb & 0xff}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if [3]uint32{r >> 8, g >> 8, bl >> 8} == want {
				n++
			}
		}
	}
	return n
}
