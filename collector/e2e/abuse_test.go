package e2e

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// vmHWM is the peak resident set of a process in kB (0 when unknown).
func vmHWM(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), " kB"))
			return n
		}
	}
	return 0
}

// TestAbuse attacks a real collector, with real agents pushing every second,
// in a short form of issue 16's abuse run: every case must be held, no
// healthy host may go DOWN, and the collector's peak RSS stays under 300 MB.
func TestAbuse(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc and signals as on Linux")
	}
	dir := t.TempDir()
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	addr := freeAddr(t)
	writeCollector(t, dir, addr, `
availability:
  down_after_intervals: 3
  default_push_interval: 1s
  startup_grace: 1s
  check_interval: 100ms
`)
	cfg := filepath.Join(dir, "collector.yml")
	// A viewer and an operator besides writeCollector's agent and admin,
	// for the wrong-role cases.
	// An agent token bound to abuse-a, for the case of a token speaking
	// for another host.
	const viewerToken, operatorToken, boundToken = "viewer-secret-token", "operator-secret-token", "bound-secret-token"
	write(t, filepath.Join(dir, "viewer.token"), viewerToken+"\n")
	write(t, filepath.Join(dir, "operator.token"), operatorToken+"\n")
	write(t, filepath.Join(dir, "bound.token"), boundToken+"\n")
	yml, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	adminLine := "    - {name: admin, role: admin, token_file: admin.token}\n"
	if !bytes.Contains(yml, []byte(adminLine)) {
		t.Fatalf("collector.yml has no line %q:\n%s", adminLine, yml)
	}
	write(t, cfg, strings.Replace(string(yml), adminLine, adminLine+
		"    - {name: viewer, role: viewer, token_file: viewer.token}\n"+
		"    - {name: operator, role: operator, token_file: operator.token}\n"+
		"    - {name: bound, role: agent, token_file: bound.token, hosts: [abuse-a]}\n", 1))
	collector := start(t, "collector", collectorBin, "--config", cfg)
	api := client{base: "http://" + addr, token: e2eAdminToken}
	ready := func() (bool, string) { return api.get(t, "/-/ready", nil) == http.StatusOK, "not ready" }
	eventually(t, 30*time.Second, "collector ready", ready)

	hosts := []string{"abuse-a", "abuse-b"}
	for _, h := range hosts {
		write(t, filepath.Join(dir, h+".yml"), fmt.Sprintf(`
interval: 1s
hostname: %s
web: {listen_address: %q}
push:
  urls: ["http://%s"]
  token_file: agent.token
  spool_dir: spool-%s
`, h, freeAddr(t), addr, h))
		start(t, h, agentBin, "--config", filepath.Join(dir, h+".yml"))
	}
	states := func() map[string]string {
		var resp struct{ Data []target }
		api.get(t, "/api/v1/targets", &resp)
		m := map[string]string{}
		for _, tg := range resp.Data {
			m[tg.Name] = tg.State
		}
		return m
	}
	eventually(t, 20*time.Second, "agents' hosts UP", func() (bool, string) {
		m := states()
		for _, h := range hosts {
			if m[h] != "up" {
				return false, fmt.Sprint(m)
			}
		}
		return true, ""
	})

	// Watch the healthy hosts and the collector's RSS during the attacks.
	var falseDown atomic.Int64
	var peakKB atomic.Int64
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if kb := int64(vmHWM(collector.cmd.Process.Pid)); kb > peakKB.Load() {
				peakKB.Store(kb)
			}
			m := states()
			if len(m) == 0 {
				continue // the API did not answer this time
			}
			for _, h := range hosts {
				if s := m[h]; s == "down" {
					falseDown.Add(1)
					t.Logf("healthy host %s is %s", h, s)
				}
			}
		}
	}()

	tried, held := 0, 0
	check := func(name string, ok bool, detail string) {
		t.Logf("case %s: held %v, VmHWM %d kB", name, ok, vmHWM(collector.cmd.Process.Pid))
		tried++
		if ok {
			held++
		} else {
			t.Errorf("abuse case %s not held: %s", name, detail)
		}
	}
	// The attacks come from 127.0.0.2, the agents push from 127.0.0.1:
	// the limits on failed logins and wrong tokens, which hold an
	// address back, must not hold back the healthy agents' pushes.
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext,
	}}
	type answer struct {
		code                    int
		contentType, retryAfter string
		body                    string
	}
	doBody := func(method, path, token string, hdr map[string]string, body []byte) answer {
		req, _ := http.NewRequest(method, api.base+path, bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return answer{}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return answer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), string(b)}
	}
	do := func(method, path, token string, hdr map[string]string, body []byte) int {
		return doBody(method, path, token, hdr, body).code
	}
	line := []byte(fmt.Sprintf("cpu,host=abuse-a usage=1 %d\n", time.Now().UnixNano()))

	// Auth matrix: no token and a wrong token on every kind of route.
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/targets"}, {"GET", "/api/v1/incidents"},
		{"POST", "/api/v1/push"}, {"POST", "/write"}, {"POST", "/api/v2/write"},
	} {
		for _, tok := range []string{"", "wrong-token"} {
			code := do(r.method, r.path, tok, nil, line)
			check("auth "+r.method+" "+r.path+" token="+tok, code == http.StatusUnauthorized, fmt.Sprint("got ", code))
		}
	}
	// Wrong roles: a viewer on operator and admin routes, an agent on
	// every route but ingest, get 403 with a JSON body.
	for _, r := range []struct {
		method, path string
		tokens       []string
	}{
		{"GET", "/api/v1/targets", []string{e2eAgentToken}},
		{"GET", "/metrics", []string{e2eAgentToken}},
		{"POST", "/api/v1/maintenance", []string{e2eAgentToken, viewerToken}},
		{"POST", "/api/v1/incidents/1/acknowledge", []string{e2eAgentToken, viewerToken}},
		{"GET", "/api/v1/audit", []string{e2eAgentToken, viewerToken, operatorToken}},
		{"POST", "/-/reload", []string{e2eAgentToken, viewerToken, operatorToken}},
	} {
		for _, tok := range r.tokens {
			a := doBody(r.method, r.path, tok, nil, []byte(`{"name":"x","duration":"1h","targets":["abuse-a"]}`))
			var e struct{ Status, Error string }
			err := json.Unmarshal([]byte(a.body), &e)
			check("wrong role "+r.method+" "+r.path+" token="+strings.TrimSuffix(tok, "-secret-token"),
				a.code == http.StatusForbidden && strings.HasPrefix(a.contentType, "application/json") && err == nil && e.Status == "error" && e.Error != "",
				fmt.Sprintf("got %d %s %q", a.code, a.contentType, a.body))
		}
	}
	// A sample far in the future is refused naming its line, and does not
	// poison its series: a correct sample of it is accepted afterwards.
	a := doBody("POST", "/write?db=x&precision=s", e2eAgentToken, nil, []byte("poison,host=abuse-a v=1 4102444800\n"))
	check("far-future sample refused", a.code == http.StatusBadRequest && strings.Contains(a.body, "line 1"), fmt.Sprintf("got %d %q", a.code, a.body))
	a = doBody("POST", "/write?db=x&precision=s", e2eAgentToken, nil, []byte(fmt.Sprintf("poison,host=abuse-a v=2 %d\n", time.Now().Unix())))
	check("correct sample after a far-future one", a.code == http.StatusNoContent, fmt.Sprintf("got %d %q", a.code, a.body))

	// Bad identity headers on a push.
	for name, hdr := range map[string]map[string]string{
		"non-UTF-8 hostname": {"X-Nines-Hostname": "bad\xff\xfehost"},
		"interval 100000h":   {"X-Nines-Hostname": "abuse-x", "X-Nines-Interval": "100000h"},
	} {
		code := do("POST", "/api/v1/push", e2eAgentToken, hdr, line)
		check(name, code == http.StatusBadRequest, fmt.Sprint("got ", code))
	}
	// Bad line protocol.
	code := do("POST", "/write?db=x", e2eAgentToken, nil, []byte("cpu,host= =\x00 usage=\n,,,\n"))
	check("bad line protocol", code >= 400 && code < 500, fmt.Sprint("got ", code))

	// A token bound to abuse-a cannot speak for abuse-b: neither push nor
	// goodbye nor a written line.
	a = doBody("POST", "/api/v1/push", boundToken, map[string]string{"X-Nines-Hostname": "abuse-b", "X-Nines-Goodbye": "1"}, nil)
	check("bound token's goodbye for another host", a.code == http.StatusForbidden && strings.Contains(a.body, `may not speak for host \"abuse-b\"`), fmt.Sprintf("got %d %q", a.code, a.body))
	a = doBody("POST", "/write?db=x", boundToken, nil, []byte("cpu,host=abuse-b usage=1\n"))
	check("bound token's line for another host", a.code == http.StatusBadRequest && strings.Contains(a.body, `line 1: token \"bound\" may not speak for host \"abuse-b\"`), fmt.Sprintf("got %d %q", a.code, a.body))

	// A goodbye for another agent's host (pinned to its agent ID) is
	// refused and the host stays UP.
	code = do("POST", "/api/v1/push", e2eAgentToken, map[string]string{
		"X-Nines-Hostname": "abuse-b", "X-Nines-Host-Id": "not-abuse-b", "X-Nines-Goodbye": "1"}, nil)
	check("goodbye for another agent's host", code >= 400 && states()["abuse-b"] == "up", fmt.Sprint("got ", code, " state ", states()["abuse-b"]))
	// 20,000 host tags in one write: the new-target cap holds.
	var flood bytes.Buffer
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&flood, "cpu,host=flood-%d usage=1\n", i)
	}
	do("POST", "/write?db=x", e2eAgentToken, nil, flood.Bytes())
	n := len(states())
	check("20,000 host tags capped", n > 0 && n <= 700, fmt.Sprint(n, " targets"))

	// Gzip bombs at once: 8 bodies of 64 MiB of zeros each.
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		zw.Write(zeros)
	}
	zw.Close()
	var wg sync.WaitGroup
	var bombsOK atomic.Int64
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := do("POST", "/write?db=x", e2eAgentToken, map[string]string{"Content-Encoding": "gzip"}, bomb.Bytes())
			if c >= 400 {
				bombsOK.Add(1)
			}
		}()
	}
	wg.Wait()
	check("gzip bombs", bombsOK.Load() == 8, fmt.Sprintf("%d of 8 refused", bombsOK.Load()))

	// Slowloris bodies and 500 idle connections held open while the
	// collector must stay ready.
	var conns []net.Conn
	for i := 0; i < 500; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		conns = append(conns, c)
		if i < 50 {
			fmt.Fprintf(c, "POST /write?db=x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100000\r\n\r\ncpu", e2eAgentToken)
		}
	}
	check("500 connections opened", len(conns) == 500, fmt.Sprint(len(conns), " opened"))
	okReady := 0
	for i := 0; i < 10; i++ {
		if ok, _ := ready(); ok {
			okReady++
		}
		time.Sleep(200 * time.Millisecond)
	}
	check("ready under slowloris and 500 connections", okReady == 10, fmt.Sprint(okReady, " of 10"))
	for _, c := range conns {
		c.Close()
	}

	// Failed-login flood: must be limited (429) before long, and the
	// collector still answers.
	limited := false
	for i := 0; i < 200 && !limited; i++ {
		limited = do("GET", fmt.Sprint("/ui/wall?token=guess-", i), "", nil, nil) == http.StatusTooManyRequests
	}
	check("failed-login flood limited", limited, "no 429 in 200 tries")
	// Wrong bearer tokens likewise, on the API, ingest and /metrics, from
	// another address (the failed logins spent 127.0.0.2's tries).
	hc.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}}).DialContext}
	var bearer answer
	for i := 0; i < 200 && bearer.code != http.StatusTooManyRequests; i++ {
		path := []string{"/api/v1/targets", "/api/v1/push", "/metrics"}[i%3]
		method := map[string]string{"/api/v1/push": "POST"}[path]
		bearer = doBody(cmp.Or(method, "GET"), path, fmt.Sprint("guess-", i), nil, nil)
	}
	var retry struct{ Status, Error string }
	check("wrong-bearer-token flood limited", bearer.code == http.StatusTooManyRequests && bearer.retryAfter != "" && json.Unmarshal([]byte(bearer.body), &retry) == nil && retry.Status == "error",
		fmt.Sprintf("last answer %d %q", bearer.code, bearer.body))
	// The healthy hosts, pushing from another address, stay UP past 3
	// intervals after the floods.
	time.Sleep(4 * time.Second)

	close(stopWatch)
	watch.Wait()
	if ok, _ := ready(); !ok {
		t.Fatal("collector not ready after the attacks")
	}

	// kill -9 under load, then the store must be intact and reopen. The
	// load comes from an address with tries left (127.0.0.3 has none).
	hc.Transport = &http.Transport{}
	var loaded atomic.Int64
	var load sync.WaitGroup
	stopLoad := make(chan struct{})
	for i := 0; i < 4; i++ {
		load.Add(1)
		go func(i int) {
			defer load.Done()
			for n := 0; ; n++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				if do("POST", "/write?db=x", e2eAgentToken, nil, []byte(fmt.Sprintf("cpu,host=abuse-a usage=%d\n", n))) == http.StatusNoContent {
					loaded.Add(1)
				}
			}
		}(i)
	}
	eventually(t, 10*time.Second, "writes accepted under load", func() (bool, string) { return loaded.Load() >= 100, fmt.Sprint(loaded.Load(), " accepted") })
	collector.stop(t, syscall.SIGKILL)
	close(stopLoad)
	load.Wait()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "nines.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var integrity string
	err = db.QueryRow("PRAGMA integrity_check").Scan(&integrity)
	db.Close()
	check("integrity_check after kill -9", err == nil && integrity == "ok", fmt.Sprint(integrity, err))
	start(t, "collector-2", collectorBin, "--config", cfg)
	eventually(t, 30*time.Second, "collector ready after kill -9", ready)
	check("restart after kill -9", true, "")

	peakMB := float64(peakKB.Load()) / 1024
	t.Logf("abuse: %d held of %d tried, peak RSS %.0f MB, false DOWN %d", held, tried, peakMB, falseDown.Load())
	fmt.Printf("abuse: %d held of %d tried, peak RSS %.0f MB, false DOWN %d\n", held, tried, peakMB, falseDown.Load())
	if falseDown.Load() != 0 {
		t.Errorf("healthy hosts seen DOWN %d times", falseDown.Load())
	}
	// The race detector multiplies memory several times: the 300 MB
	// bound holds without it (bench/abuse.sh, the figures in
	// bench/RESULTS.md), or when NINES_ABUSE_RSS=1 asks for it.
	if (!raceEnabled || os.Getenv("NINES_ABUSE_RSS") == "1") && peakMB > 300 {
		t.Errorf("peak RSS %.0f MB over 300 MB", peakMB)
	}
}
