package scaler

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sqsfleet/sqsfleet/internal/ratelog"
)

// TestFailureLog: each operation's failures are limited on their own, the
// next line says how many were left out, and recovery is reported once
// with the count no line has reported.
func TestFailureLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.InfoLevel)
		f := newFailureLog(zap.New(core))
		down := errors.New("down")
		const (
			queueFailed   = "scaler: cannot read the queue's backlog; skipping this interval"
			queueOK       = "scaler: reading the queue's backlog works again"
			publishFailed = "scaler: publishing the metric failed"
		)
		for range 5 {
			f.failed(OpQueue, queueFailed, down)
			f.failed(OpPublish, publishFailed, down)
			time.Sleep(time.Second)
		}
		if q, p := logs.FilterMessage(queueFailed).Len(), logs.FilterMessage(publishFailed).Len(); q != 1 || p != 1 {
			t.Fatalf("%d queue and %d publish failure lines, want 1 each", q, p)
		}
		time.Sleep(ratelog.Every)
		f.failed(OpQueue, queueFailed, down)
		f.failed(OpQueue, queueFailed, down)
		if e := logs.FilterMessage(queueFailed).All()[1].ContextMap(); e["suppressed"] != int64(4) || e["operation"] != OpQueue {
			t.Errorf("second queue failure line %v, want suppressed=4", e)
		}
		f.ok(OpQueue, queueOK)
		f.ok(OpQueue, queueOK)
		got := logs.FilterMessage(queueOK).All()
		if len(got) != 1 || got[0].ContextMap()["unlogged_failures"] != int64(1) {
			t.Errorf("recovery lines %v, want one with unlogged_failures=1", got)
		}
	})
}
