// Package notify holds what every receiver integration shares: posting a
// payload and deciding from the answer whether a retry can help. The
// integrations live in alerting/notify/<name>.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Post sends body to url with the headers, within timeout (10 s when
// zero), and classifies the answer as receivers need it: 2xx is success;
// 429, 5xx and network errors can be retried; other answers cannot. what
// names the receiver in errors.
func Post(ctx context.Context, client *http.Client, url, what string, body []byte, headers map[string]string, timeout time.Duration) (retry bool, err error) {
	_, retry, err = Do(ctx, client, http.MethodPost, url, what, body, headers, timeout)
	return retry, err
}

// MaxAnswer bounds how much of an answer Do reads.
const MaxAnswer = 4 << 20

// DoJSON is Do with body encoded as JSON (nil: no body), as the ticketing
// systems' REST APIs take it.
func DoJSON(ctx context.Context, client *http.Client, method, url, what string, body any, headers map[string]string, timeout time.Duration) (answer []byte, retry bool, err error) {
	var b []byte
	if body != nil {
		if b, err = json.Marshal(body); err != nil {
			return nil, false, err
		}
	}
	return Do(ctx, client, method, url, what, b, headers, timeout)
}

// Do is Post for any method, returning the answer's body (at most
// MaxAnswer bytes) on success. A nil body sends none.
func Do(ctx context.Context, client *http.Client, method, url, what string, body []byte, headers map[string]string, timeout time.Duration) (answer []byte, retry bool, err error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%s timeout of %s", what, timeout))
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, false, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "nines-collector")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, true, fmt.Errorf("%s %s: %w", method, what, err)
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	if err != nil {
		return nil, true, fmt.Errorf("%s %s: reading the answer: %w", method, what, err)
	}
	short := bytes.TrimSpace(msg[:min(len(msg), 512)])
	switch {
	case resp.StatusCode/100 == 2:
		return msg, false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, true, fmt.Errorf("%s answered %s: %s", what, resp.Status, short)
	default:
		return nil, false, fmt.Errorf("%s refused it: %s: %s", what, resp.Status, short)
	}
}
