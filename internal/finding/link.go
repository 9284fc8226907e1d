package finding

import "github.com/driftd/driftd/internal/snapshot"

// maxLinkID is the longest ID put into a deep link; longer or odd IDs get
// no link (appIds are GUIDs, account IDs 32 hex digits).
const maxLinkID = 64

// Link returns where in the Entra admin center or the Cloudflare
// dashboard a resource is fixed, and the label of a button to it; "", ""
// when there is no such page. Every report and message links the same
// way.
func Link(r Resource, accountID string) (url, label string) {
	switch r.Side {
	case snapshot.SideEntra:
		if !linkSafe(r.ID) {
			return "", ""
		}
		switch r.Kind {
		case KindAppRegistration:
			return "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/" + r.ID, "Open app registration"
		case KindProvisioningApp:
			return "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Provisioning/appId/" + r.ID, "Open provisioning"
		case "service_principal":
			return "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/appId/" + r.ID, "Open enterprise application"
		}
	case snapshot.SideCloudflare:
		if !linkSafe(accountID) {
			return "", ""
		}
		return "https://one.dash.cloudflare.com/" + accountID + "/settings/authentication", "Open Zero Trust authentication settings"
	}
	return "", ""
}

// linkSafe reports whether id can go into a link as is: at most maxLinkID
// unreserved URL characters, nothing a URL, Slack's "<url|label>" or a
// card's markdown would read as structure.
func linkSafe(id string) bool {
	if id == "" || len(id) > maxLinkID {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}
