package checks

// Attribution hints: what, in an audit-log entry, shows that a change is
// the one behind a check's finding. An entry matches a hint when its
// activity or one of its modified properties contains the hint (case
// folded). A check with hints gets only the entries that match one (an
// unrelated change to the same app would mislead); a check without hints
// gets every entry about its objects in the window.
var attributionHints = map[string][]string{
	"ENTRA-PERM-001":  {"requiredresourceaccess"},
	"ENTRA-PERM-002":  {"delegated permission grant", "consent"},
	"ENTRA-CRED-003":  {"keydescription", "certificates and secrets"},
	"ENTRA-APP-001":   {"appaddress", "replyurl", "redirect"},
	"ENTRA-APP-002":   {"accountenabled", "disable"},
	"ENTRA-APP-003":   {"signinaudience"},
	"ENTRA-APP-004":   {"implicit"},
	"ENTRA-APP-005":   {"owner"},
	"ENTRA-CLAIM-001": {"claim", "identity provider", "identity_provider"},
	"ENTRA-CLAIM-002": {"claim", "identity provider", "identity_provider"},
	"ENTRA-SCIM-001":  {"mapping", "emails"},
	"ENTRA-SCIM-002":  {"mapping", "name."},
	"ENTRA-SCIM-003":  {"provisioning", "synchronization", "job"},
	"ENTRA-SCIM-005":  {"app role assignment", "assign"},
	"CF-POL-001":      {"group"},
	"CF-POL-003":      {"group", "member"},
	"CF-POL-004":      {"identity provider", "identity_provider"},
}

// timeDriven are the checks whose findings come from time passing or from
// how a service is running — a credential reaching its end date, a
// provisioning run failing — which no audit-log entry records: their
// findings are never attributed (any entry about the app would mislead).
var timeDriven = map[string]bool{
	"ENTRA-CRED-001": true,
	"ENTRA-CRED-002": true,
	"ENTRA-CRED-004": true,
	"ENTRA-SCIM-004": true,
	"ENTRA-SCIM-006": true,
	"ENTRA-LIC-001":  true,
}

// AttributionOf says whether a finding can be attributed to an audit-log
// entry, and the hints that pick the relevant entries: its own when its
// check set them, else its check's.
func AttributionOf(f Finding) (hints []string, attributable bool) {
	if len(f.AuditHints) > 0 {
		return f.AuditHints, !timeDriven[f.CheckID]
	}
	return attributionHints[f.CheckID], !timeDriven[f.CheckID]
}
