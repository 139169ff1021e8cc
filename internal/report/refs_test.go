package report

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/loadforge/loadforge/schemas"
)

// urlAttrs are the attributes by which a browser fetches something.
var urlAttrs = map[string]bool{
	"src": true, "href": true, "srcset": true, "action": true, "formaction": true, "poster": true,
	"data": true, "background": true, "ping": true, "manifest": true, "xlink:href": true, "codebase": true,
	"cite": true, "longdesc": true, "archive": true, "classid": true, "icon": true, "profile": true,
}

var cssFetch = regexp.MustCompile(`(?i)url\s*\(|@import|image-set\s*\(`)

// fetchable lists what in page a browser could fetch: a URL attribute that is
// not a fragment (#id), a CSS url() or @import in a style sheet or a style
// attribute, and any script source or http(s) name in a script.
func fetchable(t *testing.T, page []byte) []string {
	t.Helper()
	var found []string
	z := html.NewTokenizer(bytes.NewReader(page))
	inRaw := ""
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("parse the page: %v", z.Err())
			}
			return found
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if tok.Data == "style" || tok.Data == "script" {
				inRaw = tok.Data
			}
			for _, a := range tok.Attr {
				key := strings.ToLower(a.Key)
				if urlAttrs[key] && !strings.HasPrefix(a.Val, "#") {
					found = append(found, "<"+tok.Data+" "+key+"="+a.Val+">")
				}
				if key == "style" && cssFetch.MatchString(a.Val) {
					found = append(found, "<"+tok.Data+" style="+a.Val+">")
				}
			}
			if tok.Data == "base" || tok.Data == "link" || tok.Data == "iframe" || tok.Data == "object" || tok.Data == "embed" {
				found = append(found, "<"+tok.Data+">")
			}
		case html.EndTagToken:
			inRaw = ""
		case html.TextToken:
			text := string(z.Text())
			switch inRaw {
			case "style":
				if m := cssFetch.FindString(text); m != "" {
					found = append(found, "style sheet: "+m)
				}
			case "script":
				for _, s := range []string{"http:", "https:", "import(", "fetch(", "XMLHttpRequest", "//cdn"} {
					if strings.Contains(text, s) {
						found = append(found, "script: "+s)
					}
				}
			}
		}
	}
}

// TestPageHasNothingToFetch: the page of a result whose names and URLs carry
// markup has no reference a browser would fetch (the names are escaped).
func TestPageHasNothingToFetch(t *testing.T) {
	r := synthetic(30, 3)
	r.Name = `<img src="https://example.com/x.png">`
	r.Endpoints[0].Name = `<link rel=stylesheet href=https://example.com/a.css>`
	r.Endpoints[1].URL = `javascript:alert(1)//https://example.com/`
	r.Timeline[3].Endpoints[0].Name = r.Endpoints[0].Name
	r.Warnings = []string{`<script src="https://example.com/x.js"></script>`}
	var b bytes.Buffer
	if err := Render(&b, r, Options{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	if refs := fetchable(t, b.Bytes()); len(refs) > 0 {
		t.Fatalf("the page references %q", refs)
	}
	// The check itself finds what it must.
	bad := []byte(`<html><style>body{background:url(https://x/y.png)}</style><img src="https://x/y.png"><a href="#ok">x</a></html>`)
	if refs := fetchable(t, bad); len(refs) != 2 {
		t.Fatalf("the check found %q in a page with two references", refs)
	}
}

// FuzzPageHasNothingToFetch: whatever the names, units and figures of a
// result, its page renders and references nothing to fetch.
func FuzzPageHasNothingToFetch(f *testing.F) {
	f.Add("run", "GET", "http://127.0.0.1/", "completed", 1.5, "ok")
	f.Add(`<script>`, `"><img src=x>`, "javascript:x", "</style>", -1.0, "url(x)")
	base, err := json.Marshal(synthetic(3, 2))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, method, url, state string, v float64, warning string) {
		var r *schemas.Result
		if err := json.Unmarshal(base, &r); err != nil {
			t.Fatal(err)
		}
		r.Name, r.State, r.Warnings = name, state, []string{warning}
		r.Endpoints[0].Name, r.Endpoints[0].Method, r.Endpoints[0].URL = name, method, url
		r.Timeline[0].Endpoints[0].Name = name
		r.Totals.LatencyMs.P99, r.Timeline[1].LatencyMs.P95 = v, v
		r.Endpoints[1].StatusCodes[warning] = 1
		var b bytes.Buffer
		if err := Render(&b, r, Options{Version: method}); err != nil {
			t.Fatal(err)
		}
		if refs := fetchable(t, b.Bytes()); len(refs) > 0 {
			t.Fatalf("the page references %q", refs)
		}
	})
}

// FuzzRenderAnyResult: any JSON that decodes as a result renders, without
// panic and with nothing to fetch (loadforge report reads such files).
func FuzzRenderAnyResult(f *testing.F) {
	seed, err := json.Marshal(synthetic(4, 2))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"schema_version":1,"timeline":[{"t_s":-5,"requests":3,"endpoints":[{"name":"x","requests":1}]},{"t_s":1e300}]}`))
	f.Add([]byte(`{"totals":{"spectrum":{"latency_ms":[[100,1],[-3,2],[99.9999999999999,1e308]]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r schemas.Result
		if json.Unmarshal(data, &r) != nil {
			return
		}
		var b bytes.Buffer
		if err := Render(&b, &r, Options{}); err != nil {
			t.Fatal(err)
		}
		if refs := fetchable(t, b.Bytes()); len(refs) > 0 {
			t.Fatalf("the page references %q", refs)
		}
	})
}
