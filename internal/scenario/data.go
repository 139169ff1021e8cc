package scenario

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/loadforge/loadforge/schemas"
)

// MaxDataBytes bounds the data files of one plan together: they travel
// inside the run spec on the bus, whose messages are at most 8 MB.
const MaxDataBytes = 4 << 20

// ReadDataFile reads a data set's file: a CSV with a header row, or (.json)
// an array of objects. Columns are the header's (CSV) or the objects' keys,
// sorted (JSON); every row has one value per column. budget is how many
// bytes may still be read for the plan's data.
func ReadDataFile(path string, budget int64) (columns []string, rows [][]string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, budget+1))
	if err != nil {
		return nil, nil, 0, err
	}
	if int64(len(data)) > budget {
		return nil, nil, 0, fmt.Errorf("%s: the plan's data files together exceed %d MiB (they travel with the run to every worker)", filepath.Base(path), MaxDataBytes>>20)
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		columns, rows, err = parseJSONRows(data)
	} else {
		columns, rows, err = parseCSVRows(data)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if len(rows) == 0 {
		return nil, nil, 0, fmt.Errorf("%s: no rows", filepath.Base(path))
	}
	return columns, rows, int64(len(data)), nil
}

func parseCSVRows(data []byte) ([]string, [][]string, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.FieldsPerRecord = 0
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("empty: want a header row naming the columns")
	}
	if err != nil {
		return nil, nil, oneLineErr(err)
	}
	seen := map[string]bool{}
	for i, c := range header {
		c = strings.TrimSpace(c)
		header[i] = c
		if !ValidName(c) {
			return nil, nil, fmt.Errorf("line 1: column %q is not a name usable as {{ .SET.%s }}: the first line must be a header naming the columns", c, c)
		}
		if seen[c] {
			return nil, nil, fmt.Errorf("line 1: column %q given twice", c)
		}
		seen[c] = true
	}
	var rows [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return header, rows, nil
		}
		if err != nil {
			return nil, nil, oneLineErr(err)
		}
		rows = append(rows, rec)
	}
}

func oneLineErr(err error) error { return errors.New(schemas.OneLine(err.Error())) }

func parseJSONRows(data []byte) ([]string, [][]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var objs []map[string]any
	if err := dec.Decode(&objs); err != nil {
		return nil, nil, fmt.Errorf("want a JSON array of objects: %s", schemas.OneLine(err.Error()))
	}
	set := map[string]bool{}
	for i, o := range objs {
		if o == nil {
			return nil, nil, fmt.Errorf("element %d is not an object", i)
		}
		for k := range o {
			if !ValidName(k) {
				return nil, nil, fmt.Errorf("element %d: key %q is not a name usable as {{ .SET.%s }}", i, k, k)
			}
			set[k] = true
		}
	}
	cols := make([]string, 0, len(set))
	for k := range set {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	rows := make([][]string, len(objs))
	for i, o := range objs {
		row := make([]string, len(cols))
		for j, c := range cols {
			switch v := o[c].(type) {
			case nil:
			case string:
				row[j] = v
			case json.Number:
				row[j] = v.String()
			case bool:
				row[j] = strconv.FormatBool(v)
			default:
				b, _ := json.Marshal(v)
				row[j] = string(b)
			}
		}
		rows[i] = row
	}
	return cols, rows, nil
}

// Table is a data set ready for a worker: each row as a map of its columns,
// built once and shared read-only by every VU.
type Table struct {
	Set  schemas.DataSet
	rows []map[string]string
	next atomic.Uint64 // picks made by this worker (per_vu, per_iteration)
}

// NewTable builds the rows' maps. A row shorter than the header leaves the
// missing columns empty.
func NewTable(ds schemas.DataSet) (*Table, error) {
	if len(ds.Rows) == 0 {
		return nil, fmt.Errorf("data set %q has no rows", ds.Name)
	}
	switch ds.Pick {
	case schemas.PickPerVU, schemas.PickPerIteration, schemas.PickRandom:
	default:
		return nil, fmt.Errorf("data set %q: pick %q: want per_vu, per_iteration or random", ds.Name, ds.Pick)
	}
	switch ds.WhenDone {
	case schemas.WhenDoneCycle, schemas.WhenDoneStop:
	default:
		return nil, fmt.Errorf("data set %q: when_done %q: want cycle or stop", ds.Name, ds.WhenDone)
	}
	t := &Table{Set: ds, rows: make([]map[string]string, len(ds.Rows))}
	for i, r := range ds.Rows {
		m := make(map[string]string, len(ds.Columns))
		for j, c := range ds.Columns {
			if j < len(r) {
				m[c] = r[j]
			} else {
				m[c] = ""
			}
		}
		t.rows[i] = m
	}
	return t, nil
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Pick gives the next row for a worker that is segment index of count: its
// k-th pick is row index + k·count, so that no two workers ever give out the
// same row while rows remain. When they run out, cycle starts over and stop
// gives ok false. random draws any row with rng.
func (t *Table) Pick(index, count int, rng *rand.Rand) (row map[string]string, ok bool) {
	n := uint64(len(t.rows))
	if t.Set.Pick == schemas.PickRandom {
		return t.rows[rng.Uint64N(n)], true
	}
	if count < 1 {
		count, index = 1, 0
	}
	k := t.next.Add(1) - 1
	r := uint64(index) + k*uint64(count)
	if r >= n {
		if t.Set.WhenDone == schemas.WhenDoneStop {
			t.next.Add(^uint64(0)) // keep the counter from running away
			return nil, false
		}
		r %= n
	}
	return t.rows[r], true
}
