package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/notify/webhook/webhooktest"
)

// outbox reads the notification outbox of stateDir; nil before the
// store exists or while it cannot be opened.
func outbox(t *testing.T, stateDir string) []store.OutboxItem {
	t.Helper()
	if _, err := os.Stat(filepath.Join(stateDir, store.FileName)); err != nil {
		return nil
	}
	st, err := store.Open(context.Background(), stateDir)
	if err != nil {
		return nil
	}
	defer st.Close()
	items, err := st.Outbox(context.Background())
	if err != nil {
		return nil
	}
	return items
}

// TestPendingWebhookSurvivesAKill: the daemon process is killed with
// SIGKILL while the webhook receiver is failing and a delivery is
// pending; restarted against the receiver, healthy again, it delivers
// the batch exactly once, the same signed bytes it tried before.
func TestPendingWebhookSurvivesAKill(t *testing.T) {
	const secret = "whsec-process-0c5e"
	recv := webhooktest.NewServer(t, secret)
	recv.Down(http.StatusServiceUnavailable)
	env, stateDir := daemonConfig(t, "@every 1h")
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[[notify.webhook]]\nname = \"automation\"\nurl = %q\nsecret = %q\n", recv.URL(), secret)
	f.Close()

	// Two failed attempts: the daemon is retrying when it is killed.
	child := startChild(t, env.ConfigPath)
	deadline := time.Now().Add(30 * time.Second)
	for {
		items := outbox(t, stateDir)
		if len(items) > 0 && items[0].State == store.OutboxPending && items[0].Attempts >= 2 {
			break
		}
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			t.Fatalf("no retried delivery recorded: %+v", items)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := child.Wait(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the daemon did not die of SIGKILL: %v", err)
	}
	failed := recv.Requests()
	if len(failed) < 2 || len(recv.Delivered()) != 0 {
		t.Fatalf("before the kill: %d requests, %d delivered", len(failed), len(recv.Delivered()))
	}
	pending := outbox(t, stateDir)
	if len(pending) != 1 || pending[0].State != store.OutboxPending || pending[0].LastError != "HTTP 503" {
		t.Fatalf("after the kill the outbox holds %+v, want one item pending after HTTP 503", pending)
	}

	// Restarted against a healthy receiver: delivered, once.
	recv.Up()
	child = startChild(t, env.ConfigPath)
	defer func() {
		_ = child.Process.Signal(syscall.SIGTERM)
		_ = child.Wait()
	}()
	deadline = time.Now().Add(30 * time.Second)
	for {
		items := outbox(t, stateDir)
		if len(items) > 0 && items[0].State == store.OutboxSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered after the restart: %+v", items)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The restart's own run found nothing new but the audit-log entry
	// that was late (the Finance group's deletion): one update, no other
	// POST.
	deadline = time.Now().Add(30 * time.Second)
	for len(recv.Delivered()) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	items := outbox(t, stateDir)
	delivered := recv.Delivered()
	if len(items) != 2 || len(delivered) != 2 {
		t.Fatalf("outbox %d items, receiver accepted %d POSTs; want the pending batch and the attribution update", len(items), len(delivered))
	}
	var update struct {
		Findings []struct {
			Event   string `json:"event"`
			CheckID string `json:"check_id"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(delivered[1].Body, &update); err != nil {
		t.Fatal(err)
	}
	if len(update.Findings) != 1 || update.Findings[0].Event != "attributed" || update.Findings[0].CheckID != "CF-POL-001" {
		t.Errorf("second POST %+v, want the attribution of CF-POL-001", update.Findings)
	}
	if p := recv.Problems(); len(p) > 0 {
		t.Errorf("the receiver refused requests: %q", p)
	}
	got := delivered[0]
	if !bytes.Equal(got.Body, failed[0].Body) || got.Header.Get(webhooktest.SignatureHeader) != failed[0].Header.Get(webhooktest.SignatureHeader) {
		t.Error("the restarted daemon sent other bytes than the killed one tried")
	}
	var doc struct {
		Version  int    `json:"version"`
		Kind     string `json:"kind"`
		Findings []struct {
			Event string `json:"event"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(got.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 1 || doc.Kind != "findings" || len(doc.Findings) == 0 || doc.Findings[0].Event != "opened" {
		t.Errorf("delivered document: version %d, kind %q, %d findings", doc.Version, doc.Kind, len(doc.Findings))
	}
}
