package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithappid"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipalswithappid"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/transport"
)

// MicrosoftGraphAppID is the well-known appId of the Microsoft Graph API in
// every tenant.
const MicrosoftGraphAppID = finding.MicrosoftGraphAppID

// Properties requested with $select: only what the checks and the stored
// snapshot use.
var (
	applicationSelect = []string{"id", "appId", "displayName", "web", "spa", "publicClient", "requiredResourceAccess", "passwordCredentials", "keyCredentials",
		"signInAudience", "optionalClaims", "groupMembershipClaims", "api"}
	// applicationExpand reads the owners' object IDs with the application.
	applicationExpand      = []string{"owners($select=id)"}
	servicePrincipalSelect = []string{"id", "appId", "displayName", "accountEnabled"}
	graphSPSelect          = []string{"id", "appId", "oauth2PermissionScopes", "appRoles"}
	// roleAssignmentSelect: the application permissions the sign-in app
	// holds (ENTRA-PERM-003), by role and resource.
	roleAssignmentSelect = []string{"id", "appRoleId", "resourceId", "resourceDisplayName"}
	// assignedToSelect: one assignment is enough to know the SCIM app
	// has any ($top=1).
	assignedToSelect = []string{"id"}
	grantSelect      = []string{"id", "clientId", "consentType", "principalId", "resourceId", "scope"}
	skuSelect        = []string{"skuId", "skuPartNumber", "capabilityStatus", "servicePlans"}
	jobSelect        = []string{"id", "templateId", "schedule", "status"}
)

// Target names what to read for one integration.
type Target struct {
	Name       string // the integration, for gaps
	EntraAppID string
	SCIMAppID  string // "" when the integration has no SCIM app
}

// IntegrationData is what Read observed of one integration's Entra side.
// A field is nil when it could not be read (a gap says why).
type IntegrationData struct {
	Application      *snapshot.Application
	ServicePrincipal *snapshot.ServicePrincipal
	// ServicePrincipalMissing: the app has no enterprise application (a
	// 404, not a failed read), so nothing can have been consented.
	ServicePrincipalMissing bool
	PermissionGrants        []snapshot.PermissionGrant
	AppRoleAssignments      []snapshot.AppRoleAssignment
	Provisioning            *snapshot.Provisioning
}

// Result is what one Read observed: the tenant-wide permission catalog,
// one IntegrationData per target (in the targets' order), and the gaps.
type Result struct {
	GraphServicePrincipalID string
	GraphPermissions        map[string]string
	// GraphRoles maps Microsoft Graph application permission (appRoles)
	// IDs to their values.
	GraphRoles map[string]string
	// PremiumPlans are the enabled Entra ID P1/P2 plans; nil if unread.
	PremiumPlans []string
	// Groups are the groups the Cloudflare rules reference, by lower-case
	// ID; nil when none was looked up.
	Groups       map[string]snapshot.EntraGroup
	Integrations []IntegrationData
	Gaps         []snapshot.Gap
}

// Read reads the Entra side of every target. The
// independent reads go out together as JSON batches, in three rounds
// (objects by appId; their grants and provisioning jobs; the jobs'
// schemas and the groups the Cloudflare rules reference), so a run costs
// a handful of requests whatever the number of integrations. Every
// failure, including an answer that is not what Graph documents, becomes
// a gap, never an error and never "none".
//
// groupIDs delivers the referenced group IDs once the Cloudflare side has
// read its rules (closed or nil: none); see GroupIDsWait.
func (s *Source) Read(ctx context.Context, targets []Target, groupIDs <-chan []string) Result {
	started := time.Now()
	res := Result{Integrations: make([]IntegrationData, len(targets))}
	gap := func(integration string, what snapshot.DataKind, err error) {
		res.Gaps = append(res.Gaps, snapshot.Gap{Integration: integration, Side: snapshot.SideEntra, What: what, Error: describe(err)})
	}

	// Round 1: the Microsoft Graph permission catalog, and per
	// integration the app, its service principal and the SCIM app's.
	graphSP := s.servicePrincipalGet(ctx, MicrosoftGraphAppID, graphSPSelect)
	skus := s.skusGet(ctx)
	round := []*graphGet{graphSP, skus}
	type reads struct{ app, sp, scimSP, grants, roles, jobs, assigned *graphGet }
	per := make([]reads, len(targets))
	for i, t := range targets {
		per[i].app = s.applicationGet(ctx, t.EntraAppID)
		per[i].sp = s.servicePrincipalGet(ctx, t.EntraAppID, servicePrincipalSelect)
		round = append(round, per[i].app, per[i].sp)
		if t.SCIMAppID != "" {
			per[i].scimSP = s.servicePrincipalGet(ctx, t.SCIMAppID, servicePrincipalSelect)
			round = append(round, per[i].scimSP)
		}
	}
	s.getAll(ctx, round)

	if graphSP.err != nil {
		gap("", snapshot.EntraGraphPermissions, fmt.Errorf("reading the Microsoft Graph service principal: %w", graphSP.err))
	} else if cat, err := graphPermissions(graphSP.body); err != nil {
		gap("", snapshot.EntraGraphPermissions, fmt.Errorf("reading the Microsoft Graph service principal: %w", err))
	} else {
		res.GraphServicePrincipalID, res.GraphPermissions, res.GraphRoles = cat.id, cat.scopes, cat.roles
	}

	if plans, err := s.premiumPlans(ctx, skus); err != nil {
		gap("", snapshot.EntraLicenses, fmt.Errorf("reading the tenant's subscribed SKUs: %w", err))
	} else {
		res.PremiumPlans = plans
	}

	// Round 2: grants of each service principal, jobs of each SCIM app.
	round = nil
	for i, t := range targets {
		in := &res.Integrations[i]
		r := &per[i]
		switch {
		case r.app.err != nil && statusOf(r.app.err) == 404:
			gap(t.Name, snapshot.EntraApplication, fmt.Errorf("no app registration with Application (client) ID %s in this tenant (deleted, or entra_app_id is wrong)", t.EntraAppID))
		case r.app.err != nil:
			gap(t.Name, snapshot.EntraApplication, fmt.Errorf("reading app registration %s: %w", t.EntraAppID, r.app.err))
		default:
			app, extra, err := application(r.app.body)
			if err != nil {
				gap(t.Name, snapshot.EntraApplication, fmt.Errorf("reading app registration %s: %w", t.EntraAppID, err))
			} else {
				in.Application = app
				if extra.settings != nil {
					gap(t.Name, snapshot.EntraAppSettings, fmt.Errorf("reading app registration %s: %w", t.EntraAppID, extra.settings))
				}
				if extra.owners != nil {
					gap(t.Name, snapshot.EntraAppOwners, fmt.Errorf("reading the owners of app registration %s: %w", t.EntraAppID, extra.owners))
				}
			}
		}
		var sp *snapshot.ServicePrincipal
		spErr := r.sp.err
		if spErr == nil {
			sp, spErr = servicePrincipal(r.sp.body)
		}
		switch {
		case r.sp.err != nil && statusOf(r.sp.err) == 404:
			// No enterprise application: nothing can have been consented.
			in.ServicePrincipalMissing = true
			in.PermissionGrants = []snapshot.PermissionGrant{}
			in.AppRoleAssignments = []snapshot.AppRoleAssignment{}
		case spErr != nil:
			err := fmt.Errorf("reading the service principal of %s: %w", t.EntraAppID, spErr)
			gap(t.Name, snapshot.EntraServicePrincipal, err)
			gap(t.Name, snapshot.EntraPermissionGrants, err)
			gap(t.Name, snapshot.EntraAppRoleAssignments, err)
		default:
			in.ServicePrincipal = sp
			r.grants = s.grantsGet(ctx, sp.ID)
			r.roles = s.roleAssignmentsGet(ctx, sp.ID)
			round = append(round, r.grants, r.roles)
		}
		if r.scimSP == nil {
			continue
		}
		var scimSP *snapshot.ServicePrincipal
		scimErr := r.scimSP.err
		if scimErr == nil {
			scimSP, scimErr = servicePrincipal(r.scimSP.body)
		}
		switch {
		case r.scimSP.err != nil && statusOf(r.scimSP.err) == 404:
			gap(t.Name, snapshot.EntraProvisioning, fmt.Errorf("no enterprise application with Application ID %s in this tenant (deleted, or scim_app_id is wrong)", t.SCIMAppID))
		case scimErr != nil:
			gap(t.Name, snapshot.EntraProvisioning, fmt.Errorf("reading the service principal of %s: %w", t.SCIMAppID, scimErr))
		default:
			in.Provisioning = &snapshot.Provisioning{ServicePrincipalID: scimSP.ID, DisplayName: scimSP.DisplayName, Jobs: []snapshot.SyncJob{}}
			r.jobs = s.jobsGet(ctx, scimSP.ID)
			r.assigned = s.assignedToGet(ctx, scimSP.ID)
			round = append(round, r.jobs, r.assigned)
		}
	}
	s.getAll(ctx, round)

	// Round 3: the schema of every job, and the referenced groups.
	round = nil
	type schemaRead struct {
		integration int
		job         int
		get         *graphGet
	}
	var schemas []schemaRead
	for i, t := range targets {
		in := &res.Integrations[i]
		r := &per[i]
		if r.grants != nil {
			grants, err := s.grantPages(ctx, r.grants)
			if err != nil {
				gap(t.Name, snapshot.EntraPermissionGrants, fmt.Errorf("reading delegated permission grants: %w", err))
			} else {
				in.PermissionGrants = grants
			}
		}
		if r.roles != nil {
			roles, err := s.roleAssignmentPages(ctx, r.roles)
			if err != nil {
				gap(t.Name, snapshot.EntraAppRoleAssignments, fmt.Errorf("reading the application permissions granted to %s: %w", t.EntraAppID, err))
			} else {
				in.AppRoleAssignments = roles
			}
		}
		if r.jobs == nil {
			continue
		}
		jobs, err := s.jobPages(ctx, r.jobs)
		if err != nil {
			gap(t.Name, snapshot.EntraProvisioning, fmt.Errorf("reading synchronization jobs: %w", err))
			in.Provisioning = nil
			continue
		}
		in.Provisioning.Jobs = jobs
		if err = r.assigned.err; err == nil {
			in.Provisioning.Assigned, err = anyAssigned(r.assigned.body)
		}
		if err != nil {
			gap(t.Name, snapshot.EntraProvisioningAssignments, fmt.Errorf("reading the users and groups assigned to %s: %w", t.SCIMAppID, err))
		}
		for j := range jobs {
			get := s.schemaGet(ctx, in.Provisioning.ServicePrincipalID, jobs[j].ID)
			schemas = append(schemas, schemaRead{integration: i, job: j, get: get})
			round = append(round, get)
		}
	}
	deadline := time.NewTimer(max(GroupIDsWait-time.Since(started), 0))
	defer deadline.Stop()
	groups, late := s.referencedGroups(ctx, groupIDs, deadline.C, res.Gaps, targets)
	if groups != nil {
		round = append(round, groups.gets...)
	}
	s.getAll(ctx, round)
	if late {
		if groups, _ = s.referencedGroups(ctx, groupIDs, nil, res.Gaps, targets); groups != nil {
			s.getAll(ctx, groups.gets)
		}
	}
	if groups != nil {
		g := groups.result()
		res.Groups = g.Groups
		res.Gaps = append(res.Gaps, g.Gaps...)
	}
	failed := map[int]error{}
	for _, sr := range schemas {
		prov := res.Integrations[sr.integration].Provisioning
		if prov == nil {
			continue
		}
		err := sr.get.err
		if err == nil {
			prov.Jobs[sr.job].Mappings, err = objectMappings(sr.get.body)
		}
		if err != nil && failed[sr.integration] == nil {
			failed[sr.integration] = fmt.Errorf("reading the schema of synchronization job %s: %w", prov.Jobs[sr.job].ID, err)
		}
	}
	for i, err := range failed {
		gap(targets[i].Name, snapshot.EntraProvisioning, err)
		res.Integrations[i].Provisioning = nil
	}
	return res
}

func (s *Source) servicePrincipalGet(ctx context.Context, appID string, sel []string) *graphGet {
	info, err := serviceprincipalswithappid.NewServicePrincipalsWithAppIdRequestBuilderInternal(map[string]string{}, s.adapter, &appID).
		ToGetRequestInformation(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{Select: sel},
		})
	return &graphGet{info: info, err: err}
}

func (s *Source) skusGet(ctx context.Context) *graphGet {
	info, err := subscribedskus.NewSubscribedSkusRequestBuilderInternal(map[string]string{}, s.adapter).
		ToGetRequestInformation(ctx, &subscribedskus.SubscribedSkusRequestBuilderGetRequestConfiguration{
			QueryParameters: &subscribedskus.SubscribedSkusRequestBuilderGetQueryParameters{Select: skuSelect},
		})
	return &graphGet{info: info, err: err}
}

// premiumPlans converts the first page of subscribed SKUs and follows the rest.
func (s *Source) premiumPlans(ctx context.Context, first *graphGet) ([]string, error) {
	out := []string{}
	err := s.pages(ctx, first, func(body []byte) (string, error) {
		plans, next, err := premiumPage(body)
		out = append(out, plans...)
		return next, err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

func (s *Source) applicationGet(ctx context.Context, appID string) *graphGet {
	info, err := applicationswithappid.NewApplicationsWithAppIdRequestBuilderInternal(map[string]string{}, s.adapter, &appID).
		ToGetRequestInformation(ctx, &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetRequestConfiguration{
			QueryParameters: &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetQueryParameters{Select: applicationSelect, Expand: applicationExpand},
		})
	return &graphGet{info: info, err: err}
}

func (s *Source) servicePrincipalItem(id string) *serviceprincipals.ServicePrincipalItemRequestBuilder {
	return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, s.adapter).ByServicePrincipalId(id)
}

func (s *Source) grantsGet(ctx context.Context, spID string) *graphGet {
	info, err := s.servicePrincipalItem(spID).Oauth2PermissionGrants().ToGetRequestInformation(ctx, &serviceprincipals.ItemOauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemOauth2PermissionGrantsRequestBuilderGetQueryParameters{Select: grantSelect},
	})
	return &graphGet{info: info, err: err}
}

func (s *Source) jobsGet(ctx context.Context, spID string) *graphGet {
	info, err := s.servicePrincipalItem(spID).Synchronization().Jobs().ToGetRequestInformation(ctx, &serviceprincipals.ItemSynchronizationJobsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemSynchronizationJobsRequestBuilderGetQueryParameters{Select: jobSelect},
	})
	return &graphGet{info: info, err: err}
}

func (s *Source) roleAssignmentsGet(ctx context.Context, spID string) *graphGet {
	info, err := s.servicePrincipalItem(spID).AppRoleAssignments().ToGetRequestInformation(ctx, &serviceprincipals.ItemAppRoleAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemAppRoleAssignmentsRequestBuilderGetQueryParameters{Select: roleAssignmentSelect},
	})
	return &graphGet{info: info, err: err}
}

func (s *Source) assignedToGet(ctx context.Context, spID string) *graphGet {
	top := int32(1)
	info, err := s.servicePrincipalItem(spID).AppRoleAssignedTo().ToGetRequestInformation(ctx, &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetQueryParameters{Select: assignedToSelect, Top: &top},
	})
	return &graphGet{info: info, err: err}
}

func (s *Source) schemaGet(ctx context.Context, spID, jobID string) *graphGet {
	info, err := s.servicePrincipalItem(spID).Synchronization().Jobs().BySynchronizationJobId(jobID).Schema().ToGetRequestInformation(ctx, nil)
	return &graphGet{info: info, err: err}
}

// maxPages bounds the pages driftd follows for one collection. A
// service principal has a handful of grants and a SCIM app one or two
// jobs; a link chain longer than this is a broken or hostile server.
const maxPages = 100

// grantPages converts the first page of grants and follows the rest.
func (s *Source) grantPages(ctx context.Context, first *graphGet) ([]snapshot.PermissionGrant, error) {
	out := []snapshot.PermissionGrant{}
	err := s.pages(ctx, first, func(body []byte) (string, error) {
		grants, next, err := grantsPage(body)
		out = append(out, grants...)
		return next, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// roleAssignmentPages converts the first page of app role assignments
// and follows the rest.
func (s *Source) roleAssignmentPages(ctx context.Context, first *graphGet) ([]snapshot.AppRoleAssignment, error) {
	out := []snapshot.AppRoleAssignment{}
	err := s.pages(ctx, first, func(body []byte) (string, error) {
		page, next, err := roleAssignmentsPage(body)
		out = append(out, page...)
		return next, err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// jobPages converts the first page of synchronization jobs and follows
// the rest.
func (s *Source) jobPages(ctx context.Context, first *graphGet) ([]snapshot.SyncJob, error) {
	out := []snapshot.SyncJob{}
	err := s.pages(ctx, first, func(body []byte) (string, error) {
		jobs, next, err := jobsPage(body)
		out = append(out, jobs...)
		return next, err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// pages hands the first page and every following one to convert, which
// returns the page's @odata.nextLink. A link that leaves the configured
// Graph origin or API version, repeats an earlier page, or goes on past
// maxPages is an error: the collection could not be read.
func (s *Source) pages(ctx context.Context, first *graphGet, convert func([]byte) (string, error)) error {
	if first.err != nil {
		return first.err
	}
	body := first.body
	seen := map[string]bool{}
	for page := 1; ; page++ {
		next, err := convert(body)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		if page == maxPages {
			return fmt.Errorf("the collection goes on past %d pages; giving up", maxPages)
		}
		link, err := s.nextLink(next)
		if err != nil {
			return err
		}
		if seen[link.String()] {
			return errors.New("the next-page link repeats an earlier page")
		}
		seen[link.String()] = true
		if body, err = s.getPage(ctx, link); err != nil {
			return err
		}
	}
}

// nextLink accepts a next-page link only on the configured Graph origin
// and under its API version path: a link elsewhere would be sent the
// access token (the SDK compares host names, not ports) or mix foreign
// data into the audit.
func (s *Source) nextLink(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("%w: the next-page link is not an absolute URL", errMalformed)
	}
	if transport.Origin(u) != s.graphOrigin || !strings.HasPrefix(u.Path, s.graphPath+"/") {
		return nil, fmt.Errorf("the next-page link points to %s, outside the configured Graph endpoint %s; not followed", u.Host, s.graphOrigin)
	}
	return u, nil
}

// statusOf returns the HTTP status of a Graph error, or 0.
func statusOf(err error) int {
	var item *itemError
	if errors.As(err, &item) {
		return item.Status
	}
	var od *odataerrors.ODataError
	if errors.As(err, &od) {
		return od.ResponseStatusCode
	}
	var api *abs.ApiError
	if errors.As(err, &api) {
		return api.ResponseStatusCode
	}
	return 0
}

// describe renders an error for a gap: the Graph status, code and message
// rather than the SDK's generic text.
func describe(err error) string {
	var authErr *azidentity.AuthenticationFailedError
	if errors.As(err, &authErr) {
		return describeAuthError(authErr)
	}
	var od *odataerrors.ODataError
	if errors.As(err, &od) {
		code, msg := "", ""
		if main := od.GetErrorEscaped(); main != nil {
			code, msg = str(main.GetCode()), str(main.GetMessage())
		}
		prefix := strings.TrimSuffix(err.Error(), od.Error())
		return strings.TrimSpace(fmt.Sprintf("%sHTTP %d %s: %s", prefix, od.ResponseStatusCode, code, msg))
	}
	return err.Error()
}

// describeAuthError condenses azidentity's multi-line error (request,
// response dump, troubleshooting link) into Entra's own error description.
func describeAuthError(e *azidentity.AuthenticationFailedError) string {
	if e.RawResponse != nil {
		body, _ := runtime.Payload(e.RawResponse)
		var aad struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &aad) == nil && aad.Error != "" {
			desc, _, _ := strings.Cut(aad.Description, "\r\n")
			desc, _, _ = strings.Cut(desc, "\n")
			return fmt.Sprintf("authentication to Entra ID failed (HTTP %d %s): %s", e.RawResponse.StatusCode, aad.Error, strings.TrimSpace(desc))
		}
		return fmt.Sprintf("authentication to Entra ID failed: HTTP %d", e.RawResponse.StatusCode)
	}
	first, _, _ := strings.Cut(e.Error(), "\n")
	return "authentication to Entra ID failed: " + first
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
