package target

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// The endpoints a login flow needs, with what they saw counted for tests
// and for /accounts:
//
//	POST /login          {"user", "password"} → {"session": {"token", "user"}}, X-Request-Id; 401 without both
//	GET  /me             needs Authorization: Bearer <token from /login> → {"user", "items": [...]}; else 401
//	POST /cookie-login   like /login, but sets a session cookie sid
//	GET  /session        needs the sid cookie → {"user"}; else 401
//	/users/NAME          records a visit of NAME → {"user", "visits"}
//	GET  /accounts       {"logins": {user: n}, "unauthorized": n, "visits": {name: n}}
type accounts struct {
	mu           sync.Mutex
	tokens       map[string]string // bearer token → user
	sessions     map[string]string // sid → user
	logins       map[string]int
	visits       map[string]int
	unauthorized int
}

func (h *Handler) registerLogin() {
	a := &h.acc
	a.tokens, a.sessions = map[string]string{}, map[string]string{}
	a.logins, a.visits = map[string]int{}, map[string]int{}
	h.mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) { h.login(w, r, false) })
	h.mux.HandleFunc("POST /cookie-login", func(w http.ResponseWriter, r *http.Request) { h.login(w, r, true) })
	h.mux.HandleFunc("GET /me", h.me)
	h.mux.HandleFunc("GET /session", h.session)
	h.mux.HandleFunc("/users/{name}", h.user)
	h.mux.HandleFunc("GET /accounts", h.accountsJSON)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request, cookie bool) {
	var in struct{ User, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEcho)).Decode(&in); err != nil || in.User == "" || in.Password == "" {
		h.acc.unauthorizedOne()
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "want a JSON body with user and password"})
		return
	}
	tok := newToken()
	a := &h.acc
	a.mu.Lock()
	a.logins[in.User]++
	if cookie {
		a.sessions[tok] = in.User
	} else {
		a.tokens[tok] = in.User
	}
	a.mu.Unlock()
	w.Header().Set("X-Request-Id", newToken())
	if cookie {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: tok, Path: "/", HttpOnly: true})
		writeJSON(w, http.StatusOK, map[string]any{"user": in.User})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"session": map[string]string{"token": tok, "user": in.User}})
}

func (a *accounts) unauthorizedOne() {
	a.mu.Lock()
	a.unauthorized++
	a.mu.Unlock()
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a := &h.acc
	a.mu.Lock()
	user, known := a.tokens[tok]
	if !ok || !known {
		a.unauthorized++
	}
	a.mu.Unlock()
	if !ok || !known {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "want Authorization: Bearer <token from /login>"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": user, "items": []int{1, 2, 3}})
}

func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	a := &h.acc
	user, known := "", false
	if c, err := r.Cookie("sid"); err == nil {
		a.mu.Lock()
		user, known = a.sessions[c.Value]
		a.mu.Unlock()
	}
	if !known {
		a.unauthorizedOne()
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "want the sid cookie from /cookie-login"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": user})
}

func (h *Handler) user(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	a := &h.acc
	a.mu.Lock()
	a.visits[name]++
	n := a.visits[name]
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"user": name, "visits": n})
}

// Accounts is what the login endpoints saw: logins per user, requests
// refused for want of a token or session, visits per /users/NAME.
type Accounts struct {
	Logins       map[string]int `json:"logins"`
	Unauthorized int            `json:"unauthorized"`
	Visits       map[string]int `json:"visits"`
}

// Accounts returns a copy of what the login endpoints saw.
func (h *Handler) Accounts() Accounts {
	a := &h.acc
	a.mu.Lock()
	defer a.mu.Unlock()
	return Accounts{Logins: maps.Clone(a.logins), Unauthorized: a.unauthorized, Visits: maps.Clone(a.visits)}
}

func (h *Handler) accountsJSON(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.Accounts())
}
