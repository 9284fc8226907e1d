package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

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

// Read fills the Entra part of snap for every integration in it. Reads that
// do not depend on each other run concurrently; every failure becomes a
// gap in snap, never an error of Read.
func (s *Source) Read(ctx context.Context, snap *snapshot.Snapshot) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex // guards snap.Gaps and the fields written below
	)
	gap := func(integration string, what snapshot.DataKind, err error) {
		mu.Lock()
		defer mu.Unlock()
		snap.Gaps = append(snap.Gaps, snapshot.Gap{Integration: integration, Side: snapshot.SideEntra, What: what, Error: describe(err)})
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		id, perms, err := s.graphPermissions(ctx)
		if err != nil {
			gap("", snapshot.EntraGraphPermissions, err)
			return
		}
		mu.Lock()
		snap.GraphServicePrincipalID, snap.GraphPermissions = id, perms
		mu.Unlock()
	}()

	for i := range snap.Integrations {
		in := &snap.Integrations[i]
		wg.Add(3)
		go func() {
			defer wg.Done()
			app, err := s.application(ctx, in.EntraAppID)
			if err != nil {
				gap(in.Name, snapshot.EntraApplication, err)
				return
			}
			mu.Lock()
			in.Application = app
			mu.Unlock()
		}()
		go func() {
			defer wg.Done()
			sp, grants, err := s.consent(ctx, in.EntraAppID)
			switch {
			case errors.Is(err, errNoServicePrincipal):
				mu.Lock()
				in.ServicePrincipalMissing = true
				in.PermissionGrants = []snapshot.PermissionGrant{}
				mu.Unlock()
			case err != nil && sp == nil:
				gap(in.Name, snapshot.EntraServicePrincipal, err)
				gap(in.Name, snapshot.EntraPermissionGrants, err)
			case err != nil:
				mu.Lock()
				in.ServicePrincipal = sp
				mu.Unlock()
				gap(in.Name, snapshot.EntraPermissionGrants, err)
			default:
				mu.Lock()
				in.ServicePrincipal, in.PermissionGrants = sp, grants
				mu.Unlock()
			}
		}()
		go func() {
			defer wg.Done()
			if in.SCIMAppID == "" {
				return
			}
			prov, err := s.provisioning(ctx, in.SCIMAppID)
			if err != nil {
				gap(in.Name, snapshot.EntraProvisioning, err)
				return
			}
			mu.Lock()
			in.Provisioning = prov
			mu.Unlock()
		}()
	}
	wg.Wait()
}

var errNoServicePrincipal = errors.New("no service principal")

// graphPermissions reads the Microsoft Graph service principal's delegated
// permission names, so permission GUIDs are resolved from the tenant
// itself rather than from a hard-coded table.
func (s *Source) graphPermissions(ctx context.Context) (string, map[string]string, error) {
	appID := MicrosoftGraphAppID
	sp, err := serviceprincipalswithappid.NewServicePrincipalsWithAppIdRequestBuilderInternal(map[string]string{}, s.adapter, &appID).
		Get(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{Select: graphSPSelect},
		})
	if err != nil {
		return "", nil, fmt.Errorf("reading the Microsoft Graph service principal: %w", err)
	}
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

// application reads the app registration Cloudflare signs in with.
func (s *Source) application(ctx context.Context, appID string) (*snapshot.Application, error) {
	app, err := applicationswithappid.NewApplicationsWithAppIdRequestBuilderInternal(map[string]string{}, s.adapter, &appID).
		Get(ctx, &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetRequestConfiguration{
			QueryParameters: &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetQueryParameters{Select: applicationSelect},
		})
	if err != nil {
		if statusOf(err) == 404 {
			return nil, fmt.Errorf("no app registration with Application (client) ID %s in this tenant (deleted, or entra_app_id is wrong)", appID)
		}
		return nil, fmt.Errorf("reading app registration %s: %w", appID, err)
	}
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
	return out, nil
}

// consent reads the app's service principal and its delegated permission
// grants (all pages). A tenant without the service principal has granted
// nothing: that is an observation, reported as errNoServicePrincipal.
func (s *Source) consent(ctx context.Context, appID string) (*snapshot.ServicePrincipal, []snapshot.PermissionGrant, error) {
	sp, err := s.servicePrincipal(ctx, appID)
	if err != nil {
		return nil, nil, err
	}
	grants, err := s.grants(ctx, sp.ID)
	if err != nil {
		return sp, nil, err
	}
	return sp, grants, nil
}

func (s *Source) servicePrincipal(ctx context.Context, appID string) (*snapshot.ServicePrincipal, error) {
	sp, err := serviceprincipalswithappid.NewServicePrincipalsWithAppIdRequestBuilderInternal(map[string]string{}, s.adapter, &appID).
		Get(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{Select: servicePrincipalSelect},
		})
	if err != nil {
		if statusOf(err) == 404 {
			return nil, errNoServicePrincipal
		}
		return nil, fmt.Errorf("reading the service principal of %s: %w", appID, err)
	}
	return &snapshot.ServicePrincipal{
		ID:             str(sp.GetId()),
		AppID:          str(sp.GetAppId()),
		DisplayName:    str(sp.GetDisplayName()),
		AccountEnabled: sp.GetAccountEnabled(),
	}, nil
}

func (s *Source) grants(ctx context.Context, spID string) ([]snapshot.PermissionGrant, error) {
	builder := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, s.adapter).
		ByServicePrincipalId(spID).Oauth2PermissionGrants()
	page, err := builder.Get(ctx, &serviceprincipals.ItemOauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemOauth2PermissionGrantsRequestBuilderGetQueryParameters{Select: grantSelect},
	})
	out := []snapshot.PermissionGrant{}
	for {
		if err != nil {
			return nil, fmt.Errorf("reading delegated permission grants: %w", err)
		}
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
		page, err = builder.WithUrl(*next).Get(ctx, nil)
	}
}

// provisioning reads the SCIM enterprise app, its synchronization jobs
// (all pages) and each job's schema, the schemas concurrently.
func (s *Source) provisioning(ctx context.Context, scimAppID string) (*snapshot.Provisioning, error) {
	sp, err := s.servicePrincipal(ctx, scimAppID)
	if errors.Is(err, errNoServicePrincipal) {
		return nil, fmt.Errorf("no enterprise application with Application ID %s in this tenant (deleted, or scim_app_id is wrong)", scimAppID)
	}
	if err != nil {
		return nil, err
	}
	item := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, s.adapter).ByServicePrincipalId(sp.ID)
	jobsBuilder := item.Synchronization().Jobs()
	page, err := jobsBuilder.Get(ctx, &serviceprincipals.ItemSynchronizationJobsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemSynchronizationJobsRequestBuilderGetQueryParameters{Select: jobSelect},
	})
	var jobs []models.SynchronizationJobable
	for {
		if err != nil {
			return nil, fmt.Errorf("reading synchronization jobs: %w", err)
		}
		jobs = append(jobs, page.GetValue()...)
		next := page.GetOdataNextLink()
		if next == nil || *next == "" {
			break
		}
		page, err = jobsBuilder.WithUrl(*next).Get(ctx, nil)
	}

	out := &snapshot.Provisioning{ServicePrincipalID: sp.ID, DisplayName: sp.DisplayName, Jobs: make([]snapshot.SyncJob, len(jobs))}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		out.Jobs[i] = snapshot.SyncJob{ID: str(job.GetId()), TemplateID: str(job.GetTemplateId()), Mappings: []snapshot.ObjectMapping{}}
		if st := job.GetStatus(); st != nil && st.GetCode() != nil {
			out.Jobs[i].Status = st.GetCode().String()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			schema, err := item.Synchronization().Jobs().BySynchronizationJobId(out.Jobs[i].ID).Schema().Get(ctx, nil)
			if err != nil {
				errs[i] = fmt.Errorf("reading the schema of synchronization job %s: %w", out.Jobs[i].ID, err)
				return
			}
			out.Jobs[i].Mappings = objectMappings(schema)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(out.Jobs, func(a, b int) bool { return out.Jobs[a].ID < out.Jobs[b].ID })
	return out, nil
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
