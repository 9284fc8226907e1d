// Package snapshot holds the typed record of what driftd read from Entra ID
// and Cloudflare in one run, plus the gaps: what could not be read and why.
//
// A snapshot is plain data: JSON-serialisable so it can be stored and
// diffed later. A nil pointer or a nil slice whose DataKind appears in Gaps
// means "not observed", never "empty".
package snapshot

import (
	"strings"
	"time"
)

// DataKind names one unit of data a source reads. Checks declare the kinds
// they need; a gap on any of them makes the check "could not evaluate".
type DataKind string

const (
	EntraApplication      DataKind = "entra.application"
	EntraServicePrincipal DataKind = "entra.service_principal"
	EntraPermissionGrants DataKind = "entra.permission_grants"
	EntraGraphPermissions DataKind = "entra.graph_permissions"
	EntraProvisioning     DataKind = "entra.provisioning"
	// EntraAppSettings are the app registration's sign-in audience,
	// implicit-grant settings and token claim configuration, read with
	// the application; EntraAppOwners its owners ($expand=owners). A
	// property missing from the answer is a gap on these alone.
	EntraAppSettings DataKind = "entra.application_settings"
	EntraAppOwners   DataKind = "entra.application_owners"
	// EntraLicenses are the tenant's subscribed SKUs (tenant-wide).
	EntraLicenses DataKind = "entra.licenses"
	// EntraProvisioningAssignments are the users and groups assigned to
	// the SCIM app (appRoleAssignedTo).
	EntraProvisioningAssignments DataKind = "entra.provisioning_assignments"
	// EntraAppRoleAssignments are the application permissions granted to
	// the sign-in app's service principal.
	EntraAppRoleAssignments DataKind = "entra.app_role_assignments"
	// CloudflareSCIMLogs is the newest entry of Cloudflare's SCIM update
	// log for each SCIM-enabled identity provider (its time only).
	CloudflareSCIMLogs DataKind = "cloudflare.scim_logs"
	// Attribution is the kind of an audit log that could not be read for
	// attribution: no check needs it, so its gap never makes an
	// integration incomplete.
	Attribution    DataKind = "attribution"
	CloudflareIdPs DataKind = "cloudflare.identity_providers"
	CloudflareOrg  DataKind = "cloudflare.organization"
)

// Side is the system a piece of data or a finding belongs to.
type Side string

const (
	SideEntra      Side = "entra"
	SideCloudflare Side = "cloudflare"
)

// Snapshot is everything read in one run.
type Snapshot struct {
	// TakenAt is the run's clock: checks use it instead of time.Now.
	TakenAt   time.Time `json:"taken_at"`
	TenantID  string    `json:"tenant_id"`
	AccountID string    `json:"account_id"`

	// GraphPermissions maps Microsoft Graph delegated permission IDs
	// (oauth2PermissionScopes) to their names, as published by the
	// Microsoft Graph service principal in this tenant.
	GraphPermissions map[string]string `json:"graph_permissions,omitempty"`
	// GraphRoles maps Microsoft Graph application permission (appRoles)
	// IDs to their values.
	GraphRoles map[string]string `json:"graph_roles,omitempty"`
	// GraphServicePrincipalID is the object ID of the Microsoft Graph
	// service principal: admin-consent grants point at it.
	GraphServicePrincipalID string `json:"graph_service_principal_id,omitempty"`
	// PremiumPlans names the enabled Entra ID P1/P2 service plans of the
	// tenant's subscriptions ("AAD_PREMIUM via SPE_E3"); empty when it has
	// none, nil when they were not read.
	PremiumPlans []string `json:"premium_plans"`

	// IdentityProviders are all Cloudflare Access identity providers of
	// the account (of every type).
	IdentityProviders []IdentityProvider `json:"identity_providers,omitempty"`
	// Policies are the account's Access policies, applications, groups
	// and Gateway rules (see policy.go).
	Policies *Policies `json:"policies,omitempty"`
	// AuthDomain is the Zero Trust organization's auth_domain, e.g.
	// "acme.cloudflareaccess.com" (or team_domain from the config).
	AuthDomain string `json:"auth_domain,omitempty"`

	Integrations []Integration `json:"integrations"`
	Gaps         []Gap         `json:"gaps,omitempty"`
}

// Integration is one Cloudflare IdP ↔ Entra app pair and what was read for it.
type Integration struct {
	Name            string   `json:"name"`
	EntraAppID      string   `json:"entra_app_id"`
	CloudflareIdPID string   `json:"cloudflare_idp_id,omitempty"`
	SCIMAppID       string   `json:"scim_app_id,omitempty"`
	Baseline        Baseline `json:"baseline"`
	Expiry          Expiry   `json:"expiry"`

	Application *Application `json:"application,omitempty"`
	// ServicePrincipal is nil when it could not be read, or when the
	// tenant has none for the app (ServicePrincipalMissing then is true).
	ServicePrincipal        *ServicePrincipal `json:"service_principal,omitempty"`
	ServicePrincipalMissing bool              `json:"service_principal_missing,omitempty"`
	PermissionGrants        []PermissionGrant `json:"permission_grants,omitempty"`
	// AppRoleAssignments are the application permissions granted to the
	// app's service principal; nil when not read.
	AppRoleAssignments []AppRoleAssignment `json:"app_role_assignments,omitempty"`
	Provisioning       *Provisioning       `json:"provisioning,omitempty"`
}

// Baseline is the approved configuration of the Cloudflare IdP. A nil
// field is not checked.
type Baseline struct {
	PKCEEnabled                *bool     `json:"pkce_enabled,omitempty" toml:"pkce_enabled"`
	SupportGroups              *bool     `json:"support_groups,omitempty" toml:"support_groups"`
	ConditionalAccessEnabled   *bool     `json:"conditional_access_enabled,omitempty" toml:"conditional_access_enabled"`
	EmailClaimName             *string   `json:"email_claim_name,omitempty" toml:"email_claim_name"`
	Claims                     *[]string `json:"claims,omitempty" toml:"claims"`
	Prompt                     *string   `json:"prompt,omitempty" toml:"prompt"`
	SCIMEnabled                *bool     `json:"scim_enabled,omitempty" toml:"scim_enabled"`
	SCIMUserDeprovision        *bool     `json:"scim_user_deprovision,omitempty" toml:"scim_user_deprovision"`
	SCIMSeatDeprovision        *bool     `json:"scim_seat_deprovision,omitempty" toml:"scim_seat_deprovision"`
	SCIMIdentityUpdateBehavior *string   `json:"scim_identity_update_behavior,omitempty" toml:"scim_identity_update_behavior"`
}

// Expiry holds the credential expiry thresholds.
type Expiry struct {
	Warning  time.Duration `json:"warning"`
	Critical time.Duration `json:"critical"`
	// MaxSecretLifetime is the longest accepted client-secret lifetime;
	// 0 means it is not checked.
	MaxSecretLifetime time.Duration `json:"max_secret_lifetime,omitempty"`
	// SCIMStaleAfter is how old a provisioning job's last successful run
	// may be; 0 means it is not checked.
	SCIMStaleAfter time.Duration `json:"scim_stale_after,omitempty"`
}

// Application is the Entra app registration Cloudflare signs in with.
type Application struct {
	ID                     string                   `json:"id"`
	AppID                  string                   `json:"app_id"`
	DisplayName            string                   `json:"display_name"`
	WebRedirectURIs        []string                 `json:"web_redirect_uris"`
	SPARedirectURIs        []string                 `json:"spa_redirect_uris,omitempty"`
	PublicClientURIs       []string                 `json:"public_client_redirect_uris,omitempty"`
	RequiredResourceAccess []RequiredResourceAccess `json:"required_resource_access"`
	PasswordCredentials    []Credential             `json:"password_credentials"`
	KeyCredentials         []Credential             `json:"key_credentials"`

	// Settings and Owners are nil when they were not read (a gap on
	// EntraAppSettings or EntraAppOwners says why).
	Settings *AppSettings `json:"settings,omitempty"`
	// Owners are the object IDs of the app registration's owners.
	Owners []string `json:"owners"`
}

// AppSettings are the app registration's sign-in and token settings.
type AppSettings struct {
	// SignInAudience is e.g. "AzureADMyOrg" or "AzureADMultipleOrgs".
	SignInAudience string `json:"sign_in_audience"`
	// ImplicitIDTokens and ImplicitAccessTokens are
	// web.implicitGrantSettings.enableIdTokenIssuance and
	// enableAccessTokenIssuance (null reads as false).
	ImplicitIDTokens     bool `json:"implicit_id_token_issuance,omitempty"`
	ImplicitAccessTokens bool `json:"implicit_access_token_issuance,omitempty"`
	// OptionalIDTokenClaims are the names in optionalClaims.idToken.
	OptionalIDTokenClaims []string `json:"optional_id_token_claims,omitempty"`
	// GroupMembershipClaims is "None", "SecurityGroup", "All",
	// "DirectoryRole", "ApplicationGroup" or a comma-separated mix; empty
	// when null.
	GroupMembershipClaims string `json:"group_membership_claims,omitempty"`
	// AcceptMappedClaims is api.acceptMappedClaims (null reads as false).
	AcceptMappedClaims bool `json:"accept_mapped_claims,omitempty"`
}

// RequiredResourceAccess is the set of permissions requested on one API.
type RequiredResourceAccess struct {
	ResourceAppID  string           `json:"resource_app_id"`
	ResourceAccess []ResourceAccess `json:"resource_access"`
}

// ResourceAccess is one requested permission.
type ResourceAccess struct {
	ID string `json:"id"`
	// Type is "Scope" (delegated) or "Role" (application).
	Type string `json:"type"`
}

// Credential is a client secret or certificate; the secret itself is never
// readable and never stored, only its metadata.
type Credential struct {
	KeyID       string     `json:"key_id"`
	DisplayName string     `json:"display_name,omitempty"`
	Hint        string     `json:"hint,omitempty"`
	Type        string     `json:"type,omitempty"`
	Usage       string     `json:"usage,omitempty"`
	Start       *time.Time `json:"start,omitempty"`
	End         *time.Time `json:"end,omitempty"`
}

// ServicePrincipal is the app's enterprise application in the tenant.
type ServicePrincipal struct {
	ID             string `json:"id"`
	AppID          string `json:"app_id"`
	DisplayName    string `json:"display_name"`
	AccountEnabled *bool  `json:"account_enabled,omitempty"`
}

// PermissionGrant is a delegated permission grant (oauth2PermissionGrant).
type PermissionGrant struct {
	ID          string `json:"id"`
	ClientID    string `json:"client_id"`
	ResourceID  string `json:"resource_id"`
	ConsentType string `json:"consent_type"`
	PrincipalID string `json:"principal_id,omitempty"`
	// Scope is space-separated, exactly as Graph returns it.
	Scope string `json:"scope"`
}

// AppRoleAssignment is one application permission (app role) granted to
// a service principal on a resource API.
type AppRoleAssignment struct {
	ID        string `json:"id"`
	AppRoleID string `json:"app_role_id"`
	// ResourceID is the object ID of the resource's service principal.
	ResourceID   string `json:"resource_id"`
	ResourceName string `json:"resource_name,omitempty"`
}

// Provisioning is the SCIM provisioning enterprise app and its jobs.
type Provisioning struct {
	// ServicePrincipalID is empty when the tenant has no service
	// principal for scim_app_id.
	ServicePrincipalID string    `json:"service_principal_id,omitempty"`
	DisplayName        string    `json:"display_name,omitempty"`
	Jobs               []SyncJob `json:"jobs"`
	// Assigned is whether any user or group is assigned to the SCIM app
	// (appRoleAssignedTo); nil when not read (a gap on
	// EntraProvisioningAssignments says why).
	Assigned *bool `json:"assigned,omitempty"`
}

// SyncJob is a synchronization job with its schema's attribute mappings.
type SyncJob struct {
	ID         string `json:"id"`
	TemplateID string `json:"template_id,omitempty"`
	// Status is status.code exactly as Graph sent it ("Active", "Paused",
	// "Quarantine", "NotRun", "NotConfigured" or a newer member); empty
	// when Graph sent none.
	Status string `json:"status,omitempty"`
	// ScheduleState is schedule.state as sent ("Active", "Disabled",
	// "Paused"); empty when Graph sent none.
	ScheduleState string `json:"schedule_state,omitempty"`
	// SuccessiveFailures is status.countSuccessiveCompleteFailures.
	SuccessiveFailures int64 `json:"successive_failures,omitempty"`
	// LastExecution, LastSuccess and LastExport are status.lastExecution,
	// lastSuccessfulExecution and lastSuccessfulExecutionWithExports; nil
	// when the job has none.
	LastExecution *SyncExecution  `json:"last_execution,omitempty"`
	LastSuccess   *SyncExecution  `json:"last_success,omitempty"`
	LastExport    *SyncExecution  `json:"last_export,omitempty"`
	Quarantine    *SyncQuarantine `json:"quarantine,omitempty"`
	Mappings      []ObjectMapping `json:"object_mappings"`
}

// SyncExecution summarises one run of a provisioning job. A timestamp
// Graph sent empty, unparseable or as the zero date is nil.
type SyncExecution struct {
	// State is "Succeeded", "Failed", "EntryLevelErrors" or a newer member.
	State         string     `json:"state,omitempty"`
	Began         *time.Time `json:"began,omitempty"`
	Ended         *time.Time `json:"ended,omitempty"`
	CountEntitled int64      `json:"count_entitled"`
	CountExported int64      `json:"count_exported"`
	ErrorCode     string     `json:"error_code,omitempty"`
	ErrorMessage  string     `json:"error_message,omitempty"`
}

// SyncQuarantine is why and since when a job is quarantined.
type SyncQuarantine struct {
	Reason       string     `json:"reason,omitempty"`
	CurrentBegan *time.Time `json:"current_began,omitempty"`
	SeriesBegan  *time.Time `json:"series_began,omitempty"`
	ErrorCode    string     `json:"error_code,omitempty"`
	ErrorMessage string     `json:"error_message,omitempty"`
}

// ObjectMapping maps one Entra object type to one target object type.
type ObjectMapping struct {
	Name              string             `json:"name,omitempty"`
	Enabled           bool               `json:"enabled"`
	SourceObjectName  string             `json:"source_object_name"`
	TargetObjectName  string             `json:"target_object_name"`
	AttributeMappings []AttributeMapping `json:"attribute_mappings"`
}

// AttributeMapping is one target attribute and where its value comes from.
type AttributeMapping struct {
	TargetAttributeName string `json:"target_attribute_name"`
	// SourceType is "Attribute", "Constant" or "Function".
	SourceType string `json:"source_type,omitempty"`
	SourceName string `json:"source_name,omitempty"`
	// SourceExpression is Graph's rendering of the source, e.g. "[mail]".
	SourceExpression string `json:"source_expression,omitempty"`
}

// IdentityProvider is a Cloudflare Access identity provider. Only the
// azureAD fields driftd audits are decoded; the client secret never is.
type IdentityProvider struct {
	ID                       string   `json:"id"`
	Name                     string   `json:"name"`
	Type                     string   `json:"type"`
	ClientID                 string   `json:"client_id,omitempty"`
	DirectoryID              string   `json:"directory_id,omitempty"`
	PKCEEnabled              *bool    `json:"pkce_enabled,omitempty"`
	SupportGroups            *bool    `json:"support_groups,omitempty"`
	ConditionalAccessEnabled *bool    `json:"conditional_access_enabled,omitempty"`
	EmailClaimName           *string  `json:"email_claim_name,omitempty"`
	Claims                   []string `json:"claims,omitempty"`
	Prompt                   *string  `json:"prompt,omitempty"`
	SCIM                     *IdPSCIM `json:"scim_config,omitempty"`
	// SCIMLog is nil when not read (SCIM off, or a gap on
	// CloudflareSCIMLogs).
	SCIMLog *SCIMLog `json:"scim_log,omitempty"`
}

// IdPSCIM is the SCIM configuration of a Cloudflare identity provider.
type IdPSCIM struct {
	Enabled                *bool   `json:"enabled,omitempty"`
	UserDeprovision        *bool   `json:"user_deprovision,omitempty"`
	SeatDeprovision        *bool   `json:"seat_deprovision,omitempty"`
	IdentityUpdateBehavior *string `json:"identity_update_behavior,omitempty"`
	// BaseURL is the SCIM endpoint Entra's provisioning job must call
	// (not a secret: the SCIM token is separate and never read).
	BaseURL string `json:"scim_base_url,omitempty"`
}

// SCIMLog is what Cloudflare's SCIM update log says of one identity
// provider: only when it last logged a request. The entries name users
// and carry request bodies, so nothing else of them is ever kept.
type SCIMLog struct {
	// Since is the start of the window read.
	Since time.Time `json:"since"`
	// Latest is the newest entry's logged_at; nil when the window has none.
	Latest *time.Time `json:"latest,omitempty"`
}

// IdentityProviderOf returns the Cloudflare identity provider of an
// integration: the one with its cloudflare_idp_id (of whatever type), or
// else the first azureAD provider whose client_id is the integration's
// app. Nil when there is none.
func (s *Snapshot) IdentityProviderOf(in *Integration) *IdentityProvider {
	for i, idp := range s.IdentityProviders {
		if in.CloudflareIdPID != "" {
			if strings.EqualFold(idp.ID, in.CloudflareIdPID) {
				return &s.IdentityProviders[i]
			}
		} else if idp.Type == "azureAD" && strings.EqualFold(idp.ClientID, in.EntraAppID) {
			return &s.IdentityProviders[i]
		}
	}
	return nil
}

// Gap records data that could not be read. Integration is empty for
// account- or tenant-wide data, which every integration depends on.
type Gap struct {
	Integration string   `json:"integration,omitempty"`
	Side        Side     `json:"side"`
	What        DataKind `json:"what"`
	Error       string   `json:"error"`
}

// Missing reports whether any of kinds could not be read for the named
// integration (tenant-wide gaps count for every integration).
func (s *Snapshot) Missing(integration string, kinds ...DataKind) []Gap {
	var out []Gap
	for _, g := range s.Gaps {
		if g.Integration != "" && g.Integration != integration {
			continue
		}
		for _, k := range kinds {
			if g.What == k {
				out = append(out, g)
				break
			}
		}
	}
	return out
}
