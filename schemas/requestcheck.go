package schemas

import (
	"fmt"
	"net/url"
	"strings"
)

// The checks every stage applies to a request of a scenario, so that what
// validate accepts, run and a remote worker accept too, with the same words.

// CheckMethod refuses a method that is not an HTTP token.
func CheckMethod(m string) error {
	if !isToken(m) {
		return fmt.Errorf("method %q is not a valid HTTP method", m)
	}
	return nil
}

// CheckHeader refuses a header name that is not a token and a value with a
// control character other than tab (what HTTP/1.1 and net/http refuse).
func CheckHeader(name, value string) error {
	if !isToken(name) {
		return fmt.Errorf("bad header name %q", name)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return fmt.Errorf("header %s: the value holds a control character (%q)", name, c)
		}
	}
	return nil
}

// CheckURL refuses anything but an absolute http or https URL with a host.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http or https URL with a host, got %q", s)
	}
	return nil
}

// Check applies the checks above to r; an empty method is GET.
func (r Request) Check() error {
	if r.Method != "" {
		if err := CheckMethod(r.Method); err != nil {
			return err
		}
	}
	if err := CheckURL(r.URL); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	for _, h := range r.Headers {
		if err := CheckHeader(h[0], h[1]); err != nil {
			return err
		}
	}
	return nil
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}
