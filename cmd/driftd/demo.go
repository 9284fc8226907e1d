package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/textsafe"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/slack"
	"github.com/driftd/driftd/report"
)

// demoFlags defines the flags of `driftd demo`.
func demoFlags() (fs *flag.FlagSet, scenario, format, serve *string) {
	fs = newFlagSet("demo")
	scenario = fs.String("scenario", demo.ScenarioDrifted, "the simulated tenant's `scenario`: drifted or healthy")
	format = fs.String("format", "table", "output `format`: table, json or markdown")
	serve = fs.String("serve", "", "keep the simulated tenant running and write a config for it into this `dir`ectory, to try driftd run and the other commands against it")
	return fs, scenario, format, serve
}

// cmdDemo audits the built-in simulated tenant through the same code path
// as `driftd check`: real SDK clients, real HTTPS over loopback.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs, scenario, format, serve := demoFlags()
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if *serve != "" {
		return serveDemo(ctx, *serve, *scenario, stdout)
	}
	out, err := report.ParseFormat(*format)
	if err != nil {
		return exitError, fmt.Errorf("--format: %w", err)
	}
	dir, err := os.MkdirTemp("", "driftd-demo-")
	if err != nil {
		return exitError, err
	}
	defer os.RemoveAll(dir)

	env, err := demo.Start(dir, *scenario, time.Now(), sim.Options{})
	if err != nil {
		return exitError, err
	}
	defer env.Close()
	cfg, err := engine.LoadConfig(env.ConfigPath)
	if err != nil {
		return exitError, err
	}
	if out == report.FormatTable {
		fmt.Fprintf(stdout, "Auditing a simulated %s tenant (Entra ID, Microsoft Graph and Cloudflare on loopback)…\n\n", *scenario)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := audit.Run(ctx, cfg, audit.Options{})
	if err != nil {
		return exitError, err
	}
	if err := report.Write(stdout, res.Report, out, report.Options{Color: isTerminal(stdout)}); err != nil {
		return exitError, err
	}
	if out == report.FormatTable {
		showSlackPreview(stdout, cfg, res)
		showMetricsPreview(stdout, res)
		fmt.Fprint(stdout, "\nThis was a simulation. To audit your own tenant, copy config.example.toml to\n"+
			"/etc/driftd/config.toml, fill in your IDs and read-only credentials (see README:\n"+
			"Permissions), then run: driftd check --config /etc/driftd/config.toml\n")
	}
	// The findings are the point of the demo, not a failure.
	return exitOK, nil
}

// serveDemo keeps the simulator running until interrupted, with a config
// (fast schedule, state in dir) that any driftd command can use.
func serveDemo(ctx context.Context, dir, scenario string, stdout io.Writer) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return exitError, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return exitError, err
	}
	env, err := demo.Start(abs, scenario, time.Now(), sim.Options{})
	if err != nil {
		return exitError, err
	}
	defer env.Close()
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return exitError, err
	}
	_, err = fmt.Fprintf(f, "\n[daemon]\nschedule = \"@every 15s\"\nstate_dir = %q\nlisten = \"127.0.0.1:9464\"\n", filepath.Join(abs, "state"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return exitError, err
	}
	fmt.Fprintf(stdout, "Simulated %s tenant running. In another terminal try:\n\n"+
		"  driftd check --config %[2]s\n"+
		"  driftd run --config %[2]s          # audits every 15 s; Ctrl-C to stop\n"+
		"  driftd status --config %[2]s\n"+
		"  driftd findings --config %[2]s\n"+
		"  driftd baseline approve --config %[2]s\n\n"+
		"Press Ctrl-C to stop the simulator.\n", scenario, env.ConfigPath)
	<-ctx.Done()
	return exitOK, nil
}

// showSlackPreview prints what a Slack route with the default settings
// (min_severity = "medium") would receive after this first run.
func showSlackPreview(w io.Writer, cfg *config.Config, res *audit.Result) {
	route := config.SlackRoute{Route: config.Route{Name: "security", Severity: checks.Medium}, Mention: "@security-oncall"}
	batch := notify.Batch{Kind: notify.KindFindings, Route: route.Name, RunID: 1, RunAt: res.Report.FinishedAt, AccountID: cfg.Cloudflare.AccountID}
	for _, f := range res.Report.Findings {
		if f.Severity >= route.Severity && f.Suppression == nil {
			batch.Items = append(batch.Items, notify.Item{Event: notify.EventOpened, Finding: f, FirstSeen: res.Report.FinishedAt})
		}
	}
	payloads := slack.Render(batch, route)
	fmt.Fprintf(w, "\n── Slack ─ what a [[notify.slack]] route (min_severity = \"medium\") would receive: %d message(s) ──\n", len(payloads))
	for i, p := range payloads {
		if i > 0 {
			fmt.Fprintln(w, "  ───")
		}
		fmt.Fprint(w, blocksAsText(p))
	}
	fmt.Fprintln(w, "Later runs send only what changed: resolved findings, and reminders once repeat_interval has passed.")
}

// showMetricsPreview summarises the OpenTelemetry metrics this run would
// export when [telemetry] is configured.
func showMetricsPreview(w io.Writer, res *audit.Result) {
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
	fmt.Fprintf(w, "  driftd.api.requests          graph=%d cloudflare=%d token=%d\n", res.Report.Stats.APIRequests["graph"], res.Report.Stats.APIRequests["cloudflare"], res.Report.Stats.APIRequests["token"])
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
