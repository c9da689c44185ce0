package ingest

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/internal/wire"
)

// TestTokenBoundToHosts: the agent ID pin bound pushes to their host, but
// any agent token could still keep any host UP through /write host tags
// (issue 16 item 9: "bind agent identity to hosts"). A token with hosts
// (auth.tokens[].hosts) may only push, say goodbye and write lines for
// hosts its patterns match: other pushes get 403, other lines are
// rejected naming the host, none of them is a sign of life, and each is
// counted.
func TestTokenBoundToHosts(t *testing.T) {
	app, obs := &fakeAppender{}, &fakeObserver{}
	h := newTestHandler(app, obs, func() time.Time { return t0 }, nil)
	a := auth.New([]config.Token{
		{Name: "web-agents", Role: config.RoleAgent, Hash: sha256.Sum256([]byte("web-secret")), Hosts: []string{"web*", "lb?.dc1"}},
		{Name: "any-agent", Role: config.RoleAgent, Hash: sha256.Sum256([]byte("any-secret"))},
	})
	pushH, writeH := a.Require(config.RoleAgent, h.Push()), a.Require(config.RoleAgent, h.WriteV1())
	send := func(tok, host, goodbye string) (int, string) {
		rec := post(pushH, wire.PushPath, "m v=1 "+ms(t0)+"\n", map[string]string{
			"Authorization": "Bearer " + tok, wire.HeaderHostname: host, wire.HeaderHostID: "id-" + host, wire.HeaderGoodbye: goodbye})
		return rec.Code, errText(rec.Body)
	}
	for _, host := range []string{"web1", "lb1.dc1"} {
		if code, body := send("web-secret", host, ""); code != http.StatusNoContent {
			t.Errorf("push for %s, which the token's patterns match: %d %q", host, code, body)
		}
	}
	for _, tc := range []struct{ host, goodbye string }{{"db1", ""}, {"db1", "1"}, {"lb1.dc2", ""}} {
		code, body := send("web-secret", tc.host, tc.goodbye)
		if code != http.StatusForbidden || !strings.Contains(body, `token "web-agents" may not speak for host "`+tc.host+`": its hosts are web*, lb?.dc1`) {
			t.Errorf("push (goodbye %q) for %s: %d %q, want 403 naming the token and the host", tc.goodbye, tc.host, code, body)
		}
	}
	if code, body := send("any-secret", "db1", ""); code != http.StatusNoContent {
		t.Errorf("a token without hosts: %d %q, want 204", code, body)
	}
	if n := testutil.ToFloat64(h.identity.WithLabelValues(reasonNotAllowed)); n != 3 {
		t.Errorf("nines_ingest_identity_refused_total{reason=host_not_allowed}: %v, want 3", n)
	}

	lines := "m,host=web2 v=1 " + ms(t0) + "\nm,host=db2 v=1 " + ms(t0) + "\nm,host=db2 v=2 " + ms(t0) + "\n"
	rec := post(writeH, "/write?precision=ms", lines, map[string]string{"Authorization": "Bearer web-secret"})
	if msg := errorMessage(rec); rec.Code != http.StatusBadRequest || !strings.Contains(msg, `line 2: token "web-agents" may not speak for host "db2"`) {
		t.Errorf("write with another host's lines: %d %q, want 400 naming line 2 and the host", rec.Code, msg)
	}
	if n := testutil.ToFloat64(h.rejected.WithLabelValues(EndpointWriteV1, "host_not_allowed")); n != 2 {
		t.Errorf("lines rejected as host_not_allowed: %v, want 2", n)
	}
	if got := strings.Join(obs.observed, ","); got != "web1,lb1.dc1,db1,web2" {
		t.Errorf("signs of life: %s, want web1,lb1.dc1 (web-agents), db1 (any-agent), web2", got)
	}
	if len(obs.goodbyes) != 0 {
		t.Errorf("goodbyes recorded: %v", obs.goodbyes)
	}
	for _, s := range app.got {
		if strings.Contains(s.lset, "db2") || strings.Contains(s.lset, "lb1.dc2") {
			t.Errorf("a sample of a host the token may not speak for was stored: %v", s)
		}
	}
}
