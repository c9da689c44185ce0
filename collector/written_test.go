package collector

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWrittenHostLabelsAndCharts: a Telegraf host writing line protocol
// takes its labels from the tags its lines share (so it lands on its
// site's tile, not "other"), and its CPU chart draws Telegraf's series.
func TestWrittenHostLabelsAndCharts(t *testing.T) {
	c, base := startCollector(t, `availability: {check_interval: 1h}
auth:
  tokens:
    - {name: telegraf, role: agent, token_file: agent.token}
`, map[string]string{"agent.token": "tg"})
	now := time.Now()
	var body strings.Builder
	for i := 10; i >= 0; i-- {
		ts := now.Add(-time.Duration(i) * 30 * time.Second).Unix()
		fmt.Fprintf(&body, "cpu,cpu=cpu-total,host=tg1,site=hq,role=web usage_idle=%d %d\n", 90-i, ts)
		fmt.Fprintf(&body, "mem,host=tg1,site=hq,role=web used_percent=40 %d\n", ts)
		fmt.Fprintf(&body, "disk,device=sda1,host=tg1,site=hq,role=web used_percent=70 %d\n", ts)
	}
	if code, msg := send(t, http.MethodPost, base+"/write?db=telegraf&precision=s", "tg", body.String()); code != http.StatusNoContent {
		t.Fatalf("write: %d %s", code, msg)
	}
	ctx := context.Background()
	b, err := c.board.Board(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Groups) != 1 || b.Groups[0].Name != "hq" {
		t.Errorf("groups %+v, want tg1 on hq", b.Groups)
	}
	v, err := c.board.Target(ctx, "tg1", now)
	if err != nil || v == nil {
		t.Fatalf("target page: %v %v", v, err)
	}
	if v.Target.Labels["site"] != "hq" || v.Target.Labels["role"] != "web" || v.Target.Labels["cpu"] != "" || v.Target.Labels["device"] != "" {
		t.Errorf("labels %v, want site and role only", v.Target.Labels)
	}
	for _, ch := range v.Charts {
		if (ch.Title == "CPU busy" || ch.Title == "Memory used") && ch.Empty() {
			t.Errorf("%s chart has no data from Telegraf's series", ch.Title)
		}
		if ch.Title == "CPU busy" && !ch.Empty() && ch.Max() < 19 {
			t.Errorf("CPU busy max %v, want 20 (100 - usage_idle 80)", ch.Max())
		}
	}
}
