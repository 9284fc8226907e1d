package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithappid"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipalswithappid"

	"github.com/driftd/driftd/internal/snapshot"
)

// MicrosoftGraphAppID is the well-known appId of the Microsoft Graph API in
// every tenant.
const MicrosoftGraphAppID = "00000003-0000-0000-c000-000000000000"

// Properties requested with $select: only what the checks and the stored
// snapshot use.
var (
	applicationSelect      = []string{"id", "appId", "displayName", "web", "spa", "publicClient", "requiredResourceAccess", "passwordCredentials", "keyCredentials"}
	servicePrincipalSelect = []string{"id", "appId", "displayName", "accountEnabled"}
	graphSPSelect          = []string{"id", "appId", "oauth2PermissionScopes"}
	grantSelect            = []string{"id", "clientId", "consentType", "principalId", "resourceId", "scope"}
	jobSelect              = []string{"id", "templateId", "status"}
)

// Read fills the Entra part of snap for every integration in it. The
// independent reads go out together as JSON batches, in three rounds
// (objects by appId; their grants and provisioning jobs; the jobs'
// schemas), so a run costs a handful of requests whatever the number of
// integrations. Every failure becomes a gap in snap, never an error.
func (s *Source) Read(ctx context.Context, snap *snapshot.Snapshot) {
	gap := func(integration string, what snapshot.DataKind, err error) {
		snap.Gaps = append(snap.Gaps, snapshot.Gap{Integration: integration, Side: snapshot.SideEntra, What: what, Error: describe(err)})
	}

	// Round 1: the Microsoft Graph permission catalog, and per
	// integration the app, its service principal and the SCIM app's.
	graphSP := s.servicePrincipalGet(ctx, MicrosoftGraphAppID, graphSPSelect)
	round := []*graphGet{graphSP}
	type reads struct{ app, sp, scimSP, grants, jobs *graphGet }
	per := make([]reads, len(snap.Integrations))
	for i, in := range snap.Integrations {
		per[i].app = s.applicationGet(ctx, in.EntraAppID)
		per[i].sp = s.servicePrincipalGet(ctx, in.EntraAppID, servicePrincipalSelect)
		round = append(round, per[i].app, per[i].sp)
		if in.SCIMAppID != "" {
			per[i].scimSP = s.servicePrincipalGet(ctx, in.SCIMAppID, servicePrincipalSelect)
			round = append(round, per[i].scimSP)
		}
	}
	s.getAll(ctx, round)

	if graphSP.err != nil {
		gap("", snapshot.EntraGraphPermissions, fmt.Errorf("reading the Microsoft Graph service principal: %w", graphSP.err))
	} else if id, perms, err := graphPermissions(graphSP.result.(models.ServicePrincipalable)); err != nil {
		gap("", snapshot.EntraGraphPermissions, err)
	} else {
		snap.GraphServicePrincipalID, snap.GraphPermissions = id, perms
	}

	// Round 2: grants of each service principal, jobs of each SCIM app.
	round = nil
	for i := range snap.Integrations {
		in := &snap.Integrations[i]
		r := &per[i]
		switch {
		case r.app.err != nil && statusOf(r.app.err) == 404:
			gap(in.Name, snapshot.EntraApplication, fmt.Errorf("no app registration with Application (client) ID %s in this tenant (deleted, or entra_app_id is wrong)", in.EntraAppID))
		case r.app.err != nil:
			gap(in.Name, snapshot.EntraApplication, fmt.Errorf("reading app registration %s: %w", in.EntraAppID, r.app.err))
		default:
			in.Application = application(r.app.result.(models.Applicationable))
		}
		switch {
		case r.sp.err != nil && statusOf(r.sp.err) == 404:
			// No enterprise application: nothing can have been consented.
			in.ServicePrincipalMissing = true
			in.PermissionGrants = []snapshot.PermissionGrant{}
		case r.sp.err != nil:
			err := fmt.Errorf("reading the service principal of %s: %w", in.EntraAppID, r.sp.err)
			gap(in.Name, snapshot.EntraServicePrincipal, err)
			gap(in.Name, snapshot.EntraPermissionGrants, err)
		default:
			in.ServicePrincipal = servicePrincipal(r.sp.result.(models.ServicePrincipalable))
			r.grants = s.grantsGet(ctx, in.ServicePrincipal.ID)
			round = append(round, r.grants)
		}
		if r.scimSP == nil {
			continue
		}
		switch {
		case r.scimSP.err != nil && statusOf(r.scimSP.err) == 404:
			gap(in.Name, snapshot.EntraProvisioning, fmt.Errorf("no enterprise application with Application ID %s in this tenant (deleted, or scim_app_id is wrong)", in.SCIMAppID))
		case r.scimSP.err != nil:
			gap(in.Name, snapshot.EntraProvisioning, fmt.Errorf("reading the service principal of %s: %w", in.SCIMAppID, r.scimSP.err))
		default:
			sp := servicePrincipal(r.scimSP.result.(models.ServicePrincipalable))
			in.Provisioning = &snapshot.Provisioning{ServicePrincipalID: sp.ID, DisplayName: sp.DisplayName, Jobs: []snapshot.SyncJob{}}
			r.jobs = s.jobsGet(ctx, sp.ID)
			round = append(round, r.jobs)
		}
	}
	s.getAll(ctx, round)

	// Round 3: the schema of every job.
	round = nil
	type schemaRead struct {
		integration int
		job         int
		get         *graphGet
	}
	var schemas []schemaRead
	for i := range snap.Integrations {
		in := &snap.Integrations[i]
		r := &per[i]
		if r.grants != nil {
			grants, err := s.grantPages(ctx, r.grants)
			if err != nil {
				gap(in.Name, snapshot.EntraPermissionGrants, fmt.Errorf("reading delegated permission grants: %w", err))
			} else {
				in.PermissionGrants = grants
			}
		}
		if r.jobs == nil {
			continue
		}
		jobs, err := s.jobPages(ctx, r.jobs)
		if err != nil {
			gap(in.Name, snapshot.EntraProvisioning, fmt.Errorf("reading synchronization jobs: %w", err))
			in.Provisioning = nil
			continue
		}
		in.Provisioning.Jobs = jobs
		for j := range jobs {
			get := s.schemaGet(ctx, in.Provisioning.ServicePrincipalID, jobs[j].ID)
			schemas = append(schemas, schemaRead{integration: i, job: j, get: get})
			round = append(round, get)
		}
	}
	s.getAll(ctx, round)
	failed := map[int]error{}
	for _, sr := range schemas {
		if sr.get.err != nil {
			if failed[sr.integration] == nil {
				failed[sr.integration] = fmt.Errorf("reading the schema of synchronization job %s: %w", snap.Integrations[sr.integration].Provisioning.Jobs[sr.job].ID, sr.get.err)
			}
			continue
		}
		snap.Integrations[sr.integration].Provisioning.Jobs[sr.job].Mappings = objectMappings(sr.get.result.(models.SynchronizationSchemaable))
	}
	for i, err := range failed {
		gap(snap.Integrations[i].Name, snapshot.EntraProvisioning, err)
		snap.Integrations[i].Provisioning = nil
	}
}

func (s *Source) servicePrincipalGet(ctx context.Context, appID string, sel []string) *graphGet {
	info, err := serviceprincipalswithappid.NewServicePrincipalsWithAppIdRequestBuilderInternal(map[string]string{}, s.adapter, &appID).
		ToGetRequestInformation(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{Select: sel},
		})
	return &graphGet{info: info, err: err, factory: models.CreateServicePrincipalFromDiscriminatorValue}
}

func (s *Source) applicationGet(ctx context.Context, appID string) *graphGet {
	info, err := applicationswithappid.NewApplicationsWithAppIdRequestBuilderInternal(map[string]string{}, s.adapter, &appID).
		ToGetRequestInformation(ctx, &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetRequestConfiguration{
			QueryParameters: &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetQueryParameters{Select: applicationSelect},
		})
	return &graphGet{info: info, err: err, factory: models.CreateApplicationFromDiscriminatorValue}
}

func (s *Source) servicePrincipalItem(id string) *serviceprincipals.ServicePrincipalItemRequestBuilder {
	return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, s.adapter).ByServicePrincipalId(id)
}

func (s *Source) grantsGet(ctx context.Context, spID string) *graphGet {
	info, err := s.servicePrincipalItem(spID).Oauth2PermissionGrants().ToGetRequestInformation(ctx, &serviceprincipals.ItemOauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemOauth2PermissionGrantsRequestBuilderGetQueryParameters{Select: grantSelect},
	})
	return &graphGet{info: info, err: err, factory: models.CreateOAuth2PermissionGrantCollectionResponseFromDiscriminatorValue}
}

func (s *Source) jobsGet(ctx context.Context, spID string) *graphGet {
	info, err := s.servicePrincipalItem(spID).Synchronization().Jobs().ToGetRequestInformation(ctx, &serviceprincipals.ItemSynchronizationJobsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemSynchronizationJobsRequestBuilderGetQueryParameters{Select: jobSelect},
	})
	return &graphGet{info: info, err: err, factory: models.CreateSynchronizationJobCollectionResponseFromDiscriminatorValue}
}

func (s *Source) schemaGet(ctx context.Context, spID, jobID string) *graphGet {
	info, err := s.servicePrincipalItem(spID).Synchronization().Jobs().BySynchronizationJobId(jobID).Schema().ToGetRequestInformation(ctx, nil)
	return &graphGet{info: info, err: err, factory: models.CreateSynchronizationSchemaFromDiscriminatorValue}
}

// grantPages converts the first page of grants and follows @odata.nextLink
// for the rest (rare: an app has a handful of grants).
func (s *Source) grantPages(ctx context.Context, first *graphGet) ([]snapshot.PermissionGrant, error) {
	if first.err != nil {
		return nil, first.err
	}
	page := first.result.(models.OAuth2PermissionGrantCollectionResponseable)
	out := []snapshot.PermissionGrant{}
	for {
		for _, g := range page.GetValue() {
			out = append(out, snapshot.PermissionGrant{
				ID:          str(g.GetId()),
				ClientID:    str(g.GetClientId()),
				ResourceID:  str(g.GetResourceId()),
				ConsentType: str(g.GetConsentType()),
				PrincipalID: str(g.GetPrincipalId()),
				Scope:       str(g.GetScope()),
			})
		}
		next := page.GetOdataNextLink()
		if next == nil || *next == "" {
			return out, nil
		}
		var err error
		page, err = serviceprincipals.NewItemOauth2PermissionGrantsRequestBuilder(*next, s.adapter).Get(ctx, nil)
		if err != nil {
			return nil, err
		}
	}
}

// jobPages converts the first page of synchronization jobs and follows
// @odata.nextLink for the rest.
func (s *Source) jobPages(ctx context.Context, first *graphGet) ([]snapshot.SyncJob, error) {
	if first.err != nil {
		return nil, first.err
	}
	page := first.result.(models.SynchronizationJobCollectionResponseable)
	out := []snapshot.SyncJob{}
	for {
		for _, job := range page.GetValue() {
			j := snapshot.SyncJob{ID: str(job.GetId()), TemplateID: str(job.GetTemplateId()), Mappings: []snapshot.ObjectMapping{}}
			if st := job.GetStatus(); st != nil && st.GetCode() != nil {
				j.Status = st.GetCode().String()
			}
			out = append(out, j)
		}
		next := page.GetOdataNextLink()
		if next == nil || *next == "" {
			break
		}
		var err error
		page, err = serviceprincipals.NewItemSynchronizationJobsRequestBuilder(*next, s.adapter).Get(ctx, nil)
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// graphPermissions reads the Microsoft Graph service principal's delegated
// permission names, so permission GUIDs are resolved from the tenant
// itself rather than from a hard-coded table.
func graphPermissions(sp models.ServicePrincipalable) (string, map[string]string, error) {
	perms := map[string]string{}
	for _, scope := range sp.GetOauth2PermissionScopes() {
		if scope.GetId() != nil && scope.GetValue() != nil {
			perms[scope.GetId().String()] = *scope.GetValue()
		}
	}
	if len(perms) == 0 {
		return "", nil, errors.New("the Microsoft Graph service principal lists no delegated permissions")
	}
	return str(sp.GetId()), perms, nil
}

// application converts the app registration Cloudflare signs in with.
func application(app models.Applicationable) *snapshot.Application {
	out := &snapshot.Application{
		ID:                     str(app.GetId()),
		AppID:                  str(app.GetAppId()),
		DisplayName:            str(app.GetDisplayName()),
		WebRedirectURIs:        []string{},
		RequiredResourceAccess: []snapshot.RequiredResourceAccess{},
		PasswordCredentials:    []snapshot.Credential{},
		KeyCredentials:         []snapshot.Credential{},
	}
	if web := app.GetWeb(); web != nil && web.GetRedirectUris() != nil {
		out.WebRedirectURIs = web.GetRedirectUris()
	}
	if spa := app.GetSpa(); spa != nil {
		out.SPARedirectURIs = spa.GetRedirectUris()
	}
	if pc := app.GetPublicClient(); pc != nil {
		out.PublicClientURIs = pc.GetRedirectUris()
	}
	for _, rra := range app.GetRequiredResourceAccess() {
		r := snapshot.RequiredResourceAccess{ResourceAppID: str(rra.GetResourceAppId()), ResourceAccess: []snapshot.ResourceAccess{}}
		for _, ra := range rra.GetResourceAccess() {
			if ra.GetId() == nil {
				continue
			}
			r.ResourceAccess = append(r.ResourceAccess, snapshot.ResourceAccess{ID: ra.GetId().String(), Type: str(ra.GetTypeEscaped())})
		}
		out.RequiredResourceAccess = append(out.RequiredResourceAccess, r)
	}
	for _, pc := range app.GetPasswordCredentials() {
		out.PasswordCredentials = append(out.PasswordCredentials, snapshot.Credential{
			KeyID:       uuidStr(pc.GetKeyId()),
			DisplayName: str(pc.GetDisplayName()),
			Hint:        str(pc.GetHint()),
			Start:       pc.GetStartDateTime(),
			End:         pc.GetEndDateTime(),
		})
	}
	for _, kc := range app.GetKeyCredentials() {
		out.KeyCredentials = append(out.KeyCredentials, snapshot.Credential{
			KeyID:       uuidStr(kc.GetKeyId()),
			DisplayName: str(kc.GetDisplayName()),
			Type:        str(kc.GetTypeEscaped()),
			Usage:       str(kc.GetUsage()),
			Start:       kc.GetStartDateTime(),
			End:         kc.GetEndDateTime(),
		})
	}
	return out
}

func servicePrincipal(sp models.ServicePrincipalable) *snapshot.ServicePrincipal {
	return &snapshot.ServicePrincipal{
		ID:             str(sp.GetId()),
		AppID:          str(sp.GetAppId()),
		DisplayName:    str(sp.GetDisplayName()),
		AccountEnabled: sp.GetAccountEnabled(),
	}
}

func objectMappings(schema models.SynchronizationSchemaable) []snapshot.ObjectMapping {
	out := []snapshot.ObjectMapping{}
	for _, rule := range schema.GetSynchronizationRules() {
		for _, om := range rule.GetObjectMappings() {
			m := snapshot.ObjectMapping{
				Name:              str(om.GetName()),
				Enabled:           om.GetEnabled() == nil || *om.GetEnabled(),
				SourceObjectName:  str(om.GetSourceObjectName()),
				TargetObjectName:  str(om.GetTargetObjectName()),
				AttributeMappings: []snapshot.AttributeMapping{},
			}
			for _, am := range om.GetAttributeMappings() {
				a := snapshot.AttributeMapping{TargetAttributeName: str(am.GetTargetAttributeName())}
				if src := am.GetSource(); src != nil {
					a.SourceName = str(src.GetName())
					a.SourceExpression = str(src.GetExpression())
					if t := src.GetTypeEscaped(); t != nil {
						a.SourceType = t.String()
					}
				}
				m.AttributeMappings = append(m.AttributeMappings, a)
			}
			out = append(out, m)
		}
	}
	return out
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

type stringer interface{ String() string }

func uuidStr[T stringer](p *T) string {
	if p == nil {
		return ""
	}
	return (*p).String()
}
