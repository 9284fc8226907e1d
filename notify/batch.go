package notify

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
)

// BatchVersion is the version of the stored batch encoding. A driftd
// that reads a newer one leaves the row pending rather than guess.
const BatchVersion = 1

// storedBatch is a batch as the outbox holds it.
type storedBatch struct {
	Version int   `json:"version"`
	Batch   Batch `json:"batch"`
}

// EncodeBatch is the outbox encoding of b.
func EncodeBatch(b Batch) ([]byte, error) {
	return json.Marshal(storedBatch{Version: BatchVersion, Batch: b})
}

// DecodeBatch reads what EncodeBatch wrote.
func DecodeBatch(data []byte) (Batch, error) {
	var s storedBatch
	if err := json.Unmarshal(data, &s); err != nil {
		return Batch{}, errors.New("stored batch is unreadable")
	}
	if s.Version != BatchVersion {
		return Batch{}, fmt.Errorf("stored batch has version %d; this driftd reads %d", s.Version, BatchVersion)
	}
	return s.Batch, nil
}

// maxLinkID is the longest ID put into a deep link; longer or odd IDs get
// no link (appIds are GUIDs, account IDs 32 hex digits).
const maxLinkID = 64

// Link returns where in the Entra admin center or the Cloudflare
// dashboard a resource is fixed, or "" when there is no such page.
func Link(r finding.Resource, accountID string) string {
	switch r.Side {
	case snapshot.SideEntra:
		if !linkSafe(r.ID) {
			return ""
		}
		switch r.Kind {
		case finding.KindAppRegistration:
			return "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/" + r.ID
		case finding.KindProvisioningApp:
			return "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Provisioning/appId/" + r.ID
		case "service_principal":
			return "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/appId/" + r.ID
		}
	case snapshot.SideCloudflare:
		if !linkSafe(accountID) {
			return ""
		}
		return "https://one.dash.cloudflare.com/" + accountID + "/settings/authentication"
	}
	return ""
}

// linkSafe reports whether id can go into a link as is: at most maxLinkID
// unreserved URL characters.
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
