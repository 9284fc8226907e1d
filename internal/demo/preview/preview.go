// Package preview is `driftd demo`: it audits the simulated tenant
// through the same code path as `driftd check` (real SDK clients, real
// HTTPS over loopback) and shows, besides the report, the Slack messages
// a route would receive after the run, as the daemon's planner queues
// them, and the metrics the run would export. With --serve it keeps the
// simulator running for the other commands to try.
package preview

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/textsafe"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/slack"
	"github.com/driftd/driftd/report"
)

// Show audits a simulated tenant of the scenario and writes the report in
// format; the table format adds the Slack and metrics previews.
func Show(ctx context.Context, scenario string, format report.Format, w io.Writer, color bool) error {
	dir, err := os.MkdirTemp("", "driftd-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env, err := demo.Start(dir, scenario, time.Now(), sim.Options{})
	if err != nil {
		return err
	}
	defer env.Close()
	cfg, err := engine.LoadConfig(env.ConfigPath)
	if err != nil {
		return err
	}
	if format == report.FormatTable {
		fmt.Fprintf(w, "Auditing a simulated %s tenant (Entra ID, Microsoft Graph and Cloudflare on loopback)…\n\n", scenario)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	run, err := Audit(ctx, cfg)
	if err != nil {
		return err
	}
	if err := report.Write(w, run.Result.Report, format, report.Options{Color: color, Snapshot: run.Result.Snapshot}); err != nil {
		return err
	}
	if format == report.FormatTable {
		WriteSlack(w, run.Slack)
		WriteMetrics(w, run.Result)
		fmt.Fprint(w, "\nThis was a simulation. To audit your own tenant, copy config.example.toml to\n"+
			"/etc/driftd/config.toml, fill in your IDs and read-only credentials (see README:\n"+
			"Permissions), then run: driftd check --config /etc/driftd/config.toml\n")
	}
	return nil
}

// Serve keeps a simulated tenant running until ctx ends, with a config
// in dir (fast schedule, state in dir/state) that any driftd command can
// use.
func Serve(ctx context.Context, dir, scenario string, w io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	env, err := demo.Start(abs, scenario, time.Now(), sim.Options{})
	if err != nil {
		return err
	}
	defer env.Close()
	if err := env.AddDaemon(filepath.Join(abs, "state")); err != nil {
		return err
	}
	fmt.Fprintf(w, "Simulated %s tenant running. In another terminal try:\n\n"+
		"  driftd check --config %[2]s\n"+
		"  driftd run --config %[2]s          # audits every 15 s; Ctrl-C to stop\n"+
		"  driftd status --config %[2]s\n"+
		"  driftd findings --config %[2]s\n"+
		"  driftd baseline approve --config %[2]s\n\n"+
		"Press Ctrl-C to stop the simulator.\n", scenario, env.ConfigPath)
	<-ctx.Done()
	return nil
}

// Run is one demo audit and what it would send.
type Run struct {
	Result *audit.Result
	// Slack is what the preview route receives after this first run.
	Slack []notify.Payload
}

// route is the Slack route the preview shows: the defaults, with a
// mention for critical findings.
func route() config.SlackRoute {
	return config.SlackRoute{Route: config.Route{Name: "security", MinSeverity: "medium", Severity: finding.Medium, Repeat: 24 * time.Hour}, Mention: "@security-oncall"}
}

// Audit audits cfg once as the daemon would with one Slack route and a
// fresh store, and renders what that route's outbox holds afterwards.
// Nothing is sent.
func Audit(ctx context.Context, cfg *config.Config) (*Run, error) {
	dir, err := os.MkdirTemp("", "driftd-demo-state-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	withRoute := *cfg
	withRoute.Notify = config.Notify{Slack: []config.SlackRoute{route()}}
	out, err := (&engine.Engine{Store: st, Notify: true}).RunOnce(ctx, &withRoute, engine.TriggerCheck, nil)
	if err != nil {
		return nil, err
	}
	pending, err := st.Pending(ctx)
	if err != nil {
		return nil, err
	}
	run := &Run{Result: out.Result}
	for _, item := range pending {
		b, err := notify.DecodeBatch(item.Payload)
		if err != nil {
			return nil, err
		}
		run.Slack = append(run.Slack, slack.Render(b, route())...)
	}
	return run, nil
}

// WriteSlack prints the Slack messages for a terminal.
func WriteSlack(w io.Writer, payloads []notify.Payload) {
	fmt.Fprintf(w, "\n── Slack ─ what a [[notify.slack]] route (min_severity = \"medium\") would receive: %d message(s) ──\n", len(payloads))
	for i, p := range payloads {
		if i > 0 {
			fmt.Fprintln(w, "  ───")
		}
		fmt.Fprint(w, blocksAsText(p))
	}
	fmt.Fprintln(w, "Later runs send only what changed: resolved findings, and reminders once repeat_interval has passed.")
}

// WriteMetrics summarises the OpenTelemetry metrics the run would export
// when [telemetry] is configured.
func WriteMetrics(w io.Writer, res *audit.Result) {
	fmt.Fprintln(w, "\n── OpenTelemetry ─ metrics this run would export ──")
	bySeverity := map[string]int{}
	for _, f := range res.Report.Findings {
		bySeverity[f.Severity.String()]++
	}
	fmt.Fprintf(w, "  driftd.findings.open         critical=%d high=%d medium=%d low=%d\n", bySeverity["critical"], bySeverity["high"], bySeverity["medium"], bySeverity["low"])
	for _, in := range res.Snapshot.Integrations {
		if in.Application == nil {
			continue
		}
		for _, group := range []struct {
			kind  string
			creds []snapshot.Credential
		}{{"client_secret", in.Application.PasswordCredentials}, {"certificate", in.Application.KeyCredentials}} {
			for _, c := range group.creds {
				if c.End == nil {
					continue
				}
				days := c.End.Sub(res.Snapshot.TakenAt).Hours() / 24
				fmt.Fprintf(w, "  driftd.credential.expiry     %6.1f d  %s %s (%s, key %s)\n", days, textsafe.Field(in.Name, textsafe.MaxName), group.kind,
					textsafe.Field(in.Application.DisplayName, textsafe.MaxName), textsafe.Field(c.KeyID, textsafe.MaxName))
			}
		}
	}
	requests := res.Report.Stats.APIRequests
	fmt.Fprintf(w, "  driftd.api.requests          graph=%d cloudflare=%d token=%d\n", requests["graph"], requests["cloudflare"], requests["token"])
	fmt.Fprintf(w, "  driftd.run.duration          %.3f s\n", float64(res.Report.Stats.DurationMS)/1000)
	fmt.Fprintln(w, "  plus traces (one span per run, per source read, per check, per API call) and a log record per opened or resolved finding.")
}

// blocksAsText renders a message's Block Kit blocks for a terminal: the
// header, each section and the context line, indented.
func blocksAsText(p notify.Payload) string {
	var blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(p.Blocks, &blocks); err != nil || len(blocks) == 0 {
		return slack.Text([]notify.Payload{p}) + "\n"
	}
	unescape := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	var b strings.Builder
	for _, bl := range blocks {
		var text string
		switch {
		case bl.Text != nil:
			text = bl.Text.Text
		case len(bl.Elements) > 0:
			var parts []string
			for _, e := range bl.Elements {
				parts = append(parts, e.Text)
			}
			text = strings.Join(parts, " · ")
		default:
			continue
		}
		for _, line := range strings.Split(unescape.Replace(text), "\n") {
			fmt.Fprintf(&b, "  %s\n", textsafe.Line(line))
		}
	}
	return b.String()
}
