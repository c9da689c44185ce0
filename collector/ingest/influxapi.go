package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ninesmon/nines/collector/config"
)

// InfluxVersion is the InfluxDB version the collector's write API
// answers to: clients read it from X-Influxdb-Version and /health. Its
// /query and /write are InfluxDB 1.8's, its /api/v2/write 2.x's.
const InfluxVersion = "1.8.10"

// MaxInfluxDatabases bounds the names CREATE DATABASE remembers.
const MaxInfluxDatabases = 1000

// Authorizer wraps a handler so that only principals of the given role
// get through (*auth.Authenticator).
type Authorizer interface {
	Require(want config.Role, h http.Handler) http.Handler
}

// InfluxAPI serves what InfluxDB clients call on a write target besides
// the writes themselves: /ping, /health and /ready (open, as InfluxDB's
// are), and /query (the agent role, as /write) answering CREATE DATABASE
// and SHOW DATABASES, so Telegraf's outputs.influxdb, which creates its
// database before writing, starts without a warning. Nines keeps no
// databases: a database or bucket is a label of the samples written to
// it; CREATE DATABASE only remembers the name (in memory, at most
// MaxInfluxDatabases) for SHOW DATABASES. Other statements get
// InfluxDB's per-statement error: Nines is not a query target for
// InfluxQL. A zero InfluxAPI is ready to use; it is safe for concurrent
// use.
type InfluxAPI struct {
	// Now is the clock of /ready's uptime (nil: time.Now).
	Now func() time.Time

	once    sync.Once
	started time.Time

	mu  sync.Mutex
	dbs map[string]struct{}
}

// RegisterInfluxAPI registers a new InfluxAPI's endpoints on mux, with
// /query behind a's agent role (InfluxDB 1.x credentials accepted, see
// V1Credentials).
func RegisterInfluxAPI(mux *http.ServeMux, a Authorizer) *InfluxAPI {
	api := &InfluxAPI{}
	api.Register(mux, a)
	return api
}

// Register registers the endpoints on mux.
func (api *InfluxAPI) Register(mux *http.ServeMux, a Authorizer) {
	api.init()
	mux.HandleFunc("GET /ping", api.ping)
	mux.HandleFunc("HEAD /ping", api.ping)
	mux.HandleFunc("GET /health", api.health)
	mux.HandleFunc("GET /ready", api.ready)
	q := V1Credentials(a.Require(config.RoleAgent, http.HandlerFunc(api.query)))
	mux.Handle("GET /query", q)
	mux.Handle("POST /query", q)
}

func (api *InfluxAPI) now() time.Time {
	if api.Now != nil {
		return api.Now()
	}
	return time.Now()
}

func (api *InfluxAPI) init() {
	api.once.Do(func() { api.started = api.now() })
}

func influxHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Influxdb-Version", InfluxVersion)
	w.Header().Set("X-Influxdb-Build", "OSS")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	influxHeaders(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ping answers 204, or 200 with the version for ?verbose=true, as
// InfluxDB 1.x does.
func (api *InfluxAPI) ping(w http.ResponseWriter, r *http.Request) {
	if v := r.URL.Query().Get("verbose"); v == "true" || v == "1" {
		writeJSON(w, http.StatusOK, map[string]string{"version": InfluxVersion})
		return
	}
	influxHeaders(w)
	w.WriteHeader(http.StatusNoContent)
}

// health answers as InfluxDB 1.8 and 2.x do.
func (api *InfluxAPI) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Name    string   `json:"name"`
		Message string   `json:"message"`
		Status  string   `json:"status"`
		Checks  []string `json:"checks"`
		Version string   `json:"version"`
		Commit  string   `json:"commit"`
	}{"influxdb", "ready for queries and writes", "pass", []string{}, InfluxVersion, ""})
}

// ready answers as InfluxDB 2.x does.
func (api *InfluxAPI) ready(w http.ResponseWriter, _ *http.Request) {
	api.init()
	writeJSON(w, http.StatusOK, map[string]string{
		"status":  "ready",
		"started": api.started.UTC().Format(time.RFC3339Nano),
		"up":      api.now().Sub(api.started).String(),
	})
}

// maxQueryBytes bounds a /query request's form body.
const maxQueryBytes = 64 << 10

// queryResult is one statement's result in InfluxDB 1.x's JSON.
type queryResult struct {
	StatementID int           `json:"statement_id"`
	Series      []querySeries `json:"series,omitempty"`
	Error       string        `json:"error,omitempty"`
}

type querySeries struct {
	Name    string     `json:"name"`
	Columns []string   `json:"columns"`
	Values  [][]string `json:"values,omitempty"`
}

func (api *InfluxAPI) query(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxQueryBytes)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request: " + err.Error()})
		return
	}
	q := r.Form.Get("q")
	if strings.TrimSpace(q) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `missing required parameter "q"`})
		return
	}
	stmts, err := splitStatements(q)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "error parsing query: " + err.Error()})
		return
	}
	results := make([]queryResult, 0, len(stmts))
	for i, s := range stmts {
		res := api.statement(s)
		res.StatementID = i
		results = append(results, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// statement runs one InfluxQL statement, given as its tokens.
func (api *InfluxAPI) statement(toks []string) queryResult {
	kw := func(i int, want string) bool { return i < len(toks) && strings.EqualFold(toks[i], want) }
	switch {
	case kw(0, "CREATE") && kw(1, "DATABASE"):
		if len(toks) < 3 {
			return queryResult{Error: "CREATE DATABASE needs a name"}
		}
		name := toks[2]
		if name == "" {
			return queryResult{Error: "database name required"}
		}
		// The name becomes a db label of what is written to it.
		if err := checkLabelValue(name); err != nil {
			return queryResult{Error: fmt.Sprintf("invalid database name: %v", err)}
		}
		api.mu.Lock()
		defer api.mu.Unlock()
		if api.dbs == nil {
			api.dbs = map[string]struct{}{}
		}
		if _, ok := api.dbs[name]; !ok && len(api.dbs) >= MaxInfluxDatabases {
			return queryResult{Error: fmt.Sprintf("more than %d databases", MaxInfluxDatabases)}
		}
		api.dbs[name] = struct{}{}
		return queryResult{}
	case kw(0, "SHOW") && kw(1, "DATABASES") && len(toks) == 2:
		api.mu.Lock()
		names := make([]string, 0, len(api.dbs))
		for n := range api.dbs {
			names = append(names, n)
		}
		api.mu.Unlock()
		slices.Sort(names)
		s := querySeries{Name: "databases", Columns: []string{"name"}}
		for _, n := range names {
			s.Values = append(s.Values, []string{n})
		}
		return queryResult{Series: []querySeries{s}}
	}
	stmt := strings.Join(toks, " ")
	if len(stmt) > 64 {
		stmt = stmt[:64] + "..."
	}
	return queryResult{Error: fmt.Sprintf("statement not supported: %q: Nines takes writes only and answers CREATE DATABASE and SHOW DATABASES; query its series with PromQL", stmt)}
}

// splitStatements cuts an InfluxQL query into statements (at
// semicolons) of tokens: words, numbers and punctuation as they are,
// double-quoted identifiers unquoted, single-quoted strings kept quoted.
// It knows just enough of the syntax for the statements /query answers.
func splitStatements(q string) ([][]string, error) {
	var stmts [][]string
	var cur []string
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == ';':
			if len(cur) > 0 {
				stmts = append(stmts, cur)
			}
			cur = nil
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(q) && q[j] != c; j++ {
				if q[j] == '\\' && j+1 < len(q) {
					j++
				}
				b.WriteByte(q[j])
			}
			if j >= len(q) {
				return nil, fmt.Errorf("unterminated quote at char %d", i+1)
			}
			tok := b.String()
			if c == '\'' {
				tok = "'" + tok + "'"
			}
			cur = append(cur, tok)
			i = j + 1
		default:
			j := i
			for j < len(q) && !strings.ContainsRune(" \t\n\r;\"'", rune(q[j])) {
				j++
			}
			cur = append(cur, q[i:j])
			i = j
		}
	}
	if len(cur) > 0 {
		stmts = append(stmts, cur)
	}
	return stmts, nil
}
