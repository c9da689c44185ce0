package email

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/internal/peertest"
)

// startSMTP runs Debian's aiosmtpd (python3-aiosmtpd, installed by make
// test-deps) on a free loopback port, delivering into a Maildir.
func startSMTP(t *testing.T) (addr, maildir string) {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import aiosmtpd").Run(); err != nil {
		peertest.Missing(t, "aiosmtpd is not installed", "install Debian package python3-aiosmtpd (make test-deps does)", "NINES_SKIP_SMTP")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	maildir = filepath.Join(t.TempDir(), "mail")
	cmd := exec.Command(py, "-m", "aiosmtpd", "-n", "-l", addr, "-c", "aiosmtpd.handlers.Mailbox", maildir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, maildir
		}
		if time.Now().After(deadline) {
			t.Fatal("aiosmtpd did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func messages(t *testing.T, maildir string) []*mail.Message {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
	var out []*mail.Message
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestAgainstAiosmtpd sends an incident's opening and resolution to a real
// SMTP server and reads them back from its mailbox: threaded, with the
// headers a mail gateway can route on.
func TestAgainstAiosmtpd(t *testing.T) {
	addr, maildir := startSMTP(t)
	n := &Notifier{Address: addr, From: "Nines <nines@example.org>", To: []string{"noc@example.org", "desk@example.org"},
		Link: "https://nines.example.org", Timeout: 10 * time.Second}
	inc := &alerting.Incident{ID: 12, Title: "Host db1 is down", Priority: alerting.P1, Status: alerting.StatusOpen,
		Target: "db1", Service: "erp", OpenedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), Description: ".hidden line\nsecond"}
	ctx := context.Background()
	if _, err := n.Notify(ctx, alerting.Notification{ID: 40, Action: "opened"}, inc); err != nil {
		t.Fatal(err)
	}
	inc.Status = alerting.StatusResolved
	if _, err := n.Notify(ctx, alerting.Notification{ID: 41, Action: "resolved", Text: "the alert cleared"}, inc); err != nil {
		t.Fatal(err)
	}
	var msgs []*mail.Message
	deadline := time.Now().Add(5 * time.Second)
	for len(msgs) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		msgs = messages(t, maildir)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages in the mailbox, want 2", len(msgs))
	}
	byAction := map[string]*mail.Message{}
	for _, m := range msgs {
		byAction[m.Header.Get("X-Nines-Action")] = m
	}
	open, res := byAction["opened"], byAction["resolved"]
	if open == nil || res == nil {
		t.Fatalf("actions %v", byAction)
	}
	if got := open.Header.Get("Subject"); got != "[Nines P1] opened: Host db1 is down (#12)" {
		t.Errorf("subject %q", got)
	}
	if open.Header.Get("Message-ID") != "<nines-incident-12@example.org>" || res.Header.Get("In-Reply-To") != "<nines-incident-12@example.org>" ||
		res.Header.Get("Message-ID") != "<nines-notification-41@example.org>" {
		t.Errorf("threading: %q / %q / %q", open.Header.Get("Message-ID"), res.Header.Get("In-Reply-To"), res.Header.Get("Message-ID"))
	}
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	for _, want := range []string{"Incident #12 resolved.", "the alert cleared", "Service:  erp", "https://nines.example.org/ui/incidents/12", "..hidden line"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	// Without STARTTLS on offer, a password is never sent in clear.
	n.Password, n.Username = "secret", "nines"
	if retry, err := n.Notify(ctx, alerting.Notification{ID: 42, Action: "closed"}, inc); err == nil || retry || !strings.Contains(err.Error(), "refusing to send the password in clear") {
		t.Errorf("password without TLS: retry %v err %v", retry, err)
	}
	// Nothing listening: retry later.
	dead := &Notifier{Address: "127.0.0.1:1", From: "a@b", To: []string{"c@d"}, Timeout: 2 * time.Second}
	if retry, err := dead.Notify(ctx, alerting.Notification{ID: 1, Action: "opened"}, inc); err == nil || !retry {
		t.Errorf("no server: retry %v err %v", retry, err)
	}
}

func TestSendReport(t *testing.T) {
	addr, maildir := startSMTP(t)
	n := &Notifier{Address: addr, From: "nines@example.org", To: []string{"sla@example.org"}, Timeout: 10 * time.Second}
	html := []byte("<html><body>" + strings.Repeat("report ", 50) + "</body></html>")
	if err := n.SendReport(context.Background(), "Nines service level report 2026-10", "2 met, 1 breached", html, "sla-2026-10.html", "text/html; charset=utf-8"); err != nil {
		t.Fatal(err)
	}
	var msgs []*mail.Message
	for deadline := time.Now().Add(5 * time.Second); len(msgs) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		msgs = messages(t, maildir)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		body, _ := io.ReadAll(p)
		if p.FileName() == "sla-2026-10.html" {
			dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(body), "\r\n", ""))
			if err != nil || !bytes.Equal(dec, html) {
				t.Errorf("attachment does not decode to the report: %v", err)
			}
		}
		parts = append(parts, p.Header.Get("Content-Type"))
	}
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "text/plain") || !strings.HasPrefix(parts[1], "text/html") {
		t.Errorf("parts %v", parts)
	}
}
