package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/internal/cli"
)

const incidentsUsage = `Usage:
  nines-collector incidents [flags] list [--status active] [--priority P1]
  nines-collector incidents [flags] show ID
  nines-collector incidents [flags] acknowledge|resolve|close|reopen ID [COMMENT]
  nines-collector incidents [flags] comment ID COMMENT
  nines-collector incidents [flags] assign ID ASSIGNEE [COMMENT]

Works on a running collector through its REST API; the actor recorded is
the token's name.

Flags:
`

// incidentsCmd is the operator's command line for incidents.
func incidentsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nines-collector incidents", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:9990", "the collector's base URL")
	tokenFile := fs.String("token-file", "", "file holding an API token (default: $NINES_TOKEN)")
	status := fs.String("status", "active", "list: active, open, acknowledged, resolved or closed")
	priority := fs.String("priority", "", "list: P1 to P4")
	fs.Usage = func() {
		fmt.Fprint(stderr, incidentsUsage)
		cli.PrintFlags(stderr, fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	token := os.Getenv("NINES_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintln(stderr, "nines-collector incidents:", err)
			return 2
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		fmt.Fprintln(stderr, "nines-collector incidents: no token: give --token-file or set NINES_TOKEN")
		return 2
	}
	c := apiClient{base: strings.TrimRight(*base, "/"), token: token}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "nines-collector incidents:", err)
		return 1
	}
	switch verb := rest[0]; verb {
	case "list":
		q := url.Values{"status": {*status}}
		if *priority != "" {
			q.Set("priority", *priority)
		}
		var list []alerting.Incident
		if err := c.call(http.MethodGet, "/api/v1/incidents?"+q.Encode(), nil, &list); err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPRIORITY\tSTATUS\tAGE\tASSIGNEE\tTARGET\tTITLE")
		for _, inc := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.Priority, inc.Status, time.Since(inc.OpenedAt).Round(time.Second),
				dash(inc.Assignee), dash(inc.Target), inc.Title)
		}
		tw.Flush()
		return 0
	case "show":
		if len(rest) != 2 {
			fmt.Fprint(stderr, incidentsUsage)
			return 2
		}
		var inc alerting.Incident
		if err := c.call(http.MethodGet, "/api/v1/incidents/"+rest[1], nil, &inc); err != nil {
			return fail(err)
		}
		var evs []alerting.Event
		if err := c.call(http.MethodGet, "/api/v1/incidents/"+rest[1]+"/timeline", nil, &evs); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "#%d [%s] %s\nstatus %s, opened %s", inc.ID, inc.Priority, inc.Title, inc.Status, inc.OpenedAt.Local().Format(time.RFC3339))
		if inc.Assignee != "" {
			fmt.Fprintf(stdout, ", assigned to %s", inc.Assignee)
		}
		fmt.Fprintf(stdout, "\ntarget %s, service %s, rule %s/%s\n\n", dash(inc.Target), dash(inc.Service), inc.Group, inc.Rule)
		for _, e := range evs {
			fmt.Fprintf(stdout, "%s  %-12s %-10s %s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.Action, e.Actor, e.Text)
		}
		return 0
	case "acknowledge", "ack", "resolve", "close", "reopen", "comment", "assign":
		if verb == "ack" {
			verb = "acknowledge"
		}
		need := 2
		if verb == "comment" || verb == "assign" {
			need = 3
		}
		if len(rest) < need {
			fmt.Fprint(stderr, incidentsUsage)
			return 2
		}
		body := map[string]string{}
		switch verb {
		case "assign":
			body["assignee"] = rest[2]
			body["comment"] = strings.Join(rest[3:], " ")
		default:
			body["comment"] = strings.Join(rest[2:], " ")
		}
		var inc alerting.Incident
		if err := c.call(http.MethodPost, "/api/v1/incidents/"+rest[1]+"/"+verb, body, &inc); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "#%d is %s\n", inc.ID, inc.Status)
		return 0
	default:
		fmt.Fprintf(stderr, "nines-collector incidents: unknown command %q\n", verb)
		fmt.Fprint(stderr, incidentsUsage)
		return 2
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type apiClient struct{ base, token string }

// call does one API request and decodes the envelope's data into v; an
// error answer becomes an error with the API's message.
func (c apiClient) call(method, path string, body, v any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	var env struct {
		Data  json.RawMessage `json:"data"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(raw))
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, env.Error)
	}
	if v != nil && len(env.Data) > 0 {
		return json.Unmarshal(env.Data, v)
	}
	return nil
}
