package config

import (
	"strings"
	"testing"
	"time"
)

// The tables that grow without end have a retention: documented defaults,
// 0 to keep forever, and nothing shorter than a day (a typo such as 400m
// would empty the audit log).
func TestStorageRetention(t *testing.T) {
	c, err := Load("c.yml", []byte("storage: {path: n.db}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Storage.Retention.Audit.D(), 400*24*time.Hour; got != want {
		t.Errorf("default audit retention: got %s, want %s", got, want)
	}
	if got, want := c.Storage.Retention.Notifications.D(), 90*24*time.Hour; got != want {
		t.Errorf("default notifications retention: got %s, want %s", got, want)
	}
	c, err = Load("c.yml", []byte("storage: {retention: {audit: 0, notifications: 30d}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Retention.Audit != 0 || c.Storage.Retention.Notifications.D() != 30*24*time.Hour {
		t.Errorf("got %+v", c.Storage.Retention)
	}
	_, err = Load("c.yml", []byte("storage: {retention: {audit: 400m}}\n"))
	if err == nil || !strings.Contains(err.Error(), "storage.retention.audit: must be 0 (keep forever) or at least 1d, got 6h40m0s") {
		t.Errorf("got %v", err)
	}
	if c, err := Load("c.yml", []byte("storage: {path: n.db}\n")); err != nil || c.Storage.Retention.History.D() != 800*24*time.Hour {
		t.Errorf("default history retention: got %v, %v; want 800d", c.Storage.Retention.History, err)
	}
	_, err = Load("c.yml", []byte("storage: {retention: {history: 30d}}\n"))
	if err == nil || !strings.Contains(err.Error(), "storage.retention.history: must be 0 (keep forever) or at least 62d") {
		t.Errorf("a history retention under 62d: got %v", err)
	}
}
