// Package attribution answers "who changed it": for the findings a run
// opened (and those opened earlier whose audit-log entry had not arrived
// yet), it asks Entra's directory audit log and Cloudflare's account audit
// log about the findings' objects in the window since the run before, and
// attaches the matching entries. One request per log covers every finding
// of the run (plus paging); a log that cannot be read is a gap of kind
// attribution, never an error, and never changes a finding.
package attribution

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/driftd/driftd/internal/fanout"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/source/cloudflare"
	"github.com/driftd/driftd/internal/source/entra"
)

// Margin widens every window on both sides: the log's time and driftd's
// clock may differ, and a change made while the previous run was reading
// may not have been seen by it.
const Margin = 5 * time.Minute

// MaxChanges is how many entries one finding keeps (newest first).
const MaxChanges = 5

// Timeout bounds the lookup: the run's report and notifications wait for
// it at most this long; a log slower than that is a gap.
const Timeout = 30 * time.Second

// Item is one finding to attribute and the window its cause lies in.
type Item struct {
	Finding *finding.Finding
	// Since is when the window opens: the start of the last run before
	// the one that opened the finding (or the look-back on a first run).
	Since time.Time
	// Hints pick the relevant entries (see checks.AttributionOf): when
	// set, only entries that contain one in their activity or a modified
	// property's name are attached.
	Hints []string
}

// Logs are the two audit logs, read with the run's API clients; a nil
// side is not asked.
type Logs struct {
	Entra      *entra.Source
	Cloudflare *cloudflare.Source
}

// Result is what a lookup found: the fingerprints of the findings it
// attached Changes to, and the logs it could not read.
type Result struct {
	Attributed map[string]bool
	Gaps       []snapshot.Gap
}

// Attribute asks both logs, concurrently, about every item's objects in
// the union of the items' windows up to now, and attaches to each item's
// finding the entries about its objects inside its own window. snap
// supplies the integrations' object IDs. A finding with an object on a
// side that could not be read is left as it is: what the other log says
// may not be the whole story, and it is looked up again later.
func Attribute(ctx context.Context, logs Logs, snap *snapshot.Snapshot, items []Item, now time.Time) Result {
	res := Result{Attributed: map[string]bool{}}
	if len(items) == 0 {
		return res
	}
	targets := make([][]finding.ObjectRef, len(items))
	wanted := map[snapshot.Side]map[string]bool{snapshot.SideEntra: {}, snapshot.SideCloudflare: {}}
	from := now
	for i, it := range items {
		targets[i] = Targets(*it.Finding, snap)
		for _, t := range targets[i] {
			wanted[t.Side][strings.ToLower(t.ID)] = true
		}
		if it.Since.Before(from) {
			from = it.Since
		}
	}
	from, to := from.Add(-Margin), now.Add(Margin)
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()

	type log struct {
		side snapshot.Side
		read func(context.Context, []string, time.Time, time.Time) ([]finding.Change, error)
	}
	var asked []log
	unread := map[snapshot.Side]bool{}
	if logs.Entra != nil {
		asked = append(asked, log{snapshot.SideEntra, logs.Entra.DirectoryAudits})
	} else {
		unread[snapshot.SideEntra] = true
	}
	if logs.Cloudflare != nil {
		asked = append(asked, log{snapshot.SideCloudflare, logs.Cloudflare.AuditLogs})
	} else {
		unread[snapshot.SideCloudflare] = true
	}
	var (
		mu      sync.Mutex
		changes []finding.Change
	)
	g := fanout.New(0)
	for _, l := range asked {
		ids := make([]string, 0, len(wanted[l.side]))
		for id := range wanted[l.side] {
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			continue
		}
		sort.Strings(ids)
		g.Go(func() {
			got, err := l.read(ctx, ids, from, to)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				unread[l.side] = true
				res.Gaps = append(res.Gaps, Unavailable(l.side, err.Error()))
				return
			}
			changes = append(changes, got...)
		})
	}
	g.Wait()

	for i, it := range items {
		if slices.ContainsFunc(targets[i], func(t finding.ObjectRef) bool { return unread[t.Side] }) {
			continue
		}
		matched := relevant(match(changes, targets[i], it.Since.Add(-Margin), to), it.Hints)
		if len(matched) > MaxChanges {
			matched = matched[:MaxChanges]
		}
		if len(matched) > 0 {
			it.Finding.Changes = matched
			res.Attributed[it.Finding.Fingerprint] = true
		}
	}
	sort.Slice(res.Gaps, func(i, j int) bool { return res.Gaps[i].Side < res.Gaps[j].Side })
	return res
}

// match picks the changes about one of targets inside [from, to], newest
// first.
func match(changes []finding.Change, targets []finding.ObjectRef, from, to time.Time) []finding.Change {
	ids := map[snapshot.Side]map[string]bool{}
	for _, t := range targets {
		if ids[t.Side] == nil {
			ids[t.Side] = map[string]bool{}
		}
		ids[t.Side][strings.ToLower(t.ID)] = true
	}
	var out []finding.Change
	for _, c := range changes {
		if !ids[c.Source][c.Target] || c.At.Before(from) || c.At.After(to) {
			continue
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out
}

// relevant keeps the changes that match a hint (all of them when there
// are no hints).
func relevant(changes []finding.Change, hints []string) []finding.Change {
	if len(hints) == 0 {
		return changes
	}
	var out []finding.Change
	for _, c := range changes {
		texts := []string{c.Activity}
		for _, p := range c.Modified {
			texts = append(texts, p.Name)
		}
	search:
		for _, t := range texts {
			t = strings.ToLower(t)
			for _, h := range hints {
				if strings.Contains(t, h) {
					out = append(out, c)
					break search
				}
			}
		}
	}
	return out
}

// Targets are the objects whose change would explain f: its resource as
// the audit logs name it (an app registration's application object and
// its service principal, which holds the consent and the application
// permissions; a provisioning app's service principal; a Cloudflare
// object's ID) and the finding's Causes.
func Targets(f finding.Finding, snap *snapshot.Snapshot) []finding.ObjectRef {
	var out []finding.ObjectRef
	add := func(side snapshot.Side, id string) {
		if id != "" {
			out = append(out, finding.ObjectRef{Side: side, ID: strings.ToLower(id)})
		}
	}
	var in *snapshot.Integration
	if snap != nil {
		for i := range snap.Integrations {
			if snap.Integrations[i].Name == f.Integration {
				in = &snap.Integrations[i]
			}
		}
	}
	switch r := f.Resource; {
	case r.Side == snapshot.SideEntra && r.Kind == finding.KindAppRegistration:
		if in != nil && in.Application != nil && strings.EqualFold(in.Application.AppID, r.ID) {
			add(snapshot.SideEntra, in.Application.ID)
		}
		if in != nil && in.ServicePrincipal != nil && strings.EqualFold(in.ServicePrincipal.AppID, r.ID) {
			add(snapshot.SideEntra, in.ServicePrincipal.ID)
		}
	case r.Side == snapshot.SideEntra && r.Kind == finding.KindProvisioningApp:
		if in != nil && in.Provisioning != nil {
			add(snapshot.SideEntra, in.Provisioning.ServicePrincipalID)
		}
	case r.Side == snapshot.SideCloudflare:
		add(snapshot.SideCloudflare, r.ID)
	}
	for _, c := range f.Causes {
		add(c.Side, c.ID)
	}
	return out
}

// Unavailable is the gap of a run that could not ask the logs at all.
func Unavailable(side snapshot.Side, why string) snapshot.Gap {
	return snapshot.Gap{Side: side, What: snapshot.Attribution, Error: fmt.Sprintf("attribution unavailable: %s", why)}
}
