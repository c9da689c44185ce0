package schedule

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestEverySkipsOverruns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var runs, skipped atomic.Int64
	done := make(chan struct{})
	go func() {
		Every(ctx, 20*time.Millisecond, func(context.Context) {
			if runs.Add(1) == 2 {
				time.Sleep(70 * time.Millisecond) // covers about three slots
			}
		}, func(n int64) { skipped.Add(n) })
		close(done)
	}()
	for runs.Load() < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if s := skipped.Load(); s < 2 || s > 4 {
		t.Errorf("skipped %d runs after a 70 ms overrun of a 20 ms interval, want about 3", s)
	}
}
