package worker

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Raw request records (--raw): one record per counted request, written as
// CSV or JSON lines, gzip-compressed when the file name ends in .gz.
//
// VUs append each record to a buffer of their own raw shard (a lock a few
// VUs share, held while appending ~150 bytes); a full buffer goes whole to
// one writer goroutine, which compresses and writes it. No lock is shared by
// all VUs per request, and the file sees one write per 64 KiB. Records are
// therefore in the file in chunks, not in time order: sort by start_ns.

// RawColumns are the fields of a raw record, in the CSV's column order and
// the JSON lines' key order.
var RawColumns = []string{
	"start_ns", "worker", "vu", "endpoint", "method", "url",
	"status", "error", "latency_us", "service_us", "bytes_in", "bytes_out",
}

// rawFlushBytes is the size at which a shard's buffer goes to the writer.
const rawFlushBytes = 64 << 10

// rawQueue bounds the buffers waiting for the writer: if it falls that far
// behind, VUs wait for it rather than memory growing without end.
const rawQueue = 32

// CheckRawPath checks that path names a raw records file loadforge writes:
// .csv or .jsonl, optionally followed by .gz.
func CheckRawPath(path string) error {
	if _, _, err := rawFormat(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("no directory %s to write it in", dir)
	}
	return nil
}

func rawFormat(path string) (jsonl, gz bool, err error) {
	base := strings.ToLower(path)
	base, gz = strings.CutSuffix(base, ".gz")
	switch {
	case strings.HasSuffix(base, ".csv"):
		return false, gz, nil
	case strings.HasSuffix(base, ".jsonl"):
		return true, gz, nil
	}
	return false, false, errors.New("want a file name ending in .csv or .jsonl (with .gz to compress)")
}

// RawPathFor inserts tag before the format's extension: raw.csv.gz with tag
// box-1 is raw-box-1.csv.gz. Remote workers write one file per run this way.
func RawPathFor(path, tag string) string {
	lower := strings.ToLower(path)
	ext := ""
	for _, e := range []string{".csv.gz", ".jsonl.gz", ".csv", ".jsonl"} {
		if strings.HasSuffix(lower, e) {
			ext = path[len(path)-len(e):]
			break
		}
	}
	return strings.TrimSuffix(path, ext) + "-" + tag + ext
}

type rawWriter struct {
	path   string
	jsonl  bool
	file   *os.File
	gz     *gzip.Writer
	out    *bufio.Writer // the file (through gzip); written by the writer goroutine alone after the header
	shards []rawShard
	// eps holds, per endpoint, the record's middle part, escaped once:
	// `,endpoint,method,url,` (CSV) or `,"endpoint":…,"url":"…"` (JSON).
	eps    [][]byte
	worker []byte // escaped, with its separators
	full   chan []byte
	free   chan []byte
	done   chan struct{}
	err    error // the writer goroutine's first error; read after done
	closed bool
}

type rawShard struct {
	mu  sync.Mutex
	buf []byte
	n   uint64   // records appended; a counter shared by every VU would be contended
	_   [64]byte // one shard per cache line or more: neighbours do not contend
}

// openRaw creates the raw records file at path for a worker's endpoints.
func openRaw(path, workerID string, endpoints []endpoint, shards int) (*rawWriter, error) {
	jsonl, gz, err := rawFormat(path)
	if err != nil {
		return nil, fmt.Errorf("raw records %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("raw records: %w", err)
	}
	r := &rawWriter{
		path: path, jsonl: jsonl, file: f, shards: make([]rawShard, max(shards, 1)),
		full: make(chan []byte, rawQueue), free: make(chan []byte, rawQueue+shards), done: make(chan struct{}),
	}
	var w io.Writer = f
	if gz {
		// The fastest level: the writer must keep up with the VUs, and
		// request records compress well even so (12:1 for CSV on synthetic records).
		r.gz, _ = gzip.NewWriterLevel(f, gzip.BestSpeed) // a valid level never fails
		w = r.gz
	}
	r.out = bufio.NewWriterSize(w, 0)
	for _, ep := range endpoints {
		r.eps = append(r.eps, r.endpointPart(ep))
	}
	if jsonl {
		r.worker = append(append([]byte(`,"worker":`), jsonString(workerID)...), `,"vu":`...)
	} else {
		r.worker = append(append([]byte(","), csvField(workerID)...), ',')
		if _, err := r.out.WriteString(strings.Join(RawColumns, ",") + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("raw records %s: %w", path, err)
		}
	}
	go r.write()
	return r, nil
}

func (r *rawWriter) endpointPart(ep endpoint) []byte {
	if r.jsonl {
		b := []byte(`,"endpoint":`)
		b = append(b, jsonString(ep.name)...)
		b = append(b, `,"method":`...)
		b = append(b, jsonString(ep.method)...)
		b = append(b, `,"url":`...)
		b = append(b, jsonString(ep.url)...)
		return append(b, `,"status":`...)
	}
	b := []byte(",")
	b = append(b, csvField(ep.name)...)
	b = append(b, ',')
	b = append(b, csvField(ep.method)...)
	b = append(b, ',')
	b = append(b, csvField(ep.url)...)
	return append(b, ',')
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}

// csvField quotes s as RFC 4180 asks when it holds a separator, quote or line break.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// record appends one request's record: vuID (which picks the shard) sent
// it to endpoint ep.
func (r *rawWriter) record(vuID int, ep int, o *outcome) {
	s := &r.shards[vuID%len(r.shards)]
	s.mu.Lock()
	if s.buf == nil {
		s.buf = r.buffer()
	}
	s.buf = r.appendRecord(s.buf, vuID, ep, o)
	s.n++
	var full []byte
	if len(s.buf) >= rawFlushBytes {
		full, s.buf = s.buf, nil
	}
	s.mu.Unlock()
	if full != nil {
		r.full <- full
	}
}

func (r *rawWriter) buffer() []byte {
	select {
	case b := <-r.free:
		return b[:0]
	default:
		return make([]byte, 0, rawFlushBytes+1024)
	}
}

func (r *rawWriter) appendRecord(b []byte, vuID, ep int, o *outcome) []byte {
	latency, service := o.latencyUs, o.latencyUs
	if o.serviceUs > 0 {
		service = o.serviceUs
	}
	kind := ""
	if o.errKind != kindNone {
		kind = errorKinds[o.errKind]
	}
	if r.jsonl {
		b = append(b, `{"start_ns":`...)
		b = strconv.AppendInt(b, o.start.UnixNano(), 10)
		b = append(b, r.worker...)
		b = strconv.AppendInt(b, int64(vuID), 10)
		b = append(b, r.eps[ep]...)
		b = appendJSONInt(b, int64(o.status), o.status != 0)
		b = append(b, `,"error":"`...)
		b = append(b, kind...) // kind names need no escaping
		b = append(b, `","latency_us":`...)
		b = appendJSONInt(b, latency, latency >= 0)
		b = append(b, `,"service_us":`...)
		b = appendJSONInt(b, service, latency >= 0)
		b = append(b, `,"bytes_in":`...)
		b = strconv.AppendUint(b, o.bytesIn, 10)
		b = append(b, `,"bytes_out":`...)
		b = strconv.AppendUint(b, o.bytesOut, 10)
		return append(b, "}\n"...)
	}
	b = strconv.AppendInt(b, o.start.UnixNano(), 10)
	b = append(b, r.worker...)
	b = strconv.AppendInt(b, int64(vuID), 10)
	b = append(b, r.eps[ep]...)
	if o.status != 0 {
		b = strconv.AppendInt(b, int64(o.status), 10)
	}
	b = append(b, ',')
	b = append(b, kind...)
	b = append(b, ',')
	if latency >= 0 {
		b = strconv.AppendInt(b, latency, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, service, 10)
	} else {
		b = append(b, ',')
	}
	b = append(b, ',')
	b = strconv.AppendUint(b, o.bytesIn, 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, o.bytesOut, 10)
	return append(b, '\n')
}

func appendJSONInt(b []byte, v int64, ok bool) []byte {
	if !ok {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, v, 10)
}

// write is the writer goroutine: it writes full buffers as they come and
// hands them back for reuse. After an error it drains without writing.
func (r *rawWriter) write() {
	defer close(r.done)
	for b := range r.full {
		if r.err == nil {
			if _, err := r.out.Write(b); err != nil {
				r.err = err
			}
		}
		select {
		case r.free <- b:
		default:
		}
	}
}

// close writes what the shards still hold and closes the file. No record
// may come after it. It returns the number of records written.
func (r *rawWriter) close() (uint64, error) {
	if r == nil || r.closed {
		return 0, nil
	}
	r.closed = true
	var count uint64
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		count += s.n
		if len(s.buf) > 0 {
			r.full <- s.buf
		}
		s.buf = nil
		s.mu.Unlock()
	}
	close(r.full)
	<-r.done
	err := r.err
	if ferr := r.out.Flush(); err == nil {
		err = ferr
	}
	if r.gz != nil {
		if gerr := r.gz.Close(); err == nil {
			err = gerr
		}
	}
	if cerr := r.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return count, fmt.Errorf("raw records %s: %w", r.path, err)
	}
	return count, nil
}

// openRaw opens the worker's raw records file, if it has one.
func (w *Worker) openRaw() error {
	if w.cfg.RawPath == "" || w.raw != nil {
		return nil
	}
	r, err := openRaw(w.cfg.RawPath, w.cfg.WorkerID, w.endpoints, len(w.shards))
	if err != nil {
		return fmt.Errorf("worker %s: %w", w.cfg.WorkerID, err)
	}
	w.raw = r
	return nil
}

// closeRaw completes the raw records file once no VU runs.
func (w *Worker) closeRaw() {
	if w.raw == nil || w.raw.closed {
		return
	}
	n, err := w.raw.close()
	if err != nil {
		w.log.Error("raw records incomplete", "err", err, "records", n)
		return
	}
	w.log.Info("raw records written", "path", w.raw.path, "records", n)
}

// remoteRawPath is a remote worker's raw records file for one run: its name
// and the run's id in the file name, so that runs and machines never collide.
func remoteRawPath(path, name, runID string) string {
	if path == "" {
		return ""
	}
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == os.PathSeparator || r < ' ' {
			return '_'
		}
		return r
	}, name)
	return RawPathFor(path, safe+"-"+runID)
}
