package engine

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/telemetry"
	"github.com/driftd/driftd/internal/transport"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/transports"
)

// sendTimeout bounds one delivery attempt.
const sendTimeout = 30 * time.Second

// Senders returns the function that builds the sender of every
// configured route, of every transport in the registry
// (notify/transports); tel, when set, instruments their requests.
func Senders(tel *telemetry.Telemetry) func(*config.Config) (map[string]dispatch.Sender, error) {
	return func(cfg *config.Config) (map[string]dispatch.Sender, error) {
		base, err := transport.New("")
		if err != nil {
			return nil, err
		}
		return transports.Senders(&cfg.Notify, func(name string) *http.Client {
			return &http.Client{Transport: tel.WrapTransport(name, base), Timeout: sendTimeout}
		})
	}
}

// RouteFailure is a route whose messages were not all delivered, and the
// last reason (a service's error code such as invalid_auth, an HTTP
// status, or a fixed phrase such as "connection refused"; never a token
// or URL).
type RouteFailure struct{ Route, Reason string }

// DeliverPending sends what is queued in st, retrying as the daemon
// would, until nothing is pending, every pending route needs an operator,
// or ctx ends. It returns the routes left with undelivered messages, in
// route order; they stay in the outbox.
func DeliverPending(ctx context.Context, cfg *config.Config, st *store.Store, logger *slog.Logger) ([]RouteFailure, error) {
	senders, err := Senders(nil)(cfg)
	if err != nil {
		return nil, err
	}
	disp := &dispatch.Dispatcher{Store: st, Senders: senders, Logger: logger}
	for {
		next := disp.DeliverDue(ctx)
		pending, err := st.Pending(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		routes, byRoute := store.ByRoute(pending)
		stuck := true // every pending route failed permanently
		for _, route := range routes {
			stuck = stuck && byRoute[route][0].Permanent
		}
		if len(pending) == 0 || stuck || next.IsZero() || ctx.Err() != nil {
			var out []RouteFailure
			for _, route := range routes {
				reason := byRoute[route][0].LastError
				if reason == "" {
					reason = "not delivered in time"
				} else if !byRoute[route][0].Permanent && ctx.Err() != nil {
					reason += " (gave up retrying)"
				}
				out = append(out, RouteFailure{Route: route, Reason: reason})
			}
			return out, nil
		}
		timer := time.NewTimer(max(time.Until(next), 10*time.Millisecond))
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
	}
}

// RouteTest is the outcome of `driftd notify test` for one route: nil
// Err means every message of the test was delivered.
type RouteTest struct {
	Route string
	Err   error
}

// TestRoutes sends a test message to every route, or to the one named
// only, directly rather than through the outbox, so an operator can check
// the wiring. It returns nil when no route has that name.
func TestRoutes(ctx context.Context, cfg *config.Config, only string) ([]RouteTest, error) {
	senders, err := Senders(nil)(cfg)
	if err != nil {
		return nil, err
	}
	var out []RouteTest
	for _, route := range cfg.Notify.Common() {
		if only != "" && route.Name != only {
			continue
		}
		sender := senders[route.Name]
		batch := notify.Batch{Kind: notify.KindTest, Route: route.Name, RunAt: time.Now().UTC(), AccountID: cfg.Cloudflare.AccountID}
		out = append(out, RouteTest{Route: route.Name, Err: sendTest(ctx, sender, batch)})
	}
	return out, nil
}

func sendTest(ctx context.Context, sender dispatch.Sender, batch notify.Batch) error {
	msgs, err := sender.Render(batch)
	if err != nil {
		return &notify.SendError{Reason: "rendering the test message failed", Permanent: true}
	}
	for _, msg := range msgs {
		sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
		_, err := sender.Deliver(sendCtx, msg)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}
