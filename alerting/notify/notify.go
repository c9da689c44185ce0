// Package notify holds what every receiver integration shares: posting a
// payload and deciding from the answer whether a retry can help. The
// integrations live in alerting/notify/<name>.
package notify

import (
	"bytes"
	"context"
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
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%s timeout of %s", what, timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "nines-collector")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return true, fmt.Errorf("post to %s: %w", what, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("%s answered %s: %s", what, resp.Status, bytes.TrimSpace(msg))
	default:
		return false, fmt.Errorf("%s refused it: %s: %s", what, resp.Status, bytes.TrimSpace(msg))
	}
}
