// Package email sends incident notifications as e-mail over SMTP (net/smtp
// with STARTTLS when the server offers it, or implicit TLS). Messages of
// one incident form a thread: each carries a stable Message-ID per
// notification (a redelivery after a crash has the same one, so mail
// clients and ticket gateways can drop the copy) and refers to the
// incident's first message.
package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// Notifier is one SMTP relay and its recipients.
type Notifier struct {
	Address  string // host:port
	From     string
	To       []string
	Username string
	Password string
	// TLS: "starttls" (default: use it when offered, required when a
	// password is set), "tls" (implicit TLS, port 465) or "none".
	TLS     string
	Timeout time.Duration
	// Domain of the Message-IDs (default: the From address's).
	Domain string
	// Link, when set, is the base URL of the web UI: messages link to the
	// incident's page.
	Link string
	// TLSConfig overrides the TLS settings (tests).
	TLSConfig *tls.Config
}

// Message builds the e-mail of one notification.
func (n *Notifier) Message(note alerting.Notification, inc *alerting.Incident, now time.Time) []byte {
	domain := n.Domain
	if domain == "" {
		if _, d, ok := strings.Cut(n.From, "@"); ok {
			domain = strings.Trim(d, ">")
		} else {
			domain = "nines.invalid"
		}
	}
	thread := fmt.Sprintf("<nines-incident-%d@%s>", inc.ID, domain)
	id := fmt.Sprintf("<nines-notification-%d@%s>", note.ID, domain)
	if note.Action == "opened" {
		id = thread
	}
	subject := fmt.Sprintf("[Nines %s] %s: %s (#%d)", inc.Priority, note.Action, inc.Title, inc.ID)
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", n.From)
	hdr("To", strings.Join(n.To, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", id)
	if id != thread {
		hdr("In-Reply-To", thread)
		hdr("References", thread)
	}
	hdr("X-Nines-Incident", fmt.Sprint(inc.ID))
	hdr("X-Nines-Priority", string(inc.Priority))
	hdr("X-Nines-Action", note.Action)
	hdr("Auto-Submitted", "auto-generated")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	lines := []string{fmt.Sprintf("Incident #%d %s.", inc.ID, note.Action)}
	if note.Text != "" {
		lines = append(lines, note.Text)
	}
	lines = append(lines, "",
		"Title:    "+inc.Title,
		"Priority: "+string(inc.Priority),
		"Status:   "+string(inc.Status),
		"Target:   "+inc.Target,
		"Service:  "+inc.Service,
		"Rule:     "+inc.Group+" / "+inc.Rule,
		"Opened:   "+inc.OpenedAt.UTC().Format(time.RFC3339))
	if inc.Description != "" {
		lines = append(lines, "", inc.Description)
	}
	if n.Link != "" {
		lines = append(lines, "", fmt.Sprintf("%s/ui/incidents/%d", strings.TrimRight(n.Link, "/"), inc.ID))
	}
	for _, l := range lines {
		if strings.HasPrefix(l, ".") {
			l = "." + l // never a lone dot (SMTP does this too; be safe)
		}
		b.WriteString(strings.ReplaceAll(l, "\n", "\r\n") + "\r\n")
	}
	return b.Bytes()
}

// Notify implements alerting.Notifier. Network and 4xx SMTP errors can be
// retried; 5xx answers (a refused recipient) cannot.
func (n *Notifier) Notify(ctx context.Context, note alerting.Notification, inc *alerting.Incident) (bool, error) {
	return n.send(ctx, n.Message(note, inc, time.Now()))
}

// SendReport mails a report: a text part and the report attached.
func (n *Notifier) SendReport(ctx context.Context, subject, text string, attachment []byte, filename, contentType string) error {
	var b bytes.Buffer
	boundary := fmt.Sprintf("nines-%d", time.Now().UnixNano())
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", n.From)
	hdr("To", strings.Join(n.To, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", time.Now().Format(time.RFC1123Z))
	hdr("Auto-Submitted", "auto-generated")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", boundary, strings.ReplaceAll(text, "\n", "\r\n"))
	fmt.Fprintf(&b, "--%s\r\nContent-Type: %s\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary, contentType, filename)
	enc := base64.StdEncoding.EncodeToString(attachment)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--" + boundary + "--\r\n")
	_, err := n.send(ctx, b.Bytes())
	return err
}

// send delivers one message.
func (n *Notifier) send(ctx context.Context, msg []byte) (bool, error) {
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	host, _, err := net.SplitHostPort(n.Address)
	if err != nil {
		return false, fmt.Errorf("smtp address %q: %w", n.Address, err)
	}
	tlsCfg := n.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	dialer := &net.Dialer{Deadline: deadline}
	var conn net.Conn
	if n.TLS == "tls" {
		conn, err = tls.DialWithDialer(dialer, "tcp", n.Address, tlsCfg)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", n.Address)
	}
	if err != nil {
		return true, fmt.Errorf("smtp %s: %w", n.Address, err)
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return true, fmt.Errorf("smtp %s: %w", n.Address, err)
	}
	defer c.Close()
	if n.TLS != "tls" && n.TLS != "none" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return true, fmt.Errorf("smtp %s: STARTTLS: %w", n.Address, err)
			}
		} else if n.Password != "" {
			return false, fmt.Errorf("smtp %s does not offer STARTTLS; refusing to send the password in clear (set tls: none to allow it)", n.Address)
		}
	}
	if n.Password != "" {
		if err := c.Auth(smtp.PlainAuth("", n.Username, n.Password, host)); err != nil {
			return retryable(err), fmt.Errorf("smtp %s: auth: %w", n.Address, err)
		}
	}
	if err := c.Mail(address(n.From)); err != nil {
		return retryable(err), fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	for _, to := range n.To {
		if err := c.Rcpt(address(to)); err != nil {
			return retryable(err), fmt.Errorf("smtp RCPT TO %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return retryable(err), fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return true, fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return retryable(err), fmt.Errorf("smtp DATA: %w", err)
	}
	return false, c.Quit()
}

// address takes the bare address out of "Name <a@b>".
func address(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		return strings.TrimSuffix(s[i+1:], ">")
	}
	return strings.TrimSpace(s)
}

// retryable: a 4xx SMTP answer is temporary, 5xx permanent; anything else
// (network) temporary.
func retryable(err error) bool {
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		return tpe.Code < 500
	}
	return true
}
