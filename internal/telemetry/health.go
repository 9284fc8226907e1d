package telemetry

import (
	"context"
	"errors"
	"sort"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// health is what the alerting gauges report: whether each integration was
// fully audited by the last run, when the last run finished, and the
// schedule's interval, so an alert can say "no run for two intervals"
// without knowing the schedule. Guarded by Telemetry.mu.
type health struct {
	integrations map[string]bool // name → the last run audited it completely
	lastFinished time.Time
	interval     time.Duration
}

// initHealth registers the health gauges.
func (t *Telemetry) initHealth(m metric.Meter) error {
	_, err1 := m.Int64ObservableGauge("driftd.integration.complete",
		metric.WithDescription("1 if the last run read everything the checks need for the integration, 0 if it could not (a gap)."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			t.mu.Lock()
			defer t.mu.Unlock()
			names := make([]string, 0, len(t.health.integrations))
			for name := range t.health.integrations {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				v := int64(0)
				if t.health.integrations[name] {
					v = 1
				}
				o.Observe(v, metric.WithAttributes(attribute.String("integration", name)))
			}
			return nil
		}))
	_, err2 := m.Float64ObservableGauge("driftd.run.last_finished",
		metric.WithUnit("s"),
		metric.WithDescription("When the last audit run finished, in seconds since the Unix epoch; absent before the first."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			t.mu.Lock()
			defer t.mu.Unlock()
			if !t.health.lastFinished.IsZero() {
				o.Observe(float64(t.health.lastFinished.UnixMilli()) / 1000)
			}
			return nil
		}))
	_, err3 := m.Float64ObservableGauge("driftd.schedule.interval",
		metric.WithUnit("s"),
		metric.WithDescription("The daemon's schedule interval (the longest gap between two scheduled runs)."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.health.interval > 0 {
				o.Observe(t.health.interval.Seconds())
			}
			return nil
		}))
	return errors.Join(err1, err2, err3)
}

// SetIntegrations records, after a run, which integrations it audited
// completely (true) and which it could not (false).
func (t *Telemetry) SetIntegrations(complete map[string]bool) {
	if !t.Enabled() {
		return
	}
	next := make(map[string]bool, len(complete))
	for k, v := range complete {
		next[k] = v
	}
	t.mu.Lock()
	t.health.integrations = next
	t.mu.Unlock()
}

// SetLastRun records when the last run finished.
func (t *Telemetry) SetLastRun(finished time.Time) {
	if !t.Enabled() {
		return
	}
	t.mu.Lock()
	t.health.lastFinished = finished
	t.mu.Unlock()
}

// SetScheduleInterval records the daemon's schedule interval.
func (t *Telemetry) SetScheduleInterval(d time.Duration) {
	if !t.Enabled() {
		return
	}
	t.mu.Lock()
	t.health.interval = d
	t.mu.Unlock()
}
