package cloudflare

import (
	"errors"
	"strings"
	"testing"
)

const goodPage = `{"success":true,"errors":[],"messages":[],"result":[{"id":"f1","name":"Entra ID","type":"azureAD",
 "config":{"client_id":"a1","directory_id":"t1","pkce_enabled":true,"support_groups":true,"claims":["groups"],"prompt":"login"},
 "scim_config":{"enabled":true,"user_deprovision":true,"seat_deprovision":false,"identity_update_behavior":"automatic"}},
 {"id":"o1","name":"PIN","type":"onetimepin","config":{}}],"result_info":{"page":1,"per_page":50,"count":2,"total_count":2,"total_pages":1}}`

func TestIdentityProviderPageDecodes(t *testing.T) {
	items, _, err := decodeIdPPage([]byte(goodPage))
	if err != nil || len(items) != 2 {
		t.Fatalf("items %d, err %v", len(items), err)
	}
	idp, err := decodeIdentityProvider(items[0])
	if err != nil || idp.ClientID != "a1" || idp.SCIM == nil || *idp.PKCEEnabled != true {
		t.Fatalf("idp %+v, err %v", idp, err)
	}
}

// An error page served with HTTP 200, or a result of the wrong type, is
// not "no identity providers": reading it so would raise CF-IDP-001 for
// every integration.
func TestCloudflareErrorAndWrongShapesAreErrors(t *testing.T) {
	for name, body := range map[string]string{
		"success false":       `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"result":[]}`,
		"success missing":     `{"result":[]}`,
		"success string":      `{"success":"true","result":[]}`,
		"result null":         `{"success":true,"result":null}`,
		"result missing":      `{"success":true}`,
		"result object":       `{"success":true,"result":{}}`,
		"result string":       `{"success":true,"result":"[]"}`,
		"result number":       `{"success":true,"result":0}`,
		"bare array":          `[]`,
		"html":                `<html>502</html>`,
		"empty":               ``,
		"truncated":           goodPage[:40],
		"result_info garbage": `{"success":true,"result":[],"result_info":"x"}`,
	} {
		if _, _, err := decodeIdPPage([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, item := range map[string]string{
		"null element":        `null`,
		"string element":      `"x"`,
		"no id":               `{"type":"azureAD","config":{}}`,
		"azure without conf":  `{"id":"f","type":"azureAD"}`,
		"azure config null":   `{"id":"f","type":"azureAD","config":null}`,
		"pkce a string":       `{"id":"f","type":"azureAD","config":{"pkce_enabled":"yes"}}`,
		"claims an object":    `{"id":"f","type":"azureAD","config":{"claims":{}}}`,
		"scim_config a array": `{"id":"f","type":"azureAD","config":{},"scim_config":[]}`,
	} {
		if _, err := decodeIdentityProvider([]byte(item)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "no id" && !errors.Is(err, errMalformed) {
			t.Errorf("%s: err = %v, want malformed", name, err)
		}
	}
}

func FuzzCloudflareDecoding(f *testing.F) {
	for _, seed := range []string{goodPage, `{"success":false,"errors":[{"code":10000,"message":"x"}],"result":[]}`,
		`{"success":true,"result":[null]}`, `{"success":true,"result":{"auth_domain":"acme.cloudflareaccess.com"}}`,
		`{"success":true,"result":[{"id":"f","type":"azureAD","config":{"claims":[null]}}]}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, env, err := decodeIdPPage(body)
		if err == nil {
			if env.Success == nil || !*env.Success {
				t.Fatal("a page without success=true was accepted")
			}
			for _, it := range items {
				if idp, err := decodeIdentityProvider(it); err == nil && (idp.ID == "" || idp.Type == "") {
					t.Fatal("an identity provider without id or type was accepted")
				}
			}
		}
		_, _ = decodeEnvelope(body)
	})
}

// config is decoded straight into the snapshot's type: keys there that
// name the provider's own fields do not replace them, and a wrong type
// is named where it is in the response.
func TestIdentityProviderConfigCannotOverrideTheProvider(t *testing.T) {
	idp, err := decodeIdentityProvider([]byte(`{"id":"f1","name":"Entra ID","type":"azureAD",
		"config":{"id":"other","type":"onetimepin","name":"x","scim_config":{"enabled":false},"client_id":"a1","client_secret":"CANARY-never-read"},
		"scim_config":{"enabled":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if idp.ID != "f1" || idp.Type != "azureAD" || idp.Name != "Entra ID" || idp.ClientID != "a1" || idp.SCIM == nil || !*idp.SCIM.Enabled {
		t.Errorf("decoded %+v", idp)
	}
	_, err = decodeIdentityProvider([]byte(`{"id":"f","type":"azureAD","config":{"pkce_enabled":"yes"}}`))
	if err == nil || !strings.Contains(err.Error(), "config.pkce_enabled is a JSON string of the wrong type") {
		t.Errorf("wrong type: %v", err)
	}
}
