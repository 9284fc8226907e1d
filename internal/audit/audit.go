// Package audit runs one audit: read both sides into a snapshot, evaluate
// the check catalog, and produce a report. `driftd check` and `driftd demo`
// use it alike.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/attribution"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/redact"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/source/cloudflare"
	"github.com/driftd/driftd/internal/source/entra"
	"github.com/driftd/driftd/internal/telemetry"
	"github.com/driftd/driftd/report"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Options select what to audit.
type Options struct {
	// Integrations limits the run to these names; empty means all.
	Integrations []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per gap and one per run; nil discards.
	Logger *slog.Logger
	// Baselines are the approved snapshots by integration name (for
	// DRIFT-001); an integration without one is not compared.
	Baselines map[string]*snapshot.Snapshot
	// Telemetry traces the reads and checks; nil means none.
	Telemetry *telemetry.Telemetry
	// Readers, when they fit the configuration, are reused (the daemon's
	// token and connections); otherwise the run builds its own.
	Readers *Readers

	// Attribute, when set (and [attribution] enabled), says which of the
	// evaluated report's findings to attribute and from when: the engine
	// knows which are new. The audit logs are then asked with the run's
	// clients, so the run's request count includes them.
	Attribute func(*report.Report) []attribution.Item

	// beforeRead, in tests, runs at the start of each side's reader
	// goroutine (to make one panic).
	beforeRead func(snapshot.Side)
}

// Result is a finished run.
type Result struct {
	Report   *report.Report
	Snapshot *snapshot.Snapshot
	// Throttled counts 429 answers per service (retried by the SDKs).
	Throttled map[string]int
	// Attributed are the fingerprints of the findings this run attached
	// audit-log entries to.
	Attributed map[string]bool
}

// Run audits the configured integrations. It returns an error only when
// the run cannot start (bad options, unusable credentials configuration);
// everything that fails while reading becomes a gap in the report.
func Run(ctx context.Context, cfg *config.Config, opts Options) (*Result, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	selected, err := SelectIntegrations(cfg, opts.Integrations)
	if err != nil {
		return nil, err
	}
	tel := opts.Telemetry
	tracer := tel.Tracer()
	secrets := redact.ForConfig(cfg)
	readers := opts.Readers
	if !readers.Fits(cfg, tel) {
		if readers, err = NewReaders(cfg, tel); err != nil {
			return nil, err
		}
	}
	counter, entraSource, cfSource := readers.counter, readers.entra, readers.cloudflare
	mark := counter.Mark()

	started := now().UTC()
	snap := newSnapshot(cfg, selected, started)

	// The two sides are independent: read them concurrently. Each source
	// returns what it read; only this goroutine writes the snapshot. A
	// panic in a reader must not take the process down (the daemon would
	// crash-loop): it fails the run.
	targets := make([]entra.Target, len(snap.Integrations))
	for i, in := range snap.Integrations {
		targets[i] = entra.Target{Name: in.Name, EntraAppID: in.EntraAppID, SCIMAppID: in.SCIMAppID}
	}
	var (
		wg        sync.WaitGroup
		panicsMu  sync.Mutex
		panics    []string
		entraRead entra.Result
		cfRead    cloudflare.Result
	)
	read := func(side snapshot.Side, do func(context.Context)) {
		defer wg.Done()
		defer func() {
			if r := recover(); r != nil {
				panicsMu.Lock()
				panics = append(panics, fmt.Sprintf("reading %s failed: internal error: %v", side, r))
				panicsMu.Unlock()
			}
		}()
		ctx, span := tracer.Start(ctx, "read "+string(side))
		defer span.End()
		if opts.beforeRead != nil {
			opts.beforeRead(side)
		}
		do(ctx)
	}
	// The Entra side's last round also looks up the Entra groups the
	// Cloudflare rules name, so the Cloudflare side hands them over as
	// soon as it has read the rules (closed unsent if it panicked).
	groupIDs := make(chan []string, 1)
	wg.Add(2)
	go read(snapshot.SideEntra, func(ctx context.Context) { entraRead = entraSource.Read(ctx, targets, groupIDs) })
	go func() {
		defer close(groupIDs)
		read(snapshot.SideCloudflare, func(ctx context.Context) {
			cfRead = cfSource.Read(ctx, started)
			groupIDs <- cfRead.Policies.GroupIDs()
		})
	}()
	wg.Wait()
	if cfRead.Policies != nil {
		cfRead.Policies.Groups = entraRead.Groups
	}
	if len(panics) > 0 {
		sort.Strings(panics)
		return nil, errors.New(secrets.String(strings.Join(panics, "; ")))
	}
	assemble(snap, entraRead, cfRead)
	// One place scrubs every source's error text of every configured
	// secret, before the gap reaches a report, the store or a log.
	for i := range snap.Gaps {
		snap.Gaps[i].Error = secrets.String(snap.Gaps[i].Error)
	}
	sortGaps(snap.Gaps)

	_, evalSpan := tracer.Start(ctx, "evaluate")
	rep := evaluate(ctx, tracer, snap, opts.Baselines)
	evalSpan.End()
	Suppress(rep, cfg.Suppress, snap.TakenAt)
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for _, g := range snap.Gaps {
		logger.Warn("could not read", "integration", g.Integration, "side", g.Side, "what", g.What, "error", g.Error)
	}
	var attributed map[string]bool
	if opts.Attribute != nil && cfg.Attribution.Enabled {
		attributed = attributeChanges(ctx, tracer, readers, snap, rep, opts.Attribute(rep), entra.GraphUnreadable(snap.Gaps, targets), now().UTC(), secrets.String, logger)
	}
	rep.StartedAt = started
	rep.FinishedAt = now().UTC()
	requests, throttled := counter.Since(mark)
	rep.Stats = report.Stats{
		APIRequests: requests,
		DurationMS:  rep.FinishedAt.Sub(started).Milliseconds(),
	}
	logger.Debug("audit finished", "integrations", len(rep.Integrations), "findings", len(rep.Findings),
		"gaps", len(rep.Gaps), "complete", rep.Complete(), "api_requests", rep.Stats.APIRequests, "duration_ms", rep.Stats.DurationMS)
	return &Result{Report: rep, Snapshot: snap, Throttled: throttled, Attributed: attributed}, nil
}

// SelectIntegrations returns the named integrations (all when names is
// empty), or an error naming an unknown one.
func SelectIntegrations(cfg *config.Config, names []string) ([]config.Integration, error) {
	if len(names) == 0 {
		return cfg.Integrations, nil
	}
	var out []config.Integration
	for _, name := range names {
		in, ok := cfg.Integration(name)
		if !ok {
			var known []string
			for _, k := range cfg.Integrations {
				known = append(known, k.Name)
			}
			return nil, fmt.Errorf("--integration: no integration named %q (configured: %s)", name, strings.Join(known, ", "))
		}
		out = append(out, in)
	}
	return out, nil
}

func newSnapshot(cfg *config.Config, integrations []config.Integration, at time.Time) *snapshot.Snapshot {
	snap := &snapshot.Snapshot{
		TakenAt:   at,
		TenantID:  strings.ToLower(cfg.Entra.TenantID),
		AccountID: cfg.Cloudflare.AccountID,
	}
	for _, in := range integrations {
		snap.Integrations = append(snap.Integrations, snapshot.Integration{
			Name:            in.Name,
			EntraAppID:      strings.ToLower(in.EntraAppID),
			CloudflareIdPID: strings.ToLower(in.CloudflareIdPID),
			SCIMAppID:       strings.ToLower(in.SCIMAppID),
			Baseline:        in.Baseline,
			Expiry: snapshot.Expiry{Warning: time.Duration(cfg.Expiry.Warning), Critical: time.Duration(cfg.Expiry.Critical), MaxSecretLifetime: time.Duration(cfg.Expiry.MaxSecretLifetime),
				SCIMStaleAfter: time.Duration(cfg.Expiry.SCIMStaleAfter)},
		})
	}
	return snap
}

// assemble puts what the two sources read into snap.
func assemble(snap *snapshot.Snapshot, e entra.Result, cf cloudflare.Result) {
	snap.GraphServicePrincipalID, snap.GraphPermissions, snap.GraphRoles = e.GraphServicePrincipalID, e.GraphPermissions, e.GraphRoles
	snap.PremiumPlans = e.PremiumPlans
	for i := range snap.Integrations {
		in, got := &snap.Integrations[i], e.Integrations[i]
		in.Application = got.Application
		in.ServicePrincipal = got.ServicePrincipal
		in.ServicePrincipalMissing = got.ServicePrincipalMissing
		in.PermissionGrants = got.PermissionGrants
		in.AppRoleAssignments = got.AppRoleAssignments
		in.Provisioning = got.Provisioning
	}
	snap.IdentityProviders, snap.AuthDomain = cf.IdentityProviders, cf.AuthDomain
	snap.Policies = cf.Policies
	snap.Gaps = append(append(snap.Gaps, e.Gaps...), cf.Gaps...)
	// A SCIM log that could not be read is a gap of the integrations
	// whose identity provider it belongs to, and of no other.
	for i := range snap.Integrations {
		in := &snap.Integrations[i]
		if idp := snap.IdentityProviderOf(in); idp != nil && cf.SCIMLogFailures[idp.ID] != nil {
			snap.Gaps = append(snap.Gaps, snapshot.Gap{Integration: in.Name, Side: snapshot.SideCloudflare,
				What: snapshot.CloudflareSCIMLogs, Error: cf.SCIMLogFailures[idp.ID].Error()})
		}
	}
}

func sortGaps(gaps []snapshot.Gap) {
	sort.SliceStable(gaps, func(i, j int) bool {
		a, b := gaps[i], gaps[j]
		if a.Integration != b.Integration {
			return a.Integration < b.Integration
		}
		if a.Side != b.Side {
			return a.Side < b.Side
		}
		return a.What < b.What
	})
}

// evaluate runs every check against every integration of snap. A check
// whose data has a gap is not run: it reports "could not evaluate", so
// missing data never produces (or clears) a finding. approved holds the
// approved baseline snapshots by integration name (may be nil).
// Each integration and each check gets a span.
func evaluate(ctx context.Context, tracer trace.Tracer, snap *snapshot.Snapshot, approved map[string]*snapshot.Snapshot) *report.Report {
	rep := &report.Report{Version: report.Version, Findings: []checks.Finding{}, Gaps: []report.Gap{}, Results: []report.CheckResult{}}
	for _, g := range snap.Gaps {
		rep.Gaps = append(rep.Gaps, report.ClipGap(report.Gap{Integration: g.Integration, Side: string(g.Side), What: string(g.What), Error: g.Error}))
	}
	catalog := checks.All()
	for i := range snap.Integrations {
		in := &snap.Integrations[i]
		status := report.Complete
		if len(snap.Missing(in.Name, allKinds(catalog)...)) > 0 {
			status = report.Incomplete
		}
		rep.Integrations = append(rep.Integrations, report.IntegrationStatus{Name: in.Name, Status: status})
		inCtx, inSpan := tracer.Start(ctx, "integration "+in.Name, trace.WithAttributes(attribute.String("driftd.integration", in.Name), attribute.String("driftd.status", status)))
		for _, c := range catalog {
			_, checkSpan := tracer.Start(inCtx, "check "+c.ID)
			res := report.CheckResult{CheckID: c.ID, Integration: in.Name}
			if gaps := snap.Missing(in.Name, c.Needs...); len(gaps) > 0 {
				res.Status = report.StatusCouldNotEvaluate
				res.Reason = "could not read " + gapKinds(gaps)
				rep.Results = append(rep.Results, res)
				checkSpan.SetAttributes(attribute.String("driftd.check.status", res.Status))
				checkSpan.End()
				continue
			}
			out := c.Evaluate(checks.Input{Snapshot: snap, Integration: in, Approved: approved[in.Name]})
			switch {
			case out.NotApplicable != "":
				res.Status, res.Reason = report.StatusNotApplicable, out.NotApplicable
			case len(out.Findings) > 0:
				res.Status = report.StatusFail
				// Values from API data are capped here, once, so a
				// 100,000-character display name cannot swell the
				// report, the store or a notification.
				for _, f := range out.Findings {
					rep.Findings = append(rep.Findings, report.ClipFinding(f))
				}
			default:
				res.Status = report.StatusPass
			}
			rep.Results = append(rep.Results, res)
			checkSpan.SetAttributes(attribute.String("driftd.check.status", res.Status))
			checkSpan.End()
		}
		inSpan.End()
	}
	return rep
}

// Evaluate runs the check catalog on a snapshot already taken (a stored
// one): the report's integrations, results, findings and gaps, as the
// run that took it produced them. approved holds the approved baselines
// by integration name (may be nil).
func Evaluate(ctx context.Context, snap *snapshot.Snapshot, approved map[string]*snapshot.Snapshot) *report.Report {
	return evaluate(ctx, tracenoop.NewTracerProvider().Tracer(""), snap, approved)
}

// DataKinds lists every kind of data the check catalog reads.
func DataKinds() []snapshot.DataKind { return allKinds(checks.All()) }

func allKinds(catalog []checks.Check) []snapshot.DataKind {
	seen := map[snapshot.DataKind]bool{}
	var out []snapshot.DataKind
	for _, c := range catalog {
		for _, k := range c.Needs {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

func gapKinds(gaps []snapshot.Gap) string {
	var kinds []string
	seen := map[snapshot.DataKind]bool{}
	for _, g := range gaps {
		if !seen[g.What] {
			seen[g.What] = true
			kinds = append(kinds, string(g.What))
		}
	}
	return strings.Join(kinds, ", ")
}

// Suppress marks the findings that an active suppression covers. Expired
// suppressions no longer apply.
func Suppress(rep *report.Report, rules []config.Suppression, now time.Time) {
	for i := range rep.Findings {
		rep.Findings[i].Suppression = SuppressionFor(rules, rep.Findings[i], now)
	}
}

// SuppressionFor returns the first rule that covers f at now, or nil.
func SuppressionFor(rules []config.Suppression, f checks.Finding, now time.Time) *checks.Suppression {
	for _, rule := range rules {
		if !Covers(rule, f, now) {
			continue
		}
		s := &checks.Suppression{Reason: rule.Reason}
		if !rule.ExpiresAt.IsZero() {
			exp := rule.ExpiresAt
			s.Expires = &exp
		}
		return s
	}
	return nil
}

// Covers reports whether a suppression rule applies to f at now.
func Covers(rule config.Suppression, f checks.Finding, now time.Time) bool {
	if !rule.ExpiresAt.IsZero() && !now.Before(rule.ExpiresAt) {
		return false
	}
	return rule.Check == f.CheckID &&
		(rule.Integration == "" || rule.Integration == f.Integration) &&
		(rule.Resource == "" || strings.EqualFold(rule.Resource, f.Resource.ID))
}

// attributeChanges asks the audit logs who changed the objects of items' findings
// and records what it could not read as gaps of kind attribution: they
// never make an integration incomplete, and the findings stand as they
// are.
func attributeChanges(ctx context.Context, tracer trace.Tracer, readers *Readers, snap *snapshot.Snapshot, rep *report.Report, items []attribution.Item,
	graphUnreadable bool, now time.Time, scrub func(string) string, logger *slog.Logger) map[string]bool {
	if len(items) == 0 {
		return nil
	}
	ctx, span := tracer.Start(ctx, "attribute")
	defer span.End()
	logs := attribution.Logs{Entra: readers.entra, Cloudflare: readers.cloudflare}
	var gaps []snapshot.Gap
	if graphUnreadable {
		// No token, or Graph refused everything: asking again would
		// only hammer it (and ignore a Retry-After it gave).
		logs.Entra = nil
		gaps = append(gaps, attribution.Unavailable(snapshot.SideEntra, "Microsoft Graph could not be read in this run"))
	}
	res := attribution.Attribute(ctx, logs, snap, items, now)
	for _, g := range append(gaps, res.Gaps...) {
		g.Error = scrub(g.Error)
		logger.Warn("attribution unavailable", "side", g.Side, "error", g.Error)
		rep.Gaps = append(rep.Gaps, report.ClipGap(report.Gap{Side: string(g.Side), What: string(g.What), Error: g.Error}))
	}
	span.SetAttributes(attribute.Int("driftd.attributed", len(res.Attributed)))
	return res.Attributed
}
