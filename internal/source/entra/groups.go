package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/driftd/driftd/internal/snapshot"
)

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// groupLookup is the referenced groups' share of round 3: per group,
// whether it exists and how many users are among its transitive members,
// from groups/{id}/transitiveMembers/microsoft.graph.user?$count=true&$top=1&$select=id
// with ConsistencyLevel: eventual. The requests ride in the same batches
// as the jobs' schemas (20 per $batch, a few batches at a time). A 404
// means the group does not exist; any other failure is a gap naming that
// group, and the lookup's checks are then not evaluated. An ID that is
// not a GUID is no group.
type groupLookup struct {
	res   GroupsResult
	gets  []*graphGet
	order []string // the lower-case group ID of each get
}

// GroupsResult is what the group lookup observed.
type GroupsResult struct {
	// Groups by lower-case ID; nil when nothing was looked up.
	Groups map[string]snapshot.EntraGroup
	Gaps   []snapshot.Gap
}

// GroupIDsWait is how long into the Entra read round 3 may wait for the
// Cloudflare side to hand over the group IDs its rules reference. The
// Cloudflare reads are normally done two round trips in and round 3
// starts four in, so the lookups ride in round 3's batches; when
// Cloudflare is slower, the schemas go out without them (at once, if
// rounds 1 and 2 took this long already) and the lookups follow in a
// round of their own, so a slow Cloudflare never delays the Entra reads
// past this point.
const GroupIDsWait = 2 * time.Second

// referencedGroups takes the group IDs the Cloudflare rules reference —
// at once if they are there, else waiting until deadline fires (nil: for
// as long as it takes) — and prepares their lookups; nil when there is
// nothing to look up, and late when the deadline came first. Not when
// Graph could not be read at all in this run (round one's tenant-wide
// read and every app read failed: no token, or every batch refused), nor
// past the run's deadline: then a gap says so.
func (s *Source) referencedGroups(ctx context.Context, groupIDs <-chan []string, deadline <-chan time.Time, gaps []snapshot.Gap, targets []Target) (lookup *groupLookup, late bool) {
	notLookedUp := func(why string) *groupLookup {
		return &groupLookup{res: GroupsResult{Gaps: []snapshot.Gap{{Side: snapshot.SideEntra, What: snapshot.EntraGroups,
			Error: "the referenced groups were not looked up: " + why}}}}
	}
	if groupIDs == nil {
		return nil, false
	}
	var ids []string
	// IDs that are there win over a deadline that has passed too (a
	// select between two ready cases picks either).
	select {
	case ids = <-groupIDs:
	default:
		select {
		case ids = <-groupIDs:
		case <-deadline:
			return nil, true
		case <-ctx.Done():
			return notLookedUp(ctx.Err().Error()), false
		}
	}
	switch {
	case len(ids) == 0:
		return nil, false
	case ctx.Err() != nil:
		return notLookedUp(ctx.Err().Error()), false
	case GraphUnreadable(gaps, targets):
		return notLookedUp("Microsoft Graph could not be read in this run"), false
	}
	return s.groupLookups(ids), false
}

// GraphUnreadable reports whether round one failed as a whole: the
// Microsoft Graph permission catalog and every integration's app (no
// token, or every batch refused). Nothing more is asked of Graph then.
func GraphUnreadable(gaps []snapshot.Gap, targets []Target) bool {
	failed := map[string]bool{}
	for _, g := range gaps {
		switch g.What {
		case snapshot.EntraGraphPermissions:
			failed[""] = true
		case snapshot.EntraApplication:
			failed[g.Integration] = true
		}
	}
	if !failed[""] {
		return false
	}
	for _, t := range targets {
		if !failed[t.Name] {
			return false
		}
	}
	return true
}

func (s *Source) groupLookups(ids []string) *groupLookup {
	l := &groupLookup{res: GroupsResult{Groups: map[string]snapshot.EntraGroup{}}}
	seen := map[string]bool{}
	for _, id := range ids {
		key := strings.ToLower(strings.TrimSpace(id))
		if seen[key] {
			continue
		}
		seen[key] = true
		if !guidPattern.MatchString(key) {
			l.res.Groups[key] = snapshot.EntraGroup{NotGUID: true}
			continue
		}
		info := abs.NewRequestInformation()
		info.Method = abs.GET
		u, err := url.Parse(s.adapter.GetBaseUrl() + "/groups/" + key + "/transitiveMembers/microsoft.graph.user?$count=true&$top=1&$select=id")
		if err != nil {
			l.res.Gaps = append(l.res.Gaps, groupGap(key, err))
			continue
		}
		info.SetUri(*u)
		info.Headers.TryAdd("Accept", "application/json")
		info.Headers.TryAdd("ConsistencyLevel", "eventual")
		l.gets = append(l.gets, &graphGet{info: info})
		l.order = append(l.order, key)
	}
	return l
}

// result interprets the answers once the round has been sent.
func (l *groupLookup) result() GroupsResult {
	res := l.res
	for i, g := range l.gets {
		key := l.order[i]
		if g.err != nil {
			if statusOf(g.err) == 404 {
				res.Groups[key] = snapshot.EntraGroup{}
				continue
			}
			res.Gaps = append(res.Gaps, groupGap(key, g.err))
			continue
		}
		n, err := userCount(g.body)
		if err != nil {
			res.Gaps = append(res.Gaps, groupGap(key, err))
			continue
		}
		res.Groups[key] = snapshot.EntraGroup{Exists: true, UserMembers: n}
	}
	sort.Slice(res.Gaps, func(i, j int) bool { return res.Gaps[i].Error < res.Gaps[j].Error })
	return res
}

func groupGap(id string, err error) snapshot.Gap {
	return snapshot.Gap{Side: snapshot.SideEntra, What: snapshot.EntraGroups,
		Error: fmt.Sprintf("reading the user members of group %s: %s", id, describe(err))}
}

// userCount reads @odata.count from a transitiveMembers page; it must be
// there and a whole number, and value must be an array.
func userCount(body []byte) (int64, error) {
	var page struct {
		// Raw, not json.Number: that would take the string "0" as a
		// count, and a wrong type must be a gap, not "no users".
		Count json.RawMessage  `json:"@odata.count"`
		Value *json.RawMessage `json:"value"`
	}
	if err := decodeObject(body, &page); err != nil {
		return 0, err
	}
	if page.Value == nil || len(*page.Value) == 0 || (*page.Value)[0] != '[' {
		return 0, fmt.Errorf("%w: the members page has no value array", errMalformed)
	}
	if len(page.Count) == 0 {
		return 0, fmt.Errorf("%w: the members page has no @odata.count", errMalformed)
	}
	if c := page.Count[0]; c < '0' || c > '9' {
		return 0, fmt.Errorf("%w: @odata.count is not a count", errMalformed)
	}
	n, err := strconv.ParseInt(string(page.Count), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: @odata.count is not a count", errMalformed)
	}
	return n, nil
}

// retryGate records the latest Retry-After of a throttled Graph answer
// (429 or 503), so a later round does not go out before it.
type retryGate struct {
	mu    sync.Mutex
	until time.Time
}

func (g *retryGate) notBefore() time.Time {
	if g == nil {
		return time.Time{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.until
}

// hold makes every later batch wait d from now (unless already longer).
func (g *retryGate) hold(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until := time.Now().Add(d); until.After(g.until) {
		g.until = until
	}
}

// wait blocks until the gate opens (at most maxRetryAfter) or ctx ends.
func (g *retryGate) wait(ctx context.Context) error {
	d := time.Until(g.notBefore())
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(min(d, maxRetryAfter))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (g *retryGate) wrap(next http.RoundTripper) http.RoundTripper {
	return gateTransport{g, next}
}

type gateTransport struct {
	gate *retryGate
	next http.RoundTripper
}

func (t gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		t.gate.hold(retryAfter(map[string]string{"Retry-After": resp.Header.Get("Retry-After")}, time.Now()))
	}
	return resp, err
}
