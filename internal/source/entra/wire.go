package entra

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/snapshot"
)

// Graph's JSON is decoded into these types with encoding/json rather than
// the SDK's models: a wrong JSON type is an error here (the SDK's parser
// silently drops an object it finds a string in, so a broken answer would
// read as "no redirect URIs" and raise a false alarm), a null element is
// visible, and each body is parsed once. Property names are Graph v1.0's.
// Collections the metadata declares non-nullable are pointers to slices
// so that an absent or null one is an error rather than "none".

type wireApplication struct {
	ID                     string                     `json:"id"`
	AppID                  string                     `json:"appId"`
	DisplayName            string                     `json:"displayName"`
	Web                    *wireRedirects             `json:"web"`
	Spa                    *wireRedirects             `json:"spa"`
	PublicClient           *wireRedirects             `json:"publicClient"`
	RequiredResourceAccess *[]*wireRequiredAccess     `json:"requiredResourceAccess"`
	PasswordCredentials    *[]*wirePasswordCredential `json:"passwordCredentials"`
	KeyCredentials         *[]*wireKeyCredential      `json:"keyCredentials"`
	// Raw so that an absent collection (not read) differs from an empty one.
	Owners json.RawMessage `json:"owners"`
}

type wireRedirects struct {
	RedirectURIs *[]*string `json:"redirectUris"`
}

type wireImplicitGrant struct {
	ImplicitGrantSettings *struct {
		EnableIDTokenIssuance     *bool `json:"enableIdTokenIssuance"`
		EnableAccessTokenIssuance *bool `json:"enableAccessTokenIssuance"`
	} `json:"implicitGrantSettings"`
}

type wireOptionalClaims struct {
	IDToken *[]*struct {
		Name string `json:"name"`
	} `json:"idToken"`
}

type wireAPI struct {
	AcceptMappedClaims *bool `json:"acceptMappedClaims"`
}

type wireOwner struct {
	ID string `json:"id"`
}

type wireRequiredAccess struct {
	ResourceAppID  string                 `json:"resourceAppId"`
	ResourceAccess *[]*wireResourceAccess `json:"resourceAccess"`
}

type wireResourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type wirePasswordCredential struct {
	KeyID         string     `json:"keyId"`
	DisplayName   string     `json:"displayName"`
	Hint          string     `json:"hint"`
	StartDateTime *time.Time `json:"startDateTime"`
	EndDateTime   *time.Time `json:"endDateTime"`
}

type wireKeyCredential struct {
	KeyID         string     `json:"keyId"`
	DisplayName   string     `json:"displayName"`
	Type          string     `json:"type"`
	Usage         string     `json:"usage"`
	StartDateTime *time.Time `json:"startDateTime"`
	EndDateTime   *time.Time `json:"endDateTime"`
}

type wireServicePrincipal struct {
	ID                     string                  `json:"id"`
	AppID                  string                  `json:"appId"`
	DisplayName            string                  `json:"displayName"`
	AccountEnabled         *bool                   `json:"accountEnabled"`
	OAuth2PermissionScopes *[]*wirePermissionScope `json:"oauth2PermissionScopes"`
	AppRoles               *[]*wirePermissionScope `json:"appRoles"`
}

type wireRoleAssignment struct {
	ID                  string `json:"id"`
	AppRoleID           string `json:"appRoleId"`
	ResourceID          string `json:"resourceId"`
	ResourceDisplayName string `json:"resourceDisplayName"`
}

type wirePermissionScope struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// wirePage is one page of a collection.
type wirePage[T any] struct {
	Value    *[]*T  `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

type wireGrant struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

// wireJob keeps enums as raw strings and timestamps as text: the SDK
// fails the whole job on "currentBegan": "" and turns an enum member it
// does not know into nil, and either would hide a broken job.
type wireJob struct {
	ID         string `json:"id"`
	TemplateID string `json:"templateId"`
	Schedule   *struct {
		State string `json:"state"`
	} `json:"schedule"`
	Status *struct {
		Code                               string             `json:"code"`
		CountSuccessiveCompleteFailures    *int64             `json:"countSuccessiveCompleteFailures"`
		LastExecution                      *wireJobExecution  `json:"lastExecution"`
		LastSuccessfulExecution            *wireJobExecution  `json:"lastSuccessfulExecution"`
		LastSuccessfulExecutionWithExports *wireJobExecution  `json:"lastSuccessfulExecutionWithExports"`
		Quarantine                         *wireJobQuarantine `json:"quarantine"`
	} `json:"status"`
}

type wireJobExecution struct {
	State         string        `json:"state"`
	TimeBegan     string        `json:"timeBegan"`
	TimeEnded     string        `json:"timeEnded"`
	CountEntitled *int64        `json:"countEntitled"`
	CountExported *int64        `json:"countExported"`
	Error         *wireJobError `json:"error"`
}

type wireJobQuarantine struct {
	Reason       string        `json:"reason"`
	CurrentBegan string        `json:"currentBegan"`
	SeriesBegan  string        `json:"seriesBegan"`
	Error        *wireJobError `json:"error"`
}

type wireJobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type wireSchema struct {
	SynchronizationRules []*struct {
		ObjectMappings []*struct {
			Name              string `json:"name"`
			Enabled           *bool  `json:"enabled"`
			SourceObjectName  string `json:"sourceObjectName"`
			TargetObjectName  string `json:"targetObjectName"`
			AttributeMappings []*struct {
				TargetAttributeName string `json:"targetAttributeName"`
				Source              *struct {
					Name       string `json:"name"`
					Expression string `json:"expression"`
					Type       string `json:"type"`
				} `json:"source"`
			} `json:"attributeMappings"`
		} `json:"objectMappings"`
	} `json:"synchronizationRules"`
}

type wireSku struct {
	SkuID            string `json:"skuId"`
	SkuPartNumber    string `json:"skuPartNumber"`
	CapabilityStatus string `json:"capabilityStatus"`
	ServicePlans     *[]*struct {
		ServicePlanID      string `json:"servicePlanId"`
		ServicePlanName    string `json:"servicePlanName"`
		ProvisioningStatus string `json:"provisioningStatus"`
	} `json:"servicePlans"`
}

// Service plan IDs of Microsoft Entra ID P1 and P2, whatever SKU (E3, E5,
// EMS, …) carries them.
const (
	entraP1PlanID = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
	entraP2PlanID = "eec0eb4f-6444-4f95-aba0-50c24d67f998"
)

// premiumPage converts one page of subscribed SKUs into the enabled
// Entra ID P1/P2 plans it holds.
func premiumPage(body []byte) ([]string, string, error) {
	var w wirePage[wireSku]
	if err := decodeObject(body, &w); err != nil {
		return nil, "", err
	}
	skus, err := required("value", w.Value)
	if err != nil {
		return nil, "", err
	}
	var out []string
	for _, sku := range skus {
		plans, err := required("servicePlans", sku.ServicePlans)
		if err != nil {
			return nil, "", err
		}
		if sku.CapabilityStatus != "Enabled" && sku.CapabilityStatus != "Warning" {
			continue
		}
		for _, p := range plans {
			id := strings.ToLower(p.ServicePlanID)
			if (id == entraP1PlanID || id == entraP2PlanID) && p.ProvisioningStatus == "Success" {
				out = append(out, p.ServicePlanName+" via "+sku.SkuPartNumber)
			}
		}
	}
	return out, w.NextLink, nil
}

// errMalformed marks an answer that is not what Graph documents.
var errMalformed = errors.New("malformed Graph response")

// decodeObject decodes a JSON object body into v. Anything but an object
// (null, an array, a string) or a type mismatch is an error.
func decodeObject(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return fmt.Errorf("%w: expected a JSON object, got %s", errMalformed, kindOf(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s", errMalformed, describeJSONError(err))
	}
	return nil
}

// kindOf names the JSON type a body starts with, for error messages.
func kindOf(body []byte) string {
	if len(body) == 0 {
		return "an empty body"
	}
	switch body[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	}
	return "a number or invalid JSON"
}

// describeJSONError keeps encoding/json's error short and free of the
// data itself.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("%s is a JSON %s, not %s", typeErr.Field, typeErr.Value, goTypeName(typeErr.Type.String()))
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)
	}
	var timeErr *time.ParseError
	if errors.As(err, &timeErr) {
		return "a date-time property is not RFC 3339"
	}
	return "cannot decode the body"
}

func goTypeName(t string) string {
	switch {
	case strings.Contains(t, "[]"):
		return "an array"
	case strings.Contains(t, "string"):
		return "a string"
	case strings.Contains(t, "bool"):
		return "a boolean"
	case strings.Contains(t, "time.Time"):
		return "a date-time"
	}
	return "an object"
}

// required returns the elements of a collection Graph never omits nor
// sends as null, refusing a null element: reading past one could turn
// "could not read" into "has none".
func required[T any](name string, p *[]*T) ([]*T, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: %s is missing or null", errMalformed, name)
	}
	return elements(name, *p)
}

// elements refuses a null element of a collection.
func elements[T any](name string, list []*T) ([]*T, error) {
	for _, e := range list {
		if e == nil {
			return nil, fmt.Errorf("%w: %s holds a null element", errMalformed, name)
		}
	}
	return list, nil
}

// redirectURIs reads a nullable web/spa/publicClient object.
func redirectURIs(name string, r *wireRedirects) ([]string, error) {
	if r == nil {
		return nil, nil
	}
	uris, err := required(name+".redirectUris", r.RedirectURIs)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(uris))
	for _, u := range uris {
		out = append(out, *u)
	}
	return out, nil
}

// application converts the app registration Cloudflare signs in with.
// extra says why its settings or owners could not be read while the rest
// could (Settings or Owners is then nil); err is for the whole app.
func application(body []byte) (*snapshot.Application, appExtraErrs, error) {
	var extra appExtraErrs
	var w wireApplication
	if err := decodeObject(body, &w); err != nil {
		return nil, extra, err
	}
	if w.ID == "" || w.AppID == "" {
		return nil, extra, fmt.Errorf("%w: the app registration has no id or appId", errMalformed)
	}
	out := &snapshot.Application{
		ID:                     w.ID,
		AppID:                  w.AppID,
		DisplayName:            w.DisplayName,
		RequiredResourceAccess: []snapshot.RequiredResourceAccess{},
		PasswordCredentials:    []snapshot.Credential{},
		KeyCredentials:         []snapshot.Credential{},
	}
	var err error
	if out.WebRedirectURIs, err = redirectURIs("web", w.Web); err != nil {
		return nil, extra, err
	}
	if out.WebRedirectURIs == nil {
		out.WebRedirectURIs = []string{}
	}
	if out.SPARedirectURIs, err = redirectURIs("spa", w.Spa); err != nil {
		return nil, extra, err
	}
	if out.PublicClientURIs, err = redirectURIs("publicClient", w.PublicClient); err != nil {
		return nil, extra, err
	}
	rras, err := required("requiredResourceAccess", w.RequiredResourceAccess)
	if err != nil {
		return nil, extra, err
	}
	for _, rra := range rras {
		accesses, err := required("requiredResourceAccess.resourceAccess", rra.ResourceAccess)
		if err != nil {
			return nil, extra, err
		}
		r := snapshot.RequiredResourceAccess{ResourceAppID: rra.ResourceAppID, ResourceAccess: []snapshot.ResourceAccess{}}
		for _, ra := range accesses {
			if ra.ID == "" {
				continue
			}
			r.ResourceAccess = append(r.ResourceAccess, snapshot.ResourceAccess{ID: strings.ToLower(ra.ID), Type: ra.Type})
		}
		out.RequiredResourceAccess = append(out.RequiredResourceAccess, r)
	}
	secrets, err := required("passwordCredentials", w.PasswordCredentials)
	if err != nil {
		return nil, extra, err
	}
	for _, pc := range secrets {
		out.PasswordCredentials = append(out.PasswordCredentials, snapshot.Credential{
			KeyID:       strings.ToLower(pc.KeyID),
			DisplayName: pc.DisplayName,
			Hint:        pc.Hint,
			Start:       utc(pc.StartDateTime),
			End:         utc(pc.EndDateTime),
		})
	}
	out.Settings, extra.settings = appSettings(body)
	out.Owners, extra.owners = appOwners(w.Owners)
	certs, err := required("keyCredentials", w.KeyCredentials)
	if err != nil {
		return nil, extra, err
	}
	for _, kc := range certs {
		out.KeyCredentials = append(out.KeyCredentials, snapshot.Credential{
			KeyID:       strings.ToLower(kc.KeyID),
			DisplayName: kc.DisplayName,
			Type:        kc.Type,
			Usage:       kc.Usage,
			Start:       utc(kc.StartDateTime),
			End:         utc(kc.EndDateTime),
		})
	}
	return out, extra, nil
}

// appExtraErrs say why an application's settings or owners could not be
// read.
type appExtraErrs struct{ settings, owners error }

// present reports whether a property was in the answer; null counts.
func present(raw json.RawMessage) bool { return len(raw) > 0 }

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// appSettings reads the sign-in audience, implicit-grant settings and
// claim configuration. A property missing from the answer (an older
// server, a $select that was not honoured) is an error: the settings
// were not observed.
func appSettings(body []byte) (*snapshot.AppSettings, error) {
	var w struct {
		SignInAudience        json.RawMessage `json:"signInAudience"`
		Web                   json.RawMessage `json:"web"`
		OptionalClaims        json.RawMessage `json:"optionalClaims"`
		GroupMembershipClaims json.RawMessage `json:"groupMembershipClaims"`
		API                   json.RawMessage `json:"api"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %s", errMalformed, describeJSONError(err))
	}
	for _, p := range []struct {
		name string
		raw  json.RawMessage
	}{{"signInAudience", w.SignInAudience}, {"web", w.Web}, {"optionalClaims", w.OptionalClaims}, {"groupMembershipClaims", w.GroupMembershipClaims}, {"api", w.API}} {
		if !present(p.raw) {
			return nil, fmt.Errorf("%w: the app registration's %s is missing from the answer", errMalformed, p.name)
		}
	}
	out := &snapshot.AppSettings{}
	if isNull(w.SignInAudience) {
		return nil, fmt.Errorf("%w: the app registration's signInAudience is null", errMalformed)
	}
	if err := json.Unmarshal(w.SignInAudience, &out.SignInAudience); err != nil {
		return nil, fmt.Errorf("%w: the app registration's signInAudience is not a string", errMalformed)
	}
	if !isNull(w.Web) {
		var web wireImplicitGrant
		if err := decodeObject(w.Web, &web); err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		if g := web.ImplicitGrantSettings; g != nil {
			out.ImplicitIDTokens = g.EnableIDTokenIssuance != nil && *g.EnableIDTokenIssuance
			out.ImplicitAccessTokens = g.EnableAccessTokenIssuance != nil && *g.EnableAccessTokenIssuance
		}
	}
	if !isNull(w.OptionalClaims) {
		var oc wireOptionalClaims
		if err := decodeObject(w.OptionalClaims, &oc); err != nil {
			return nil, fmt.Errorf("optionalClaims: %w", err)
		}
		if oc.IDToken != nil {
			claims, err := elements("optionalClaims.idToken", *oc.IDToken)
			if err != nil {
				return nil, err
			}
			for _, c := range claims {
				if c.Name != "" {
					out.OptionalIDTokenClaims = append(out.OptionalIDTokenClaims, c.Name)
				}
			}
		}
	}
	if !isNull(w.GroupMembershipClaims) {
		if err := json.Unmarshal(w.GroupMembershipClaims, &out.GroupMembershipClaims); err != nil {
			return nil, fmt.Errorf("%w: the app registration's groupMembershipClaims is not a string", errMalformed)
		}
	}
	if !isNull(w.API) {
		var api wireAPI
		if err := decodeObject(w.API, &api); err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		out.AcceptMappedClaims = api.AcceptMappedClaims != nil && *api.AcceptMappedClaims
	}
	return out, nil
}

// appOwners reads the expanded owners: a missing or null collection was
// not observed, never "no owners".
func appOwners(raw json.RawMessage) ([]string, error) {
	if !present(raw) || isNull(raw) {
		return nil, fmt.Errorf("%w: the app registration's owners are missing from the answer ($expand=owners)", errMalformed)
	}
	var list []*wireOwner
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%w: owners: %s", errMalformed, describeJSONError(err))
	}
	owners, err := elements("owners", list)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, o := range owners {
		if o.ID == "" {
			return nil, fmt.Errorf("%w: an owner has no id", errMalformed)
		}
		out = append(out, o.ID)
	}
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// servicePrincipal converts an enterprise application.
func servicePrincipal(body []byte) (*snapshot.ServicePrincipal, error) {
	var w wireServicePrincipal
	if err := decodeObject(body, &w); err != nil {
		return nil, err
	}
	if w.ID == "" {
		return nil, fmt.Errorf("%w: the service principal has no id", errMalformed)
	}
	return &snapshot.ServicePrincipal{ID: w.ID, AppID: w.AppID, DisplayName: w.DisplayName, AccountEnabled: w.AccountEnabled}, nil
}

// graphPermissions reads the Microsoft Graph service principal's delegated
// permission names, so permission GUIDs are resolved from the tenant
// itself rather than from a hard-coded table.
// graphCatalog is the Microsoft Graph service principal's object ID and
// its delegated (scopes) and application (roles) permissions by ID.
type graphCatalog struct {
	id            string
	scopes, roles map[string]string
}

func graphPermissions(body []byte) (graphCatalog, error) {
	var w wireServicePrincipal
	if err := decodeObject(body, &w); err != nil {
		return graphCatalog{}, err
	}
	cat := graphCatalog{id: w.ID}
	for _, list := range []struct {
		name  string
		items *[]*wirePermissionScope
		into  *map[string]string
	}{{"oauth2PermissionScopes", w.OAuth2PermissionScopes, &cat.scopes}, {"appRoles", w.AppRoles, &cat.roles}} {
		items, err := required(list.name, list.items)
		if err != nil {
			return graphCatalog{}, err
		}
		byID := map[string]string{}
		for _, p := range items {
			if p.ID != "" && p.Value != "" {
				byID[strings.ToLower(p.ID)] = p.Value
			}
		}
		if len(byID) == 0 {
			return graphCatalog{}, fmt.Errorf("the Microsoft Graph service principal lists no %s", list.name)
		}
		*list.into = byID
	}
	return cat, nil
}

// roleAssignmentsPage converts one page of a service principal's app
// role assignments (the application permissions it holds).
func roleAssignmentsPage(body []byte) ([]snapshot.AppRoleAssignment, string, error) {
	var w wirePage[wireRoleAssignment]
	if err := decodeObject(body, &w); err != nil {
		return nil, "", err
	}
	items, err := required("value", w.Value)
	if err != nil {
		return nil, "", err
	}
	out := make([]snapshot.AppRoleAssignment, 0, len(items))
	for _, a := range items {
		if a.AppRoleID == "" || a.ResourceID == "" {
			return nil, "", fmt.Errorf("%w: an app role assignment has no appRoleId or resourceId", errMalformed)
		}
		out = append(out, snapshot.AppRoleAssignment{ID: a.ID, AppRoleID: strings.ToLower(a.AppRoleID), ResourceID: strings.ToLower(a.ResourceID), ResourceName: a.ResourceDisplayName})
	}
	return out, w.NextLink, nil
}

// anyAssigned reads the first page of appRoleAssignedTo ($top=1): is
// anyone assigned? The rest of the collection is never fetched.
func anyAssigned(body []byte) (*bool, error) {
	var w wirePage[wireOwner]
	if err := decodeObject(body, &w); err != nil {
		return nil, err
	}
	items, err := required("value", w.Value)
	if err != nil {
		return nil, err
	}
	assigned := len(items) > 0
	return &assigned, nil
}

// grantsPage converts one page of delegated permission grants.
func grantsPage(body []byte) ([]snapshot.PermissionGrant, string, error) {
	var w wirePage[wireGrant]
	if err := decodeObject(body, &w); err != nil {
		return nil, "", err
	}
	grants, err := required("value", w.Value)
	if err != nil {
		return nil, "", err
	}
	out := make([]snapshot.PermissionGrant, 0, len(grants))
	for _, g := range grants {
		out = append(out, snapshot.PermissionGrant{
			ID:          g.ID,
			ClientID:    g.ClientID,
			ResourceID:  g.ResourceID,
			ConsentType: g.ConsentType,
			PrincipalID: g.PrincipalID,
			Scope:       g.Scope,
		})
	}
	return out, w.NextLink, nil
}

// jobsPage converts one page of synchronization jobs. A job status whose
// code is empty or unknown is kept as it is: the SDK would fail to decode
// the whole page on an empty timestamp, or turn the code into nil.
func jobsPage(body []byte) ([]snapshot.SyncJob, string, error) {
	var w wirePage[wireJob]
	if err := decodeObject(body, &w); err != nil {
		return nil, "", err
	}
	jobs, err := required("value", w.Value)
	if err != nil {
		return nil, "", err
	}
	out := make([]snapshot.SyncJob, 0, len(jobs))
	for _, job := range jobs {
		if job.ID == "" {
			return nil, "", fmt.Errorf("%w: a synchronization job has no id", errMalformed)
		}
		j := snapshot.SyncJob{ID: job.ID, TemplateID: job.TemplateID, Mappings: []snapshot.ObjectMapping{}}
		if job.Schedule != nil {
			j.ScheduleState = job.Schedule.State
		}
		if st := job.Status; st != nil {
			j.Status = st.Code
			if st.CountSuccessiveCompleteFailures != nil {
				j.SuccessiveFailures = *st.CountSuccessiveCompleteFailures
			}
			j.LastExecution = jobExecution(st.LastExecution)
			j.LastSuccess = jobExecution(st.LastSuccessfulExecution)
			j.LastExport = jobExecution(st.LastSuccessfulExecutionWithExports)
			if q := st.Quarantine; q != nil {
				j.Quarantine = &snapshot.SyncQuarantine{Reason: q.Reason, CurrentBegan: graphTime(q.CurrentBegan), SeriesBegan: graphTime(q.SeriesBegan)}
				j.Quarantine.ErrorCode, j.Quarantine.ErrorMessage = jobError(q.Error)
			}
		}
		out = append(out, j)
	}
	return out, w.NextLink, nil
}

func jobExecution(w *wireJobExecution) *snapshot.SyncExecution {
	if w == nil {
		return nil
	}
	e := &snapshot.SyncExecution{State: w.State, Began: graphTime(w.TimeBegan), Ended: graphTime(w.TimeEnded)}
	if w.CountEntitled != nil {
		e.CountEntitled = *w.CountEntitled
	}
	if w.CountExported != nil {
		e.CountExported = *w.CountExported
	}
	e.ErrorCode, e.ErrorMessage = jobError(w.Error)
	return e
}

func jobError(w *wireJobError) (code, message string) {
	if w == nil {
		return "", ""
	}
	return w.Code, w.Message
}

// graphTime reads a DateTimeOffset a job status carries. Graph sends ""
// or 0001-01-01 for "never"; those, and text that is not a timestamp,
// are nil: unknown, never a time that would make a run look recent.
func graphTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return nil
	}
	t = t.UTC()
	return &t
}

// objectMappings converts a synchronization schema's object mappings.
func objectMappings(body []byte) ([]snapshot.ObjectMapping, error) {
	var w wireSchema
	if err := decodeObject(body, &w); err != nil {
		return nil, err
	}
	rules, err := elements("synchronizationRules", w.SynchronizationRules)
	if err != nil {
		return nil, err
	}
	out := []snapshot.ObjectMapping{}
	for _, rule := range rules {
		oms, err := elements("objectMappings", rule.ObjectMappings)
		if err != nil {
			return nil, err
		}
		for _, om := range oms {
			m := snapshot.ObjectMapping{
				Name:              om.Name,
				Enabled:           om.Enabled == nil || *om.Enabled,
				SourceObjectName:  om.SourceObjectName,
				TargetObjectName:  om.TargetObjectName,
				AttributeMappings: []snapshot.AttributeMapping{},
			}
			ams, err := elements("attributeMappings", om.AttributeMappings)
			if err != nil {
				return nil, err
			}
			for _, am := range ams {
				a := snapshot.AttributeMapping{TargetAttributeName: am.TargetAttributeName}
				if src := am.Source; src != nil {
					a.SourceName, a.SourceExpression, a.SourceType = src.Name, src.Expression, src.Type
				}
				m.AttributeMappings = append(m.AttributeMappings, a)
			}
			out = append(out, m)
		}
	}
	return out, nil
}
