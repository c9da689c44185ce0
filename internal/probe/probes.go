package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

func probeTCP(ctx context.Context, s *Spec) Result {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Target)
	if err != nil {
		return Result{Cause: shortErr(err)}
	}
	conn.Close()
	return Result{Success: true}
}

func probeHTTP(ctx context.Context, s *Spec) Result {
	tlsCfg := &tls.Config{InsecureSkipVerify: s.HTTP.InsecureSkipVerify} //nolint:gosec // the operator's explicit choice
	if s.HTTP.CAFile != "" {
		pem, err := os.ReadFile(s.HTTP.CAFile)
		if err != nil {
			return Result{Cause: fmt.Sprintf("read ca_file: %v", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return Result{Cause: "ca_file holds no PEM certificate"}
		}
		tlsCfg.RootCAs = pool
	}
	tr := &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return nil
	}}
	method := s.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, s.Target, nil)
	if err != nil {
		return Result{Cause: err.Error()}
	}
	req.Header.Set("User-Agent", "nines-collector check")
	for k, v := range s.HTTP.Headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Result{Cause: shortErr(err)}
	}
	defer resp.Body.Close()
	r := Result{HTTPStatus: resp.StatusCode}
	if resp.TLS != nil {
		for _, c := range resp.TLS.PeerCertificates {
			if r.CertExpiry.IsZero() || c.NotAfter.Before(r.CertExpiry) {
				r.CertExpiry = c.NotAfter
			}
		}
	}
	okStatus := resp.StatusCode/100 == 2
	if len(s.HTTP.ExpectedStatus) > 0 {
		okStatus = slices.Contains(s.HTTP.ExpectedStatus, resp.StatusCode)
	}
	if !okStatus {
		r.Cause = "HTTP " + resp.Status
		return r
	}
	if s.HTTP.BodyRegexp != nil {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			r.Cause = "read body: " + shortErr(err)
			return r
		}
		if !s.HTTP.BodyRegexp.Match(body) {
			r.Cause = fmt.Sprintf("body does not match %q", s.HTTP.BodyRegexp)
			return r
		}
	}
	r.Success = true
	return r
}

func probeDNS(ctx context.Context, s *Spec) Result {
	res := net.DefaultResolver
	if s.DNS.Server != "" {
		res = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.DNS.Server)
		}}
	}
	var answers []string
	var err error
	switch strings.ToUpper(s.DNS.RecordType) {
	case "", "A", "AAAA":
		network := "ip4"
		if strings.EqualFold(s.DNS.RecordType, "AAAA") {
			network = "ip6"
		}
		var ips []net.IP
		ips, err = res.LookupIP(ctx, network, s.Target)
		for _, ip := range ips {
			answers = append(answers, ip.String())
		}
	case "CNAME":
		var c string
		c, err = res.LookupCNAME(ctx, s.Target)
		answers = []string{strings.TrimSuffix(c, ".")}
	case "MX":
		var mx []*net.MX
		mx, err = res.LookupMX(ctx, s.Target)
		for _, m := range mx {
			answers = append(answers, strings.TrimSuffix(m.Host, "."))
		}
	case "TXT":
		answers, err = res.LookupTXT(ctx, s.Target)
	case "NS":
		var ns []*net.NS
		ns, err = res.LookupNS(ctx, s.Target)
		for _, n := range ns {
			answers = append(answers, strings.TrimSuffix(n.Host, "."))
		}
	default:
		return Result{Cause: fmt.Sprintf("unsupported record type %q", s.DNS.RecordType)}
	}
	if err != nil {
		return Result{Cause: shortErr(err)}
	}
	if len(answers) == 0 {
		return Result{Cause: "no answer"}
	}
	if len(s.DNS.Expect) > 0 {
		for _, a := range answers {
			if slices.Contains(s.DNS.Expect, a) {
				return Result{Success: true}
			}
		}
		return Result{Cause: fmt.Sprintf("answer %v has none of %v", answers, s.DNS.Expect)}
	}
	return Result{Success: true}
}

// probeICMP sends one echo request. It uses an unprivileged ICMP socket
// where the OS allows (net.ipv4.ping_group_range on Linux) and falls back
// to a raw socket (root or CAP_NET_RAW).
func probeICMP(ctx context.Context, s *Spec) Result {
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", s.Target)
	if err != nil || len(ips) == 0 {
		return Result{Cause: "resolve: " + shortErr(err)}
	}
	dst := ips[0]
	privileged := false
	conn, err := icmp.ListenPacket("udp4", "0.0.0.0")
	if err != nil {
		conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		if err != nil {
			return Result{Cause: "no ICMP socket (allow unprivileged ping with net.ipv4.ping_group_range, or grant CAP_NET_RAW): " + shortErr(err)}
		}
		privileged = true
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	id := os.Getpid() & 0xffff
	seq := int(time.Now().UnixNano() & 0xffff)
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("nines")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return Result{Cause: err.Error()}
	}
	var addr net.Addr = &net.UDPAddr{IP: dst}
	if privileged {
		addr = &net.IPAddr{IP: dst}
	}
	if _, err := conn.WriteTo(b, addr); err != nil {
		return Result{Cause: shortErr(err)}
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return Result{Cause: shortErr(err)}
		}
		reply, err := icmp.ParseMessage(1, buf[:n])
		if err != nil || reply.Type != ipv4.ICMPTypeEchoReply {
			continue
		}
		echo, ok := reply.Body.(*icmp.Echo)
		if !ok || echo.Seq != seq || (privileged && echo.ID != id) {
			continue // someone else's reply (unprivileged sockets rewrite the ID)
		}
		if !sameHost(from, dst) {
			continue
		}
		return Result{Success: true}
	}
}

func sameHost(a net.Addr, ip net.IP) bool {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.IP.Equal(ip)
	case *net.IPAddr:
		return v.IP.Equal(ip)
	}
	return false
}

// shortErr turns common network errors into a short cause for the state
// history ("connection refused", "timeout").
func shortErr(err error) string {
	if err == nil {
		return "unknown error"
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return "name not found: " + dnsErr.Name
		}
		return "DNS: " + dnsErr.Err
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return "TLS certificate: " + certErr.Err.Error()
	}
	return err.Error()
}
