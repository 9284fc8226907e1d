package report

// htmlPage is the HTML report's template. The Content-Security-Policy
// forbids every fetch (default-src 'none'): the page is one file, and a
// value that ever slipped through escaping still could not load a thing.
const htmlPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>driftd audit {{.Generated}}</title>
<style>
:root { --fg: #1d2430; --muted: #5b6473; --line: #d9dee6; --bg: #ffffff; --panel: #f5f7fa;
  --crit: #8e1b8a; --high: #c62828; --med: #b26a00; --low: #1f5fbf; --ok: #2e7d32; --warn: #b26a00; --fail: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
h4 { font-size: 14px; margin: 12px 0 6px; }
.muted { color: var(--muted); }
.summary { margin: 0 0 16px; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 8px; }
.tile { flex: 1 1 110px; border: 1px solid var(--line); border-top: 4px solid var(--muted); border-radius: 6px; padding: 8px 12px; background: var(--panel); }
.tile .v { font-size: 26px; font-weight: 700; }
.tile .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile.sev-critical { border-top-color: var(--crit); } .tile.sev-high { border-top-color: var(--high); }
.tile.sev-medium { border-top-color: var(--med); } .tile.sev-low { border-top-color: var(--low); }
.tile.ok { border-top-color: var(--ok); } .tile.warn { border-top-color: var(--warn); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); }
.badge.ok { background: var(--ok); } .badge.warn { background: var(--warn); } .badge.fail { background: var(--fail); }
.sev { display: inline-block; padding: 1px 8px; border-radius: 4px; font-size: 12px; font-weight: 700; color: #fff; }
.sev.sev-critical { background: var(--crit); } .sev.sev-high { background: var(--high); }
.sev.sev-medium { background: var(--med); } .sev.sev-low { background: var(--low); }
.integration { border: 1px solid var(--line); border-radius: 8px; padding: 4px 16px 12px; margin: 14px 0; page-break-inside: auto; }
.check { border-left: 3px solid var(--line); padding-left: 12px; margin: 10px 0 14px; }
.check code { font-weight: 700; }
.finding { background: var(--panel); border-radius: 6px; padding: 8px 12px; margin: 6px 0; page-break-inside: avoid; overflow-wrap: anywhere; }
.finding .msg { font-weight: 600; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; }
.changes { margin: 6px 0 0; padding-left: 18px; color: var(--fg); }
.changes li { margin: 2px 0; } .changes ul { padding-left: 18px; color: var(--muted); }
.fix { margin: 6px 0 0; } .fix b { color: var(--ok); }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { background: var(--panel); }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg { width: 100%; height: auto; display: block; }
svg text { font: 11px system-ui, sans-serif; fill: var(--fg); }
svg .axis { stroke: var(--line); } svg .tick { fill: var(--muted); }
svg .band-warn { fill: #fff1d6; } svg .band-crit { fill: #fddede; }
svg .bar.ok { fill: var(--ok); } svg .bar.warn { fill: var(--warn); } svg .bar.crit { fill: var(--high); } svg .bar.expired { fill: #7a7f87; }
svg .bar.fail { fill: var(--fail); }
svg .today { stroke: #111; stroke-width: 2; stroke-dasharray: 4 3; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
.legend i.ok { background: var(--ok); } .legend i.warn { background: var(--warn); } .legend i.crit, .legend i.fail { background: var(--high); }
.legend i.expired { background: #7a7f87; } .legend i.band-warn { background: #fff1d6; border: 1px solid #e8cf9a; } .legend i.band-crit { background: #fddede; border: 1px solid #eab0b0; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
a { color: var(--low); }
@media print {
  body { padding: 0; font-size: 11px; }
  .integration, .finding, figure { page-break-inside: avoid; break-inside: avoid; }
  h2 { page-break-after: avoid; break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  a[href^="https:"]::after { content: " (" attr(href) ")"; font-size: 9px; color: var(--muted); overflow-wrap: anywhere; }
  .tile, .finding, th { background: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>
</head>
<body>
<header>
<h1>driftd audit {{.Generated}}</h1>
<p class="summary muted" id="summary">{{.Summary}}{{if .Source}} · {{.Source}}{{end}}</p>
</header>

<section class="tiles" id="tiles" aria-label="Summary">
{{- range .Tiles}}
<div class="tile {{.Class}}"><div class="v">{{.Value}}</div><div class="l">{{.Label}}</div></div>
{{- end}}
</section>

{{- with .Timeline}}
<h2 id="credentials">Credential timeline</h2>
{{- if .Empty}}
<p class="muted">{{.Empty}}</p>
{{- else}}
<figure style="margin:0">
<svg id="credential-timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="Client secrets and certificates from start to end, against today">
{{- range .Rows}}
<rect class="band-warn" x="{{.WarnX}}" y="{{.Y}}" width="{{.WarnW}}" height="26"/>
<rect class="band-crit" x="{{.WarnX}}" y="{{.Y}}" width="{{.CritW}}" height="26"/>
{{- end}}
{{- range .Ticks}}
<line class="axis" x1="{{.X}}" y1="20" x2="{{.X}}" y2="{{$.Timeline.AxisBottom}}"/>
<text class="tick" x="{{.X}}" y="14" text-anchor="middle">{{.Label}}</text>
{{- end}}
{{- range .Rows}}
<g class="cred" data-state="{{.State}}">
<title>{{.Title}}</title>
<text x="{{$.Timeline.ChartLeft}}" dx="-8" y="{{.TextY}}" text-anchor="end">{{.Label}}</text>
<rect class="bar {{.Class}}" x="{{.X}}" y="{{.BarY}}" width="{{.W}}" height="14" rx="3"/>
</g>
{{- end}}
<line class="today" x1="{{.TodayX}}" y1="20" x2="{{.TodayX}}" y2="{{.AxisBottom}}"/>
<text x="{{.TodayX}}" y="{{.Height}}" dy="-4" text-anchor="middle">today {{.Today}}</text>
</svg>
<figcaption class="legend">
<span><i class="band-crit"></i>critical window ({{if .SingleWindow}}{{.Critical}}{{else}}per integration{{end}})</span>
<span><i class="band-warn"></i>warning window ({{if .SingleWindow}}{{.Warning}}{{else}}per integration{{end}})</span>
<span><i class="ok"></i>valid</span><span><i class="warn"></i>in the warning window</span><span><i class="crit"></i>in the critical window</span><span><i class="expired"></i>expired</span>
</figcaption>
</figure>
<table id="credentials-table">
<thead><tr><th>Integration</th><th>Credential</th><th>Starts</th><th>Ends</th><th>State</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{.Integration}}</td><td>{{.Kind}} {{.Name}}</td><td>{{if .HasStart}}{{.Start}}{{else}}unknown{{end}}</td><td>{{.Ends}}</td><td><span class="badge {{if eq .Class "crit" "expired"}}fail{{else}}{{.Class}}{{end}}">{{.State}}</span> {{.Left}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- end}}

{{- with .History}}
<h2 id="history">Findings over the last {{len .Runs}} runs</h2>
<figure style="margin:0">
<svg id="history-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="Findings per run, oldest on the left">
<line class="axis" x1="{{.Left}}" y1="{{.Base}}" x2="{{.Right}}" y2="{{.Base}}"/>
<line class="axis" x1="{{.Left}}" y1="{{.Top}}" x2="{{.Right}}" y2="{{.Top}}" stroke-dasharray="2 3"/>
<text class="tick" x="{{.Left}}" dx="-6" y="{{.Top}}" dy="4" text-anchor="end">{{.Max}}</text>
<text class="tick" x="{{.Left}}" dx="-6" y="{{.Base}}" dy="4" text-anchor="end">0</text>
{{- range .Bars}}
<g class="run"><title>{{.Title}}</title>
<rect class="bar {{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"/>
<rect class="bar {{.Class}}" x="{{.X}}" y="{{$.History.StripY}}" width="{{.W}}" height="{{$.History.StripH}}"/>
{{- if .Label}}<text class="tick" x="{{.LabelX}}" y="{{$.History.LabelY}}" text-anchor="middle">{{.Label}}</text>{{end}}
</g>
{{- end}}
</svg>
<figcaption class="legend"><span>{{.First}} → {{.Last}}; bar height: findings of the run; colour: the run's status</span>
<span><i class="ok"></i>complete</span><span><i class="warn"></i>incomplete</span><span><i class="fail"></i>failed</span></figcaption>
</figure>
<table id="runs">
<thead><tr><th>Run</th><th>Started (UTC)</th><th>Duration</th><th>Trigger</th><th>Status</th><th>Findings</th><th>Opened</th><th>Resolved</th><th>Gaps</th></tr></thead>
<tbody>
{{- range .Runs}}
<tr><td class="n">{{.ID}}</td><td>{{.Started}}</td><td>{{.Duration}}</td><td>{{.Trigger}}</td><td><span class="badge {{.Class}}">{{.Status}}</span>{{if .Error}} {{.Error}}{{end}}</td><td class="n">{{.Findings}}</td><td class="n">{{.Opened}}</td><td class="n">{{.Resolved}}</td><td class="n">{{.Gaps}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}


<h2 id="findings">Findings</h2>
{{- range .Integrations}}
<section class="integration">
<h3>{{.Name}} <span class="badge {{if .Complete}}ok{{else}}warn{{end}}">{{.Status}}</span> <span class="muted">{{.Counts}}</span></h3>
{{- if not .Severities}}
<p class="muted">{{if .Complete}}No findings.{{else}}No findings among the checks that could be evaluated.{{end}}</p>
{{- end}}
{{- range .Severities}}
{{- $sev := .}}
<h4><span class="sev {{.Class}}">{{.Name}}</span></h4>
{{- range .Checks}}
<div class="check" data-check="{{.ID}}">
<div><code>{{.ID}}</code> {{.Title}}</div>
{{- range .Findings}}
{{template "finding" .}}
{{- end}}
<p class="fix"><b>Fix:</b> {{.Fix}}</p>
</div>
{{- end}}
{{- end}}
{{- if .Suppressed}}
<h4>Suppressed</h4>
{{- range .Suppressed}}
{{template "finding" .}}
{{- end}}
{{- end}}
{{- if .CouldNotEvaluate}}
<h4>Could not evaluate</h4>
<ul>
{{- range .CouldNotEvaluate}}
<li><code>{{.CheckID}}</code>: {{.Reason}}</li>
{{- end}}
</ul>
{{- end}}
</section>
{{- end}}

{{- if .Gaps}}
<h2 id="gaps">Could not read</h2>
<table>
<thead><tr><th>Integration</th><th>Side</th><th>What</th><th>Error</th></tr></thead>
<tbody>
{{- range .Gaps}}
<tr><td>{{.Scope}}</td><td>{{.Side}}</td><td>{{.What}}</td><td>{{.Error}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}

<footer>{{.Stats}} · generated by driftd</footer>
</body>
</html>
{{define "finding"}}<div class="finding" data-check="{{.CheckID}}">
<div class="msg">{{.Message}}</div>
<dl class="kv">
<dt>resource</dt><dd>{{.Resource}}{{if .Link}} · <a href="{{.Link}}" rel="noreferrer noopener">{{.LinkLabel}}</a>{{end}}</dd>
<dt>expected</dt><dd>{{.Expected}}</dd>
<dt>found</dt><dd>{{.Actual}}</dd>
{{- if .Note}}
<dt>suppressed</dt><dd>{{.Note}}</dd>
{{- end}}
</dl>
{{- if .Changes}}
<ul class="changes">
{{- range .Changes}}
<li class="changed-by">{{.Summary}}
{{- if or .Modified .MoreModified}}
<ul>
{{- range .Modified}}<li>{{.}}</li>{{end}}
{{- if .MoreModified}}<li>{{.MoreModified}}</li>{{end}}
</ul>
{{- end}}
</li>
{{- end}}
{{- if .MoreChanges}}<li>{{.MoreChanges}}</li>{{end}}
</ul>
{{- end}}
</div>{{end}}
`
