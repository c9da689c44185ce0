// Package probe runs one availability check of a service: TCP connect,
// HTTP(S) (status, body, certificate expiry), DNS, ICMP ping. The agent
// uses it for the services on its host, the collector for things no agent
// runs on (package collector/check schedules them).
package probe

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// Spec is one configured check.
type Spec struct {
	Name     string
	Type     string // tcp, http, dns, icmp
	Target   string // host:port (tcp), URL (http), name (dns), host (icmp)
	Interval time.Duration
	Timeout  time.Duration
	Labels   map[string]string

	HTTP HTTPSpec
	DNS  DNSSpec
}

// HTTPSpec holds the HTTP options.
type HTTPSpec struct {
	Method             string
	ExpectedStatus     []int // empty: any 2xx
	BodyRegexp         *regexp.Regexp
	Headers            map[string]string
	InsecureSkipVerify bool
	// CAFile is a PEM bundle to trust instead of the system roots.
	CAFile string
}

// DNSSpec holds the DNS options.
type DNSSpec struct {
	Server     string // host:port; empty: the system resolver
	RecordType string // A (default), AAAA, CNAME, MX, TXT, NS
	// Expect, when set, lists values one of which must be in the answer.
	Expect []string
}

// Result is one run of a check.
type Result struct {
	Success  bool
	Duration time.Duration
	// Cause says why it failed ("connection refused", "HTTP 503").
	Cause string
	// HTTPStatus is the status code (http checks).
	HTTPStatus int
	// CertExpiry is the earliest expiry of the server's certificate chain
	// (https checks); zero otherwise.
	CertExpiry time.Time
}

// Prober runs one check once. It must return by ctx's deadline.
type Prober func(ctx context.Context, s *Spec) Result

// Probers maps a check type to its implementation.
var Probers = map[string]Prober{
	"tcp":  probeTCP,
	"http": probeHTTP,
	"dns":  probeDNS,
	"icmp": probeICMP,
}

// Run runs s once with its timeout.
func Run(ctx context.Context, s *Spec) Result {
	p, ok := Probers[s.Type]
	if !ok {
		return Result{Cause: fmt.Sprintf("unknown check type %q", s.Type)}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, s.Timeout, fmt.Errorf("check timeout of %s", s.Timeout))
	defer cancel()
	start := time.Now()
	r := p(ctx, s)
	r.Duration = time.Since(start)
	if !r.Success && r.Cause == "" {
		r.Cause = "failed"
	}
	if !r.Success && ctx.Err() != nil {
		r.Cause = context.Cause(ctx).Error()
	}
	return r
}
