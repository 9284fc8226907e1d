// Package sim is a simulated Entra ID tenant and Cloudflare Zero Trust
// account served on loopback over HTTPS. It speaks the real wire formats of
// the Entra ID token endpoint, Microsoft Graph v1.0 and the Cloudflare v4 API
// for everything driftd reads, so the real SDK clients can be pointed at it
// in tests, in `driftd demo` and in benchmarks.
//
// The state is plain data (Tenant). Its types mirror the wire JSON: Graph
// types carry camelCase tags, Cloudflare types snake_case ones, and a
// value's JSON form is what the service returns (the server also renders
// nil slices as [] and times in UTC).
package sim

import (
	"crypto/x509"
	"encoding/json"
	"time"
)

// Tenant is all simulated state: one Entra ID tenant and one Cloudflare
// account, plus the credentials the simulated services accept.
type Tenant struct {
	// TenantID is the Entra directory ID. TenantDomain (the
	// .onmicrosoft.com name) is also accepted in authority URLs.
	TenantID     string
	TenantDomain string
	// AccountID is the Cloudflare account ID; TeamDomain the Zero Trust
	// team domain, e.g. "acme.cloudflareaccess.com".
	AccountID  string
	TeamDomain string

	// AuditorClientID and AuditorClientSecret are driftd's own app
	// registration (client-credentials flow). When AuditorCertificate is
	// set, a client_assertion signed by its key is accepted as well.
	AuditorClientID     string
	AuditorClientSecret string
	AuditorCertificate  *x509.Certificate
	// CloudflareAPIToken is the only bearer token the Cloudflare API accepts.
	CloudflareAPIToken string

	Applications           []Application
	ServicePrincipals      []ServicePrincipal
	OAuth2PermissionGrants []OAuth2PermissionGrant
	// AppRoleAssignments are all app role assignments of the tenant
	// (graph_assignments.go).
	AppRoleAssignments []AppRoleAssignment
	// SubscribedSkus are the tenant's licences (subscribedSkus).
	SubscribedSkus []SubscribedSku
	// SynchronizationJobs is keyed by service principal object ID.
	SynchronizationJobs map[string][]SynchronizationJob

	IdentityProviders []IdentityProvider
	// Organization is the Zero Trust organization; nil means the account
	// has none (the endpoint answers 404).
	Organization *Organization
	// Access and Gateway rules (cloudflare_policies.go).
	// CloudflarePageSize, when positive, caps per_page of the Access
	// policy, application and group lists, so a scenario pages them.
	CloudflarePageSize int
	AccessPolicies     []AccessPolicy
	AccessApplications []AccessApplication
	AccessGroups       []AccessGroup
	GatewayRules       []GatewayRule
	// SCIMUpdateLogs is Cloudflare's Access SCIM update log
	// (cloudflare_scimlog.go).
	SCIMUpdateLogs []SCIMUpdateLog
	// Groups are the tenant's Entra groups (graph_groups.go).
	Groups []Group
	// DirectoryAudits is Entra's directory audit log (graph_audit.go), newest or oldest first: any order.
	DirectoryAudits []DirectoryAudit
	// CloudflareAuditLogs is the Cloudflare account audit log, version 2 (cloudflare_auditlog.go).
	CloudflareAuditLogs []CloudflareAuditLog
}

// ---- Microsoft Graph -------------------------------------------------------

// Application is a Graph application (app registration).
type Application struct {
	ID                     string                   `json:"id"`
	DeletedDateTime        *time.Time               `json:"deletedDateTime"`
	AppID                  string                   `json:"appId"`
	ApplicationTemplateID  *string                  `json:"applicationTemplateId"`
	CreatedDateTime        time.Time                `json:"createdDateTime"`
	DisplayName            string                   `json:"displayName"`
	Description            *string                  `json:"description"`
	SignInAudience         string                   `json:"signInAudience"`
	PublisherDomain        string                   `json:"publisherDomain"`
	IdentifierURIs         []string                 `json:"identifierUris"`
	Tags                   []string                 `json:"tags"`
	Web                    WebApplication           `json:"web"`
	Spa                    SpaApplication           `json:"spa"`
	PublicClient           PublicClientApplication  `json:"publicClient"`
	RequiredResourceAccess []RequiredResourceAccess `json:"requiredResourceAccess"`
	PasswordCredentials    []PasswordCredential     `json:"passwordCredentials"`
	KeyCredentials         []KeyCredential          `json:"keyCredentials"`
	GroupMembershipClaims  *string                  `json:"groupMembershipClaims"`
	OptionalClaims         *OptionalClaims          `json:"optionalClaims"`
	API                    APIApplication           `json:"api"`
	// Owners are the object IDs of the owners (users), served with
	// $expand=owners.
	Owners []string `json:"-"`
}

// SubscribedSku is a commercial subscription of the tenant.
// CapabilityStatus is "Enabled", "Warning", "Suspended", "Deleted" or
// "LockedOut".
type SubscribedSku struct {
	AccountID        string            `json:"accountId"`
	AccountName      string            `json:"accountName"`
	AppliesTo        string            `json:"appliesTo"`
	CapabilityStatus string            `json:"capabilityStatus"`
	ConsumedUnits    int32             `json:"consumedUnits"`
	ID               string            `json:"id"`
	PrepaidUnits     json.RawMessage   `json:"prepaidUnits"`
	ServicePlans     []ServicePlanInfo `json:"servicePlans"`
	SkuID            string            `json:"skuId"`
	SkuPartNumber    string            `json:"skuPartNumber"`
	SubscriptionIDs  []string          `json:"subscriptionIds"`
}

// ServicePlanInfo is one service plan of a SKU; ProvisioningStatus is
// e.g. "Success", "Disabled" or "PendingActivation".
type ServicePlanInfo struct {
	AppliesTo          string `json:"appliesTo"`
	ProvisioningStatus string `json:"provisioningStatus"`
	ServicePlanID      string `json:"servicePlanId"`
	ServicePlanName    string `json:"servicePlanName"`
}

// OptionalClaims of an application's tokens.
type OptionalClaims struct {
	AccessToken []OptionalClaim `json:"accessToken"`
	IDToken     []OptionalClaim `json:"idToken"`
	Saml2Token  []OptionalClaim `json:"saml2Token"`
}

// OptionalClaim is one optional claim; Source is null for a standard one.
type OptionalClaim struct {
	AdditionalProperties []string `json:"additionalProperties"`
	Essential            bool     `json:"essential"`
	Name                 string   `json:"name"`
	Source               *string  `json:"source"`
}

// APIApplication is the "api" settings of an application.
type APIApplication struct {
	AcceptMappedClaims          *bool             `json:"acceptMappedClaims"`
	KnownClientApplications     []string          `json:"knownClientApplications"`
	OAuth2PermissionScopes      []PermissionScope `json:"oauth2PermissionScopes"`
	PreAuthorizedApplications   []json.RawMessage `json:"preAuthorizedApplications"`
	RequestedAccessTokenVersion *int32            `json:"requestedAccessTokenVersion"`
}

// WebApplication is the "web" platform of an application.
type WebApplication struct {
	HomePageURL           *string               `json:"homePageUrl"`
	LogoutURL             *string               `json:"logoutUrl"`
	RedirectURIs          []string              `json:"redirectUris"`
	ImplicitGrantSettings ImplicitGrantSettings `json:"implicitGrantSettings"`
}

// MarshalJSON adds redirectUriSettings, which Graph derives from redirectUris.
func (w WebApplication) MarshalJSON() ([]byte, error) {
	type plain WebApplication
	type setting struct {
		URI   string `json:"uri"`
		Index *int32 `json:"index"`
	}
	settings := make([]setting, 0, len(w.RedirectURIs))
	for _, u := range w.RedirectURIs {
		settings = append(settings, setting{URI: u})
	}
	return marshal(struct {
		plain
		RedirectURISettings []setting `json:"redirectUriSettings"`
	}{plain(w), settings})
}

// ImplicitGrantSettings of the web platform.
type ImplicitGrantSettings struct {
	EnableAccessTokenIssuance bool `json:"enableAccessTokenIssuance"`
	EnableIDTokenIssuance     bool `json:"enableIdTokenIssuance"`
}

// SpaApplication is the single-page-application platform.
type SpaApplication struct {
	RedirectURIs []string `json:"redirectUris"`
}

// PublicClientApplication is the mobile/desktop platform.
type PublicClientApplication struct {
	RedirectURIs []string `json:"redirectUris"`
}

// RequiredResourceAccess is the set of permissions requested on one API.
type RequiredResourceAccess struct {
	ResourceAppID  string           `json:"resourceAppId"`
	ResourceAccess []ResourceAccess `json:"resourceAccess"`
}

// ResourceAccess is one requested permission; Type is "Scope" or "Role".
type ResourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// PasswordCredential is a client secret's metadata. Graph never returns
// the secret itself, so secretText is always null on reads.
type PasswordCredential struct {
	CustomKeyIdentifier *string   `json:"customKeyIdentifier"`
	DisplayName         string    `json:"displayName"`
	EndDateTime         time.Time `json:"endDateTime"`
	Hint                string    `json:"hint"`
	KeyID               string    `json:"keyId"`
	SecretText          *string   `json:"secretText"`
	StartDateTime       time.Time `json:"startDateTime"`
}

// KeyCredential is a certificate's metadata. CustomKeyIdentifier is the
// certificate thumbprint as Graph shows it (base64 of the SHA-1 hash).
type KeyCredential struct {
	CustomKeyIdentifier string    `json:"customKeyIdentifier"`
	DisplayName         string    `json:"displayName"`
	EndDateTime         time.Time `json:"endDateTime"`
	Key                 *string   `json:"key"`
	KeyID               string    `json:"keyId"`
	StartDateTime       time.Time `json:"startDateTime"`
	Type                string    `json:"type"`
	Usage               string    `json:"usage"`
}

// ServicePrincipal is a Graph servicePrincipal (enterprise application).
type ServicePrincipal struct {
	ID                        string               `json:"id"`
	DeletedDateTime           *time.Time           `json:"deletedDateTime"`
	AccountEnabled            bool                 `json:"accountEnabled"`
	AppDisplayName            string               `json:"appDisplayName"`
	AppDescription            *string              `json:"appDescription"`
	AppID                     string               `json:"appId"`
	AppOwnerOrganizationID    string               `json:"appOwnerOrganizationId"`
	AppRoleAssignmentRequired bool                 `json:"appRoleAssignmentRequired"`
	CreatedDateTime           *time.Time           `json:"createdDateTime"`
	Description               *string              `json:"description"`
	DisplayName               string               `json:"displayName"`
	Homepage                  *string              `json:"homepage"`
	LoginURL                  *string              `json:"loginUrl"`
	LogoutURL                 *string              `json:"logoutUrl"`
	Notes                     *string              `json:"notes"`
	PreferredSingleSignOnMode *string              `json:"preferredSingleSignOnMode"`
	ReplyURLs                 []string             `json:"replyUrls"`
	ServicePrincipalNames     []string             `json:"servicePrincipalNames"`
	ServicePrincipalType      string               `json:"servicePrincipalType"`
	SignInAudience            string               `json:"signInAudience"`
	Tags                      []string             `json:"tags"`
	AppRoles                  []AppRole            `json:"appRoles"`
	OAuth2PermissionScopes    []PermissionScope    `json:"oauth2PermissionScopes"`
	KeyCredentials            []KeyCredential      `json:"keyCredentials"`
	PasswordCredentials       []PasswordCredential `json:"passwordCredentials"`
}

// PermissionScope is a delegated permission an API publishes; Type is
// "User" (users may consent) or "Admin" (admin consent required).
type PermissionScope struct {
	AdminConsentDescription string `json:"adminConsentDescription"`
	AdminConsentDisplayName string `json:"adminConsentDisplayName"`
	ID                      string `json:"id"`
	IsEnabled               bool   `json:"isEnabled"`
	Type                    string `json:"type"`
	UserConsentDescription  string `json:"userConsentDescription"`
	UserConsentDisplayName  string `json:"userConsentDisplayName"`
	Value                   string `json:"value"`
}

// AppRole is an application permission (or app role) an API publishes.
type AppRole struct {
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	Description        string   `json:"description"`
	DisplayName        string   `json:"displayName"`
	ID                 string   `json:"id"`
	IsEnabled          bool     `json:"isEnabled"`
	Origin             string   `json:"origin"`
	Value              string   `json:"value"`
}

// OAuth2PermissionGrant is a delegated permission grant. ConsentType is
// "AllPrincipals" (admin consent, PrincipalID empty → null on the wire) or
// "Principal" (one user). Scope is space separated, verbatim.
type OAuth2PermissionGrant struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

// MarshalJSON renders an empty PrincipalID as null, as Graph does.
func (g OAuth2PermissionGrant) MarshalJSON() ([]byte, error) {
	var principal *string
	if g.PrincipalID != "" {
		principal = &g.PrincipalID
	}
	return marshal(struct {
		ClientID    string  `json:"clientId"`
		ConsentType string  `json:"consentType"`
		ID          string  `json:"id"`
		PrincipalID *string `json:"principalId"`
		ResourceID  string  `json:"resourceId"`
		Scope       string  `json:"scope"`
	}{g.ClientID, g.ConsentType, g.ID, principal, g.ResourceID, g.Scope})
}

// SynchronizationJob is a provisioning job of a service principal. Its
// schema is served from .../jobs/{id}/schema, not with the job.
type SynchronizationJob struct {
	ID                         string                  `json:"id"`
	TemplateID                 string                  `json:"templateId"`
	Schedule                   SynchronizationSchedule `json:"schedule"`
	Status                     SynchronizationStatus   `json:"status"`
	SynchronizationJobSettings []KeyValuePair          `json:"synchronizationJobSettings"`
	Schema                     SynchronizationSchema   `json:"-"`
}

// SynchronizationSchedule of a job; State is "Active", "Disabled" or "Paused".
type SynchronizationSchedule struct {
	Expiration *time.Time `json:"expiration"`
	Interval   string     `json:"interval"`
	State      string     `json:"state"`
}

// SynchronizationStatus of a job; Code is "NotConfigured", "NotRun",
// "Active", "Paused" or "Quarantine".
type SynchronizationStatus struct {
	Code                               string                        `json:"code"`
	CountSuccessiveCompleteFailures    int64                         `json:"countSuccessiveCompleteFailures"`
	EscrowsPruned                      bool                          `json:"escrowsPruned"`
	LastExecution                      *SynchronizationTaskExecution `json:"lastExecution"`
	LastSuccessfulExecution            *SynchronizationTaskExecution `json:"lastSuccessfulExecution"`
	LastSuccessfulExecutionWithExports *SynchronizationTaskExecution `json:"lastSuccessfulExecutionWithExports"`
	Progress                           []json.RawMessage             `json:"progress"`
	Quarantine                         *SynchronizationQuarantine    `json:"quarantine"`
	SteadyStateFirstAchievedTime       time.Time                     `json:"steadyStateFirstAchievedTime"`
	SteadyStateLastAchievedTime        time.Time                     `json:"steadyStateLastAchievedTime"`
	SynchronizedEntryCountByType       []StringKeyLongValuePair      `json:"synchronizedEntryCountByType"`
	TroubleshootingURL                 *string                       `json:"troubleshootingUrl"`
}

// SynchronizationTaskExecution summarises one run of a job.
type SynchronizationTaskExecution struct {
	ActivityIdentifier           string          `json:"activityIdentifier"`
	CountEntitled                int64           `json:"countEntitled"`
	CountEntitledForProvisioning int64           `json:"countEntitledForProvisioning"`
	CountEscrowed                int64           `json:"countEscrowed"`
	CountEscrowedRaw             int64           `json:"countEscrowedRaw"`
	CountExported                int64           `json:"countExported"`
	CountExports                 int64           `json:"countExports"`
	CountImported                int64           `json:"countImported"`
	CountImportedDeltas          int64           `json:"countImportedDeltas"`
	CountImportedReferenceDeltas int64           `json:"countImportedReferenceDeltas"`
	Error                        json.RawMessage `json:"error"`
	State                        string          `json:"state"`
	TimeBegan                    time.Time       `json:"timeBegan"`
	TimeEnded                    time.Time       `json:"timeEnded"`
}

// SynchronizationQuarantine is set while a job is quarantined.
type SynchronizationQuarantine struct {
	CurrentBegan time.Time       `json:"currentBegan"`
	NextAttempt  time.Time       `json:"nextAttempt"`
	Reason       string          `json:"reason"`
	SeriesBegan  time.Time       `json:"seriesBegan"`
	SeriesCount  int64           `json:"seriesCount"`
	Error        json.RawMessage `json:"error"`
}

// KeyValuePair is Graph's keyValuePair.
type KeyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// StringKeyLongValuePair is Graph's stringKeyLongValuePair.
type StringKeyLongValuePair struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

// StringKeyStringValuePair is Graph's stringKeyStringValuePair.
type StringKeyStringValuePair struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SynchronizationSchema is a job's schema: its rules and attribute mappings.
type SynchronizationSchema struct {
	ID                   string                `json:"id"`
	Version              string                `json:"version"`
	SynchronizationRules []SynchronizationRule `json:"synchronizationRules"`
	Directories          []DirectoryDefinition `json:"directories"`
}

// SynchronizationRule maps one source directory to one target directory.
type SynchronizationRule struct {
	ContainerFilter     ContainerFilter            `json:"containerFilter"`
	Editable            bool                       `json:"editable"`
	GroupFilter         GroupFilter                `json:"groupFilter"`
	ID                  string                     `json:"id"`
	Metadata            []StringKeyStringValuePair `json:"metadata"`
	Name                string                     `json:"name"`
	ObjectMappings      []ObjectMapping            `json:"objectMappings"`
	Priority            int32                      `json:"priority"`
	SourceDirectoryName string                     `json:"sourceDirectoryName"`
	TargetDirectoryName string                     `json:"targetDirectoryName"`
}

// ContainerFilter of a synchronization rule.
type ContainerFilter struct {
	IncludedContainers []string `json:"includedContainers"`
}

// GroupFilter of a synchronization rule.
type GroupFilter struct {
	IncludedGroups []string `json:"includedGroups"`
}

// ObjectMapping maps one source object type to one target object type.
type ObjectMapping struct {
	AttributeMappings []AttributeMapping         `json:"attributeMappings"`
	Enabled           bool                       `json:"enabled"`
	FlowTypes         string                     `json:"flowTypes"`
	Metadata          []StringKeyStringValuePair `json:"metadata"`
	Name              string                     `json:"name"`
	Scope             json.RawMessage            `json:"scope"`
	SourceObjectName  string                     `json:"sourceObjectName"`
	TargetObjectName  string                     `json:"targetObjectName"`
}

// AttributeMapping is one target attribute and where its value comes from.
type AttributeMapping struct {
	DefaultValue            *string                `json:"defaultValue"`
	ExportMissingReferences bool                   `json:"exportMissingReferences"`
	FlowBehavior            string                 `json:"flowBehavior"`
	FlowType                string                 `json:"flowType"`
	MatchingPriority        int32                  `json:"matchingPriority"`
	Source                  AttributeMappingSource `json:"source"`
	TargetAttributeName     string                 `json:"targetAttributeName"`
}

// AttributeMappingSource is an attribute, a constant or a function call;
// Expression is Graph's rendering of it, e.g. "[mail]".
type AttributeMappingSource struct {
	Expression string                      `json:"expression"`
	Name       string                      `json:"name"`
	Parameters []AttributeMappingParameter `json:"parameters"`
	Type       string                      `json:"type"`
}

// AttributeMappingParameter is Graph's
// stringKeyAttributeMappingSourceValuePair: a function argument.
type AttributeMappingParameter struct {
	Key   string                 `json:"key"`
	Value AttributeMappingSource `json:"value"`
}

// DirectoryDefinition describes a directory of a schema.
type DirectoryDefinition struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	Discoverabilities string            `json:"discoverabilities"`
	DiscoveryDateTime *time.Time        `json:"discoveryDateTime"`
	Objects           []json.RawMessage `json:"objects"`
	ReadOnly          bool              `json:"readOnly"`
	Version           string            `json:"version"`
}

// ---- Cloudflare ------------------------------------------------------------

// IdentityProvider is a Cloudflare Access identity provider. The JSON
// form carries only the config keys the API returns for its Type, with
// secrets masked as the API masks them.
type IdentityProvider struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Config     IdentityProviderConfig `json:"config"`
	SCIMConfig SCIMConfig             `json:"scim_config"`
}

// IdentityProviderConfig is the union of the config fields of the IdP
// types the simulation uses (azureAD, okta, onetimepin).
type IdentityProviderConfig struct {
	ClientID                 string   `json:"client_id"`
	ClientSecret             string   `json:"client_secret"`
	DirectoryID              string   `json:"directory_id"`
	SupportGroups            bool     `json:"support_groups"`
	ConditionalAccessEnabled bool     `json:"conditional_access_enabled"`
	EmailClaimName           string   `json:"email_claim_name"`
	Claims                   []string `json:"claims"`
	Prompt                   string   `json:"prompt"`
	PKCEEnabled              bool     `json:"pkce_enabled"`
	OktaAccount              string   `json:"okta_account"`
	AuthorizationServerID    string   `json:"authorization_server_id"`
	RedirectURL              string   `json:"redirect_url"`
}

// SCIMConfig is an IdP's SCIM settings. IdentityUpdateBehavior is
// "automatic", "reauth" or "no_action".
type SCIMConfig struct {
	Enabled                bool   `json:"enabled"`
	UserDeprovision        bool   `json:"user_deprovision"`
	SeatDeprovision        bool   `json:"seat_deprovision"`
	GroupMemberDeprovision bool   `json:"group_member_deprovision"`
	IdentityUpdateBehavior string `json:"identity_update_behavior"`
	SCIMBaseURL            string `json:"scim_base_url"`
	Secret                 string `json:"secret"`
}

// MaskedSecret is how the Cloudflare API returns a stored secret.
const MaskedSecret = "**********"

// configKeys lists the config keys the API returns per IdP type.
func configKeys(idpType string) []string {
	switch idpType {
	case "azureAD":
		return []string{"claims", "client_id", "client_secret", "conditional_access_enabled", "directory_id", "email_claim_name", "pkce_enabled", "prompt", "redirect_url", "support_groups"}
	case "okta":
		return []string{"authorization_server_id", "claims", "client_id", "client_secret", "email_claim_name", "okta_account", "pkce_enabled", "redirect_url"}
	case "onetimepin":
		return []string{"redirect_url"}
	}
	return nil
}

// MarshalJSON renders the IdP as the API does: type-specific config keys
// and masked secrets.
func (p IdentityProvider) MarshalJSON() ([]byte, error) {
	cfg := p.Config
	if cfg.ClientSecret != "" {
		cfg.ClientSecret = MaskedSecret
	}
	if cfg.Claims == nil {
		cfg.Claims = []string{}
	}
	scim := p.SCIMConfig
	if scim.Secret != "" {
		scim.Secret = MaskedSecret
	}
	raw, err := marshal(cfg)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, err
	}
	config := map[string]json.RawMessage{}
	if keys := configKeys(p.Type); keys != nil {
		for _, k := range keys {
			config[k] = all[k]
		}
	} else {
		// Other types: whatever is set.
		for k, v := range all {
			if s := string(v); s != `""` && s != "false" && s != "[]" {
				config[k] = v
			}
		}
	}
	return marshal(struct {
		ID         string                     `json:"id"`
		Name       string                     `json:"name"`
		Type       string                     `json:"type"`
		Config     map[string]json.RawMessage `json:"config"`
		SCIMConfig SCIMConfig                 `json:"scim_config"`
	}{p.ID, p.Name, p.Type, config, scim})
}

// Organization is the Zero Trust organization of the account.
type Organization struct {
	AuthDomain                     string      `json:"auth_domain"`
	Name                           string      `json:"name"`
	IsUIReadOnly                   bool        `json:"is_ui_read_only"`
	UIReadOnlyToggleReason         string      `json:"ui_read_only_toggle_reason"`
	UserSeatExpirationInactiveTime string      `json:"user_seat_expiration_inactive_time"`
	AutoRedirectToIdentity         bool        `json:"auto_redirect_to_identity"`
	SessionDuration                string      `json:"session_duration"`
	WARPAuthSessionDuration        string      `json:"warp_auth_session_duration"`
	AllowAuthenticateViaWARP       bool        `json:"allow_authenticate_via_warp"`
	DenyUnmatchedRequests          bool        `json:"deny_unmatched_requests"`
	LoginDesign                    LoginDesign `json:"login_design"`
	CustomPages                    CustomPages `json:"custom_pages"`
	CreatedAt                      time.Time   `json:"created_at"`
	UpdatedAt                      time.Time   `json:"updated_at"`
}

// LoginDesign is the login page look of the organization.
type LoginDesign struct {
	BackgroundColor string `json:"background_color"`
	TextColor       string `json:"text_color"`
	LogoPath        string `json:"logo_path"`
	HeaderText      string `json:"header_text"`
	FooterText      string `json:"footer_text"`
}

// CustomPages of the organization.
type CustomPages struct {
	Forbidden      string `json:"forbidden"`
	IdentityDenied string `json:"identity_denied"`
}
