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

// GroupsResult is what the group lookup observed.
type GroupsResult struct {
	// Groups by lower-case ID; nil when nothing was looked up.
	Groups map[string]snapshot.EntraGroup
	Gaps   []snapshot.Gap
}

// Groups looks up the Entra groups the Cloudflare rules reference (round
// 4): per group, whether it exists and how many users are among its
// transitive members, from
// groups/{id}/transitiveMembers/microsoft.graph.user?$count=true&$top=1&$select=id
// with ConsistencyLevel: eventual. The requests go out 20 per $batch,
// a few batches at a time. A 404 means the group does not exist; any
// other failure is a gap naming that group, and the lookup's checks are
// then not evaluated. An ID that is not a GUID is no group.
func (s *Source) Groups(ctx context.Context, ids []string) GroupsResult {
	res := GroupsResult{Groups: map[string]snapshot.EntraGroup{}}
	seen := map[string]bool{}
	var gets []*graphGet
	var order []string
	for _, id := range ids {
		key := strings.ToLower(strings.TrimSpace(id))
		if seen[key] {
			continue
		}
		seen[key] = true
		if !guidPattern.MatchString(key) {
			res.Groups[key] = snapshot.EntraGroup{NotGUID: true}
			continue
		}
		info := abs.NewRequestInformation()
		info.Method = abs.GET
		u, err := url.Parse(s.adapter.GetBaseUrl() + "/groups/" + key + "/transitiveMembers/microsoft.graph.user?$count=true&$top=1&$select=id")
		if err != nil {
			res.Gaps = append(res.Gaps, groupGap(key, err))
			continue
		}
		info.SetUri(*u)
		info.Headers.TryAdd("Accept", "application/json")
		info.Headers.TryAdd("ConsistencyLevel", "eventual")
		gets = append(gets, &graphGet{info: info})
		order = append(order, key)
	}
	// Graph may have asked, in an earlier round, to wait: getAll's gate
	// holds the lookup back until then.
	s.getAll(ctx, gets)
	for i, g := range gets {
		key := order[i]
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
