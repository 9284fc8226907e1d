package entra

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/textsafe"
)

// PermAuditLog is the Graph application permission the directory audit
// log needs.
const PermAuditLog = "AuditLog.Read.All"

// auditSelect: only what attribution keeps.
var auditSelect = []string{"id", "activityDateTime", "activityDisplayName", "initiatedBy", "targetResources", "result"}

// auditIDsPerFilter bounds the target IDs OR-ed into one $filter, keeping
// the URL short; each chunk is one item of the same $batch, so up to 20
// chunks still cost one request.
const auditIDsPerFilter = 10

// auditPageSize is the $top of a directory audit query.
const auditPageSize = 100

// Audit-log text limits: an activity or actor is a short name; a
// property's old and new values can be whole JSON documents.
const (
	maxAuditName     = 256
	maxAuditValue    = 300
	maxModifiedProps = 5
)

// DirectoryAudits reads the Entra directory audit log entries between from
// and to that target any of ids (object IDs), filtered server-side by
// time and target, and returns one Change per (entry, requested target).
// Failed operations changed nothing and are left out. A failure is an
// error naming the permission when Graph refused (403).
func (s *Source) DirectoryAudits(ctx context.Context, ids []string, from, to time.Time) ([]finding.Change, error) {
	wanted := map[string]bool{}
	var unique []string
	for _, id := range ids {
		key := strings.ToLower(strings.TrimSpace(id))
		if key == "" || wanted[key] || !guidPattern.MatchString(key) {
			continue
		}
		wanted[key] = true
		unique = append(unique, key)
	}
	if len(unique) == 0 {
		return nil, nil
	}
	sort.Strings(unique)
	var gets []*graphGet
	for start := 0; start < len(unique); start += auditIDsPerFilter {
		gets = append(gets, s.auditGet(ctx, unique[start:min(start+auditIDsPerFilter, len(unique))], from, to))
	}
	s.getAll(ctx, gets)
	var out []finding.Change
	seen := map[string]bool{}
	for _, g := range gets {
		err := s.pages(ctx, g, func(body []byte) (string, error) {
			changes, next, err := auditPage(body, wanted)
			for _, c := range changes {
				// An entry naming two requested targets in two chunks
				// comes back twice: keep it once per target.
				key := c.Target + "\x00" + c.At.String() + "\x00" + c.Activity + "\x00" + c.Actor
				if !seen[key] {
					seen[key] = true
					out = append(out, c)
				}
			}
			return next, err
		})
		if err != nil {
			if statusOf(err) == 403 {
				return nil, fmt.Errorf("%s missing (reading the directory audit log: %s)", PermAuditLog, describe(err))
			}
			return nil, fmt.Errorf("reading the directory audit log: %s", describe(err))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}

func (s *Source) auditGet(ctx context.Context, ids []string, from, to time.Time) *graphGet {
	terms := make([]string, len(ids))
	for i, id := range ids {
		terms[i] = "targetResources/any(t:t/id eq '" + id + "')"
	}
	filter := fmt.Sprintf("activityDateTime ge %s and activityDateTime le %s and (%s)",
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), strings.Join(terms, " or "))
	top := int32(auditPageSize)
	info, err := auditlogs.NewDirectoryAuditsRequestBuilderInternal(map[string]string{}, s.adapter).
		ToGetRequestInformation(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
			QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{Filter: &filter, Select: auditSelect, Top: &top},
		})
	return &graphGet{info: info, err: err}
}

// Only these parts of a directoryAudit are decoded; additionalDetails,
// correlation IDs and anything else are never read.
type wireAudit struct {
	ID                  string `json:"id"`
	ActivityDateTime    string `json:"activityDateTime"`
	ActivityDisplayName string `json:"activityDisplayName"`
	Result              string `json:"result"`
	InitiatedBy         *struct {
		User *struct {
			ID                string `json:"id"`
			DisplayName       string `json:"displayName"`
			UserPrincipalName string `json:"userPrincipalName"`
			IPAddress         string `json:"ipAddress"`
		} `json:"user"`
		App *struct {
			AppID              string `json:"appId"`
			DisplayName        string `json:"displayName"`
			ServicePrincipalID string `json:"servicePrincipalId"`
		} `json:"app"`
	} `json:"initiatedBy"`
	TargetResources *[]*struct {
		ID                 string `json:"id"`
		ModifiedProperties []*struct {
			DisplayName string `json:"displayName"`
			OldValue    string `json:"oldValue"`
			NewValue    string `json:"newValue"`
		} `json:"modifiedProperties"`
	} `json:"targetResources"`
}

// auditPage converts one page of directory audits into the Changes of
// the wanted targets. An entry without a time, an initiator or a target
// list is a broken answer: the whole page fails rather than an entry
// being dropped or misattributed.
func auditPage(body []byte, wanted map[string]bool) ([]finding.Change, string, error) {
	var w wirePage[wireAudit]
	if err := decodeObject(body, &w); err != nil {
		return nil, "", err
	}
	entries, err := required("value", w.Value)
	if err != nil {
		return nil, "", err
	}
	var out []finding.Change
	for _, e := range entries {
		at, err := time.Parse(time.RFC3339Nano, e.ActivityDateTime)
		if err != nil {
			return nil, "", fmt.Errorf("%w: a directory audit entry has no valid activityDateTime", errMalformed)
		}
		if e.InitiatedBy == nil || e.TargetResources == nil {
			return nil, "", fmt.Errorf("%w: a directory audit entry has no initiatedBy or targetResources", errMalformed)
		}
		if !strings.EqualFold(e.Result, "success") {
			continue
		}
		c := finding.Change{Source: snapshot.SideEntra, At: at.UTC(), Activity: textsafe.Clip(e.ActivityDisplayName, maxAuditName)}
		switch by := e.InitiatedBy; {
		case by.User != nil && (by.User.UserPrincipalName != "" || by.User.ID != ""):
			c.ActorType = finding.ActorUser
			c.Actor = cmp.Or(by.User.UserPrincipalName, by.User.DisplayName, by.User.ID)
			c.IP = by.User.IPAddress
		case by.App != nil:
			c.ActorType = finding.ActorApp
			c.Actor = cmp.Or(by.App.DisplayName, by.App.AppID, by.App.ServicePrincipalID)
			c.ActorID = cmp.Or(by.App.AppID, by.App.ServicePrincipalID)
		default:
			c.ActorType, c.Actor = finding.ActorUser, "(unknown)"
		}
		c.Actor, c.ActorID, c.IP = textsafe.Clip(c.Actor, maxAuditName), textsafe.Clip(c.ActorID, maxAuditName), textsafe.Clip(c.IP, 64)
		targets, err := elements("targetResources", *e.TargetResources)
		if err != nil {
			return nil, "", err
		}
		for _, t := range targets {
			id := strings.ToLower(t.ID)
			if !wanted[id] {
				continue
			}
			tc := c
			tc.Target = id
			for _, p := range t.ModifiedProperties {
				// "Included Updated Properties" only lists the names of
				// the properties that follow.
				if p == nil || len(tc.Modified) == maxModifiedProps || strings.EqualFold(p.DisplayName, "Included Updated Properties") {
					continue
				}
				tc.Modified = append(tc.Modified, finding.ModifiedProperty{Name: textsafe.Clip(p.DisplayName, maxAuditName),
					Old: textsafe.Clip(p.OldValue, maxAuditValue), New: textsafe.Clip(p.NewValue, maxAuditValue)})
			}
			out = append(out, tc)
		}
	}
	return out, w.NextLink, nil
}
