package audit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
)

// These tests hold driftd's Graph requests and the simulator's Graph
// answers to Microsoft's published v1.0 metadata: a path, $select or
// $expand name the real Graph does not have would fail there, and an
// answer with a property or enum member the real Graph never sends would
// make the simulator test something that cannot happen (the SDK decodes
// an unknown enum member to nil, silently).

// TestGraphMetaScenarios runs the audit against every simulator scenario,
// also with a page size of 1 so that next-page requests are checked,
// and checks every Graph request and JSON answer.
func TestGraphMetaScenarios(t *testing.T) {
	schema := loadGraphSchema(t)
	// The scenarios demo.Start (and so `driftd demo`) accepts: sim.Healthy
	// and sim.Drifted are all internal/sim defines.
	for _, scenario := range []string{demo.ScenarioHealthy, demo.ScenarioDrifted} {
		for _, pageSize := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/page-size-%d", scenario, pageSize), func(t *testing.T) {
				env, cfg := startSim(t, scenario, sim.Options{PageSize: pageSize})
				rec := recordGraph(t, env, cfg)
				// With attribution, so the directory audit log's query and
				// answers are held to the metadata too.
				res := runGuarded(t, cfg, time.Minute)
				if res == nil {
					t.FailNow()
				}
				r := res.Report
				if len(r.Gaps) != 0 {
					t.Errorf("gaps (the recording proxy must be transparent): %+v", r.Gaps)
				}
				c := &graphChecker{schema: schema}
				for _, ex := range rec.exchanges() {
					c.check(ex)
				}
				if c.requests == 0 || c.responses == 0 {
					t.Fatalf("checked %d requests and %d responses: the recording saw no Graph traffic", c.requests, c.responses)
				}
				if rec.batchCount() == 0 || c.requests <= rec.batchCount() {
					t.Errorf("%d requests from %d $batch envelopes: the items inside batches were not unpacked", c.requests, rec.batchCount())
				}
				t.Logf("checked %d Graph requests (%d $batch envelopes) and %d JSON responses", c.requests, rec.batchCount(), c.responses)
				for _, p := range c.problems {
					t.Error(p)
				}
			})
		}
	}
}

// TestGraphMetaCheckerCatchesMistakes proves the checker is not vacuous:
// each synthetic exchange carries one mistake the metadata rules out.
func TestGraphMetaCheckerCatchesMistakes(t *testing.T) {
	schema := loadGraphSchema(t)
	ok := graphExchange{Method: "GET", URL: "/applications(appId='a')?$select=id,web&$expand=owners($select=id)", Status: 200,
		ContentType: "application/json", Body: []byte(`{"@odata.context":"x","id":"1","web":{"redirectUris":["https://a"]},"owners":[{"@odata.type":"#microsoft.graph.user","id":"2"}]}`)}
	c := &graphChecker{schema: schema}
	c.check(ok)
	if len(c.problems) != 0 || c.requests != 1 || c.responses != 1 {
		t.Fatalf("a correct exchange: %d requests, %d responses, problems %q", c.requests, c.responses, c.problems)
	}

	// Every violation is reported, not only the first.
	c = &graphChecker{schema: schema}
	c.check(syntheticGet("/applications(appId='a')?$select=id,nope", `{"id":"1","a":1,"b":2}`))
	if len(c.problems) != 3 {
		t.Errorf("one wrong $select name and two wrong properties: problems %q, want 3", c.problems)
	}

	jobs := "/servicePrincipals/1/synchronization/jobs"
	cases := []struct {
		name string
		ex   graphExchange
		want string
	}{
		{"$select name", syntheticGet("/applications(appId='a')?$select=id,signinAudience", ""), `$select "signinAudience"`},
		{"$expand name", syntheticGet("/applications(appId='a')?$expand=owner", ""), `$expand "owner"`},
		{"$expand of a structural property", syntheticGet("/applications(appId='a')?$expand=web", ""), `$expand "web"`},
		{"nested $select", syntheticGet("/applications(appId='a')?$expand=owners($select=appId)", ""), `$select "appId"`},
		{"nested option", syntheticGet("/applications(appId='a')?$expand=owners($select=id;$slect=id)", ""), `nested option "$slect"`},
		{"$filter name", syntheticGet("/servicePrincipals?$filter=appid eq 'x'", ""), `$filter "appid"`},
		{"$filter name inside a lambda", syntheticGet("/auditLogs/directoryAudits?$filter=activityDateTime ge 2026-01-02T03:04:05Z and targetResources/any(t:t/idd eq 'x')", ""), `$filter "idd"`},
		{"$filter name beside literals", syntheticGet("/servicePrincipals?$filter=appId eq 'a b' and startswith(displayName,'c') or appOwnerOrganizationId eq e1a7c5b3-9d2f-4a68-8c14-7b3e0d6f2a84 or accountEnable eq true", ""), `$filter "accountEnable"`},
		{"path segment", syntheticGet("/servicePrincipals(appId='a')/oauth2Grants", ""), `"oauth2Grants"`},
		{"alternate key", syntheticGet("/applications(clientId='a')", ""), `alternate key "clientId"`},
		{"cast to a type that is no directoryObject", syntheticGet("/groups/1/transitiveMembers/microsoft.graph.subscribedSku", ""), "microsoft.graph.subscribedSku"},
		{"unknown entity set", syntheticGet("/application", ""), `"application"`},
		{"response property", syntheticGet("/applications(appId='a')", `{"id":"1","signinAudience":"AzureADMyOrg"}`), "$.signinAudience"},
		{"nested response property", syntheticGet("/applications(appId='a')", `{"web":{"redirectUri":"x"}}`), "$.web.redirectUri"},
		{"enum member case", syntheticGet(jobs, `{"value":[{"id":"j","status":{"code":"active"}}]}`), `$.value[0].status.code: "active"`},
		{"flags enum member", syntheticGet(jobs+"/j/schema", `{"synchronizationRules":[{"objectMappings":[{"flowTypes":"Add,Change"}]}]}`), `"Change"`},
		{"@odata.type outside the declared type", syntheticGet("/groups/1/transitiveMembers/microsoft.graph.user", `{"value":[{"@odata.type":"#microsoft.graph.group","id":"1"}]}`), "microsoft.graph.group"},
		{"property not selected", syntheticGet("/servicePrincipals(appId='a')?$select=id,appId", `{"id":"1","appId":"a","displayName":"x"}`), "$.displayName"},
		{"expanded property not selected", syntheticGet("/applications(appId='a')?$select=id&$expand=owners($select=id)", `{"id":"1","owners":[{"id":"2","deletedDateTime":null}]}`), "$.owners[0].deletedDateTime"},
		{"null for a non-nullable property", syntheticGet(jobs, `{"value":[{"status":{"code":null}}]}`), "$.value[0].status.code: null"},
		{"primitive type", syntheticGet("/servicePrincipals(appId='a')", `{"accountEnabled":"true"}`), "$.accountEnabled"},
		{"Duration value", syntheticGet(jobs, `{"value":[{"schedule":{"interval":"40m"}}]}`), "$.value[0].schedule.interval"},
		{"Guid value", syntheticGet("/subscribedSkus", `{"value":[{"skuId":"not-a-guid"}]}`), "$.value[0].skuId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &graphChecker{schema: schema}
			c.check(tc.ex)
			if len(c.problems) != 1 || !strings.Contains(c.problems[0], tc.want) {
				t.Errorf("%s: problems %q, want exactly one, naming %s", tc.ex.URL, c.problems, tc.want)
			}
		})
	}
}

// syntheticGet is a synthetic GET exchange; an empty body is a request only.
func syntheticGet(u, body string) graphExchange {
	ex := graphExchange{Method: "GET", URL: u, Status: 200, ContentType: "application/json"}
	if body != "" {
		ex.Body = []byte(body)
	}
	return ex
}

// ---- Recording what driftd sends and the simulator answers -----------------

// graphExchange is one Graph request and its answer: a top-level request
// or one item of a $batch. URL is relative to the version, e.g.
// "/applications(appId='…')?$select=…".
type graphExchange struct {
	Method      string
	URL         string
	Status      int
	ContentType string
	Body        []byte
}

// graphRecorder is a TLS reverse proxy between driftd and the simulated
// Graph. driftd's config points at it, so every request takes the
// production code path; the simulator needs no hook. It unpacks $batch
// envelopes into their items.
type graphRecorder struct {
	upstream string // the simulator's Graph origin
	self     string // the proxy's origin
	client   *http.Client

	mu      sync.Mutex
	items   []graphExchange
	batches int
}

// recordGraph starts the proxy and points cfg's graph_url at it. The
// CA bundle gains the proxy's certificate next to the simulator's CA.
func recordGraph(t *testing.T, env *demo.Environment, cfg *config.Config) *graphRecorder {
	t.Helper()
	client := env.Server.HTTPClient()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	rec := &graphRecorder{upstream: strings.TrimSuffix(env.Server.GraphURL(), "/v1.0"), client: client}
	proxy := httptest.NewUnstartedServer(rec)
	proxy.StartTLS()
	t.Cleanup(proxy.Close)
	rec.self = proxy.URL

	bundle := append(env.Server.CACertPEM(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Certificate().Raw})...)
	caFile := filepath.Join(t.TempDir(), "graph-proxy-ca.pem")
	if err := os.WriteFile(caFile, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Entra.CAFile = caFile
	cfg.Entra.GraphURL = proxy.URL + "/v1.0"
	return rec
}

// ServeHTTP forwards a request to the simulator, records it with the
// answer, and passes the answer back.
func (rec *graphRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqBody, _ := io.ReadAll(r.Body)
	out, err := http.NewRequestWithContext(r.Context(), r.Method, rec.upstream+r.URL.RequestURI(), bytes.NewReader(reqBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	// Left to the proxy's transport, which then records the answer
	// uncompressed whatever the simulator does.
	out.Header.Del("Accept-Encoding")
	resp, err := rec.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(resp.Body)
	rec.record(r, reqBody, resp, respBody)

	// Next-page links name the simulator; driftd follows links only on
	// its configured Graph origin, which is the proxy.
	respBody = bytes.ReplaceAll(respBody, []byte(rec.upstream), []byte(rec.self))
	for k, vs := range resp.Header {
		if !strings.EqualFold(k, "Content-Length") {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

// record keeps a top-level request, or the items of a $batch (the
// envelope itself addresses no resource).
func (rec *graphRecorder) record(r *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	isBatch := strings.EqualFold(r.URL.Path, "/v1.0/$batch")
	var items []graphExchange
	if isBatch {
		items = batchExchanges(decompressed(r.Header, reqBody), respBody)
	} else {
		items = []graphExchange{{Method: r.Method, URL: strings.TrimPrefix(r.URL.RequestURI(), "/v1.0"),
			Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: respBody}}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if isBatch {
		rec.batches++
	}
	rec.items = append(rec.items, items...)
}

// decompressed undoes the request body compression kiota applies.
func decompressed(h http.Header, body []byte) []byte {
	if !strings.EqualFold(h.Get("Content-Encoding"), "gzip") {
		return body
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return body
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		return body
	}
	return plain
}

// batchExchanges pairs a $batch's request items with its answers by id.
// An item without an answer is still returned, so its URL is checked.
func batchExchanges(reqBody, respBody []byte) []graphExchange {
	var in struct {
		Requests []struct{ ID, Method, URL string } `json:"requests"`
	}
	var out struct {
		Responses []struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		} `json:"responses"`
	}
	_ = json.Unmarshal(reqBody, &in)
	_ = json.Unmarshal(respBody, &out)
	var items []graphExchange
	for _, rq := range in.Requests {
		ex := graphExchange{Method: rq.Method, URL: batchItemURL(rq.URL)}
		for _, rs := range out.Responses {
			if rs.ID == rq.ID {
				ex.Status, ex.Body = rs.Status, rs.Body
				for k, v := range rs.Headers {
					if strings.EqualFold(k, "Content-Type") {
						ex.ContentType = v
					}
				}
			}
		}
		items = append(items, ex)
	}
	return items
}

// batchItemURL makes a $batch item's URL (relative, or absolute on the
// Graph origin) relative to the version.
func batchItemURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.IsAbs() {
		raw = u.RequestURI()
	}
	raw = strings.TrimPrefix(raw, "/v1.0")
	if !strings.HasPrefix(raw, "/") {
		raw = "/" + raw
	}
	return raw
}

func (rec *graphRecorder) exchanges() []graphExchange {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]graphExchange(nil), rec.items...)
}

func (rec *graphRecorder) batchCount() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.batches
}

// ---- Checking a request ----------------------------------------------------

// graphChecker collects every problem found, each naming the request.
type graphChecker struct {
	schema    *edmSchema
	requests  int
	responses int
	problems  []string
}

// edmTarget is what a request path addresses: an entity, complex or
// primitive type, one or a collection; Raw for $count, $value and $ref,
// whose answers are not JSON resources.
type edmTarget struct {
	Type       string
	Collection bool
	Raw        bool
}

func (c *graphChecker) check(ex graphExchange) {
	c.requests++
	label := ex.Method + " " + ex.URL
	u, err := url.Parse(ex.URL)
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s: unparsable URL: %v", label, err))
		return
	}
	target, err := c.resolvePath(u.Path)
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s: path: %v", label, err))
		return
	}
	// OData separates nested options with ';', which url.ParseQuery
	// would take for a (refused) parameter separator.
	query, err := url.ParseQuery(strings.ReplaceAll(u.RawQuery, ";", "%3B"))
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s: query: %v", label, err))
	}
	for _, p := range c.checkQuery(target, query) {
		c.problems = append(c.problems, fmt.Sprintf("%s: query: %s", label, p))
	}
	if ex.Body == nil || ex.Status < 200 || ex.Status > 299 || target.Raw || !strings.HasPrefix(ex.ContentType, "application/json") {
		return
	}
	c.responses++
	for _, p := range c.checkResponse(target, newProjection(query.Get("$select"), query.Get("$expand")), ex.Body) {
		c.problems = append(c.problems, fmt.Sprintf("%s: response %s", label, p))
	}
}

// resolvePath follows the path segment by segment from the entity
// container, the way Graph routes it.
func (c *graphChecker) resolvePath(path string) (edmTarget, error) {
	segs := splitOutside(strings.TrimPrefix(path, "/"), '/')
	if len(segs) == 0 || segs[0] == "" {
		return edmTarget{}, fmt.Errorf("empty path")
	}
	name, args, hasArgs := cutArgs(segs[0])
	var cur edmTarget
	if et, ok := c.schema.entitySets[name]; ok {
		cur = edmTarget{Type: et, Collection: true}
	} else if st, ok := c.schema.singletons[name]; ok {
		cur = edmTarget{Type: st}
	} else {
		return edmTarget{}, fmt.Errorf("segment %q: no entity set or singleton of that name", name)
	}
	var err error
	if hasArgs {
		if cur, err = c.applyKey(cur, name, args); err != nil {
			return edmTarget{}, err
		}
	}
	for _, seg := range segs[1:] {
		if cur, err = c.step(cur, seg); err != nil {
			return edmTarget{}, err
		}
	}
	return cur, nil
}

// step resolves one segment below cur.
func (c *graphChecker) step(cur edmTarget, seg string) (edmTarget, error) {
	name, args, hasArgs := cutArgs(seg)
	switch {
	case cur.Raw:
		return edmTarget{}, fmt.Errorf("segment %q: nothing can follow $count, $value or $ref", seg)
	case name == "$count" && cur.Collection, name == "$ref", name == "$value":
		return edmTarget{Type: cur.Type, Raw: true}, nil
	}
	t := c.schema.types[cur.Type]
	if t == nil {
		return edmTarget{}, fmt.Errorf("segment %q: %s is not a structured type", seg, cur.Type)
	}
	if cast, ok := c.schema.types[name]; ok {
		if !cast.derivesFrom(t) {
			return edmTarget{}, fmt.Errorf("segment %q: %s does not derive from %s", seg, name, t.Name)
		}
		return edmTarget{Type: cast.Name, Collection: cur.Collection}, nil
	}
	opName := strings.TrimPrefix(name, "microsoft.graph.")
	if op, ok := c.schema.boundOperation(opName, t, cur.Collection); ok {
		return edmTarget{Type: op.Return, Collection: op.ReturnCollection, Raw: op.Return == ""}, nil
	}
	if cur.Collection {
		// Key as segment: /servicePrincipals/{id}.
		if hasArgs {
			return edmTarget{}, fmt.Errorf("segment %q: not a key, derived type or bound operation of Collection(%s)", seg, t.Name)
		}
		return edmTarget{Type: cur.Type}, nil
	}
	p, ok := t.prop(name)
	if !ok {
		return edmTarget{}, fmt.Errorf("segment %q: %s has no property, navigation property, derived type or bound operation of that name", seg, t.Name)
	}
	next := edmTarget{Type: p.Type, Collection: p.Collection}
	if hasArgs {
		return c.applyKey(next, name, args)
	}
	return next, nil
}

// applyKey applies a key in parentheses: ('id') or an alternate key
// (appId='…'), which must be declared on the type.
func (c *graphChecker) applyKey(cur edmTarget, seg, args string) (edmTarget, error) {
	if !cur.Collection {
		return edmTarget{}, fmt.Errorf("segment %q: a key on a single %s", seg, cur.Type)
	}
	t := c.schema.types[cur.Type]
	if alias, value, named := strings.Cut(args, "="); named {
		if t == nil || !t.altKey(strings.TrimSpace(alias)) {
			return edmTarget{}, fmt.Errorf("segment %q: alternate key %q is not declared on %s", seg, alias, cur.Type)
		}
		args = value
	}
	if v := strings.TrimSpace(args); v == "" || strings.HasPrefix(v, "'") != strings.HasSuffix(v, "'") {
		return edmTarget{}, fmt.Errorf("segment %q: malformed key %q", seg, args)
	}
	return edmTarget{Type: cur.Type}, nil
}

// cutArgs splits "name(args)" into its parts.
func cutArgs(seg string) (name, args string, ok bool) {
	open := strings.IndexByte(seg, '(')
	if open < 0 || !strings.HasSuffix(seg, ")") {
		return seg, "", false
	}
	return seg[:open], seg[open+1 : len(seg)-1], true
}

// splitOutside splits s at sep where sep is outside quotes and
// parentheses, as in "owners($select=id,displayName),manager".
func splitOutside(s string, sep byte) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\'':
			quoted = !quoted
		case quoted:
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case ch == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// systemOption reports whether k is an OData system query option Graph
// accepts and, where a check is cheap, whether v is a valid value for it.
func systemOption(k, v string) (known, valid bool) {
	switch k {
	case "$select", "$expand", "$filter", "$orderby", "$search", "$skiptoken", "$deltatoken", "$format":
		return true, true
	case "$top", "$skip":
		n, err := strconv.Atoi(v)
		return true, err == nil && n >= 0
	case "$count":
		return true, v == "true" || v == "false"
	}
	return false, false
}

// checkQuery checks the query options against the addressed type.
func (c *graphChecker) checkQuery(target edmTarget, q url.Values) []string {
	var problems []string
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range q[k] {
			switch known, valid := systemOption(k, v); {
			case !known:
				problems = append(problems, fmt.Sprintf("%q is not an OData system query option Graph accepts", k))
			case !valid:
				problems = append(problems, fmt.Sprintf("%s=%q: invalid value", k, v))
			}
		}
	}
	t := c.schema.types[target.Type]
	if t == nil {
		if q.Has("$select") || q.Has("$expand") || q.Has("$filter") || q.Has("$orderby") {
			problems = append(problems, fmt.Sprintf("$select/$expand/$filter/$orderby on %s, which has no properties", target.Type))
		}
		return problems
	}
	return append(problems, c.checkOptions(t, q.Get("$select"), q.Get("$expand"), q.Get("$filter"), q.Get("$orderby"))...)
}

// checkOptions checks $select, $expand, $filter and $orderby against t;
// it recurses into the options nested in $expand, e.g. owners($select=id).
func (c *graphChecker) checkOptions(t *edmType, sel, expand, filter, orderby string) []string {
	var problems []string
	for _, name := range nonEmpty(splitOutside(sel, ',')) {
		if _, ok := t.prop(name); !ok && name != "*" {
			problems = append(problems, fmt.Sprintf("$select %q: no property or navigation property of that name on %s", name, t.Name))
		}
	}
	for _, item := range nonEmpty(splitOutside(expand, ',')) {
		problems = append(problems, c.checkExpand(t, item)...)
	}
	for _, name := range filterNames(filter) {
		problems = append(problems, c.checkPropertyPath("$filter", t, name)...)
	}
	for _, item := range nonEmpty(splitOutside(orderby, ',')) {
		name, _, _ := strings.Cut(item, " ")
		problems = append(problems, c.checkPropertyPath("$orderby", t, name)...)
	}
	return problems
}

// expandItem splits one $expand item, "nav" or "nav(opt=…;opt=…)", into
// the navigation property and its nested options.
func expandItem(item string) (name string, opts map[string]string) {
	name, args, _ := cutArgs(item)
	opts = map[string]string{}
	for _, o := range nonEmpty(splitOutside(args, ';')) {
		k, v, _ := strings.Cut(o, "=")
		opts[strings.TrimSpace(k)] = v
	}
	return name, opts
}

// checkExpand checks one $expand item and its nested options.
func (c *graphChecker) checkExpand(t *edmType, item string) []string {
	name, opts := expandItem(item)
	p, ok := t.prop(name)
	if !ok || !p.Nav {
		return []string{fmt.Sprintf("$expand %q: no navigation property of that name on %s", name, t.Name)}
	}
	target := c.schema.types[p.Type]
	var problems []string
	for _, k := range sortedKeys(opts) {
		if known, _ := systemOption(k, opts[k]); !known {
			problems = append(problems, fmt.Sprintf("$expand %q: nested option %q is not an OData system query option", name, k))
		}
	}
	for _, p := range c.checkOptions(target, opts["$select"], opts["$expand"], opts["$filter"], opts["$orderby"]) {
		problems = append(problems, fmt.Sprintf("$expand %q: %s", name, p))
	}
	return problems
}

// checkPropertyPath checks a property path such as "web/redirectUris".
func (c *graphChecker) checkPropertyPath(option string, t *edmType, path string) []string {
	cur := t
	for _, name := range strings.Split(path, "/") {
		if cur == nil {
			return []string{fmt.Sprintf("%s %q: %q is below a primitive property", option, path, name)}
		}
		p, ok := cur.prop(name)
		if !ok {
			return []string{fmt.Sprintf("%s %q: no property of that name on %s", option, name, cur.Name)}
		}
		cur = c.schema.types[p.Type]
	}
	return nil
}

// filterNames extracts the property paths a $filter names: the words that
// are not operators, literals or function calls. A lambda,
// path/any(v: v/sub …), names path, and each v/sub inside names
// path/sub (a property of path's element type).
func filterNames(filter string) []string {
	// Quoted strings, bare GUIDs and DateTimeOffset values are literals,
	// whatever they contain.
	literal := regexp.MustCompile(`'(?:[^']|'')*'|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b|` +
		`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})`)
	lambda := regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_/]*)/(?:any|all)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*:`)
	word := regexp.MustCompile(`[A-Za-z_$][A-Za-z0-9_./$]*(\s*\()?`)
	text := literal.ReplaceAllString(filter, "''")
	vars := map[string]string{} // lambda variable → the collection it ranges over
	var out []string
	for _, m := range lambda.FindAllStringSubmatch(text, -1) {
		vars[m[2]] = m[1]
		out = append(out, m[1])
	}
	text = lambda.ReplaceAllString(text, "(")
	for _, w := range word.FindAllString(text, -1) {
		if strings.HasSuffix(w, "(") || isFilterKeyword(w) {
			continue
		}
		head, rest, _ := strings.Cut(w, "/")
		if coll, ok := vars[head]; ok {
			if rest != "" {
				out = append(out, coll+"/"+rest)
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// isFilterKeyword reports whether w is a $filter operator or literal.
func isFilterKeyword(w string) bool {
	switch w {
	case "eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "has", "in", "add", "sub", "true", "false", "null":
		return true
	}
	return false
}

func nonEmpty(items []string) []string {
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ---- Checking a response ---------------------------------------------------

// responseWalk collects the problems of one response body.
type responseWalk struct {
	schema   *edmSchema
	problems []string
}

// projection is what a request's $select and $expand let an answer
// hold: a Graph answer to $select has the selected properties (and the
// key) only, so a simulator that sent more would hide a property driftd
// reads but forgot to select. names is nil when everything may appear.
type projection struct {
	names  map[string]bool
	nested map[string]*projection // by expanded navigation property
}

func newProjection(sel, expand string) *projection {
	p := &projection{nested: map[string]*projection{}}
	if names := nonEmpty(splitOutside(sel, ',')); len(names) > 0 && !slices.Contains(names, "*") {
		p.names = map[string]bool{"id": true}
		for _, n := range names {
			p.names[n] = true
		}
	}
	for _, item := range nonEmpty(splitOutside(expand, ',')) {
		name, opts := expandItem(item)
		p.nested[name] = newProjection(opts["$select"], opts["$expand"])
		if p.names != nil {
			p.names[name] = true
		}
	}
	return p
}

// allows reports whether an answer may hold property name.
func (p *projection) allows(name string) bool {
	return p == nil || p.names == nil || p.names[name]
}

// child is the projection of an expanded navigation property; nil (no
// limit) below anything else.
func (p *projection) child(name string) *projection {
	if p == nil {
		return nil
	}
	return p.nested[name]
}

// checkResponse walks a JSON answer: a collection page's value array, or
// a single resource.
func (c *graphChecker) checkResponse(target edmTarget, proj *projection, body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{fmt.Sprintf("$: not JSON: %v", err)}
	}
	w := &responseWalk{schema: c.schema}
	if !target.Collection {
		w.value("$", target.Type, false, proj, v)
		return w.problems
	}
	page, ok := v.(map[string]any)
	if !ok {
		return []string{"$: a collection page must be an object"}
	}
	for _, k := range sortedKeys(page) {
		switch {
		case k == "value":
			w.value("$.value", target.Type, true, proj, page[k])
		case !strings.HasPrefix(k, "@odata."):
			w.fail("$."+k, "a collection page has only value and @odata.* annotations")
		}
	}
	if _, ok := page["value"]; !ok {
		w.fail("$", "a collection page has no value array")
	}
	return w.problems
}

func (w *responseWalk) fail(path, format string, args ...any) {
	w.problems = append(w.problems, path+": "+fmt.Sprintf(format, args...))
}

// value checks v against a declared type: a collection's elements, a
// primitive, an enum member or a structured object (whose members proj
// limits).
func (w *responseWalk) value(path, typeName string, collection bool, proj *projection, v any) {
	if v == nil {
		return // object checks Nullable, which it knows from the property
	}
	if collection {
		list, ok := v.([]any)
		if !ok {
			w.fail(path, "want an array of %s, got %T", typeName, v)
			return
		}
		for i, el := range list {
			w.value(fmt.Sprintf("%s[%d]", path, i), typeName, false, proj, el)
		}
		return
	}
	if strings.HasPrefix(typeName, "Edm.") {
		w.primitive(path, typeName, v)
		return
	}
	if enum, ok := w.schema.enums[typeName]; ok {
		w.enum(path, enum, v)
		return
	}
	t, ok := w.schema.types[typeName]
	if !ok {
		w.fail(path, "type %s is not in the metadata", typeName)
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		w.fail(path, "want a %s object, got %T", typeName, v)
		return
	}
	w.object(path, t, proj, obj)
}

// object checks each member of obj against t, or against the derived
// type its @odata.type names.
func (w *responseWalk) object(path string, t *edmType, proj *projection, obj map[string]any) {
	if raw, ok := obj["@odata.type"]; ok {
		name, _ := raw.(string)
		derived := w.schema.types[strings.TrimPrefix(name, "#")]
		switch {
		case derived == nil:
			w.fail(path+".@odata.type", "%q is not a type in the metadata", name)
		case !derived.derivesFrom(t):
			w.fail(path+".@odata.type", "%q does not derive from the declared %s", name, t.Name)
		default:
			t = derived
		}
	}
	for _, k := range sortedKeys(obj) {
		if prop, annotation, ok := strings.Cut(k, "@"); ok {
			// Instance annotations: "@odata.context", "owners@odata.nextLink".
			if _, known := t.prop(prop); (prop != "" && !known) || !strings.HasPrefix(annotation, "odata.") {
				w.fail(path+"."+k, "not an @odata annotation of a property of %s", t.Name)
			}
			continue
		}
		p, ok := t.prop(k)
		if !ok {
			if !(t.Open && strings.HasPrefix(k, "extension_")) {
				w.fail(path+"."+k, "no property of that name on %s or its base types", t.Name)
			}
			continue
		}
		if !proj.allows(k) {
			w.fail(path+"."+k, "not selected by the request's $select, so Graph would not send it")
		}
		if obj[k] == nil && p.NotNull {
			w.fail(path+"."+k, "null, but %s declares it Nullable=\"false\"", t.Name)
		}
		w.value(path+"."+k, p.Type, p.Collection, proj.child(k), obj[k])
	}
}

// enum checks a member name, or a comma-separated list for a flags enum.
// Graph's members are case-sensitive.
func (w *responseWalk) enum(path string, e *edmEnum, v any) {
	s, ok := v.(string)
	if !ok {
		w.fail(path, "want a %s member name, got %T", e.Name, v)
		return
	}
	names := []string{s}
	if e.Flags {
		names = strings.Split(s, ",")
	}
	for _, n := range names {
		if !e.Members[strings.TrimSpace(n)] {
			w.fail(path, "%q is not a member of %s (members: %s)", n, e.Name, strings.Join(sortedKeys(e.Members), ", "))
		}
	}
}

// primitive checks the JSON form of an Edm primitive, as the SDK's
// parse nodes read it (IEEE754Compatible=false: Int64 is a number).
func (w *responseWalk) primitive(path, typeName string, v any) {
	s, isString := v.(string)
	n, isNumber := v.(json.Number)
	bad := func() { w.fail(path, "%v (%T) is not a valid %s", v, v, typeName) }
	switch typeName {
	case "Edm.String", "Edm.TimeOfDay":
		if !isString {
			bad()
		}
	case "Edm.Date":
		if _, err := time.Parse(time.DateOnly, s); !isString || err != nil {
			bad()
		}
	case "Edm.Duration": // ISO 8601, e.g. "PT40M"
		if !isString || !strings.HasPrefix(strings.TrimPrefix(s, "-"), "P") {
			bad()
		}
	case "Edm.Guid":
		if !isString || !isGUID(s) {
			bad()
		}
	case "Edm.DateTimeOffset":
		if _, err := time.Parse(time.RFC3339Nano, s); !isString || err != nil {
			bad()
		}
	case "Edm.Binary":
		if _, err := base64.StdEncoding.DecodeString(s); !isString || err != nil {
			bad()
		}
	case "Edm.Boolean":
		if _, ok := v.(bool); !ok {
			bad()
		}
	case "Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32", "Edm.Int64":
		if _, err := n.Int64(); !isNumber || err != nil {
			bad()
		}
	case "Edm.Double", "Edm.Single", "Edm.Decimal":
		if !isNumber && s != "NaN" && s != "INF" && s != "-INF" {
			bad()
		}
	}
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, ch := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if ch != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", ch):
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
