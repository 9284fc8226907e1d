package config

import (
	"strings"
	"testing"
)

func TestSlackURLs(t *testing.T) {
	bot := func(apiURL string) string {
		return "claims = []\n[[notify.slack]]\nname = \"sec\"\ntoken = \"x\"\nchannel = \"#a\"\napi_url = \"" + apiURL + "\""
	}
	hook := func(webhook string) string {
		return "claims = []\n[[notify.slack]]\nname = \"sec\"\nwebhook_url = \"" + webhook + "\""
	}
	for _, ok := range []string{
		bot("https://slack.com/api/"),
		bot("http://127.0.0.1:8080/api/"),
		bot("http://127.0.0.53/api/"),
		bot("http://[::1]:8080/api/"),
		bot("http://localhost:8080/api/"),
		hook("https://hooks.slack.com/services/T0/B0/" + canary),
		hook("http://127.0.0.1:9/services/T0/B0/" + canary),
		hook("http://[::1]:9/services/T0/B0/" + canary),
		hook("http://LOCALHOST/services/T0/B0/" + canary),
	} {
		if _, err := LoadWith(writeConfig(t, strings.Replace(validConfig, "claims = []", ok, 1)), testEnv(canaryEnv)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	const apiWant = `notify.slack "sec".api_url: `
	const hookWant = `notify.slack "sec".webhook_url: `
	for _, tc := range []struct{ text, want string }{
		{bot("http://slack.com/api/"), apiWant + `"http://slack.com/api/" must be an https:// URL (http:// only to a loopback address)`},
		{bot("http://localhost.example/api/"), apiWant + `"http://localhost.example/api/" must be an https:// URL`},
		{bot("http://127.0.0.1.nip.io/api/"), apiWant + `"http://127.0.0.1.nip.io/api/" must be an https:// URL`},
		{bot("ftp://slack.com/api/"), apiWant + `"ftp://slack.com/api/" must be an https:// URL`},
		{bot("slack.com/api/"), apiWant + `"slack.com/api/" must be an https:// URL`},
		{bot("https://"), apiWant + `"https://" must be an https:// URL`},
		{bot("https://user:" + canary + "@slack.com/api/"), apiWant + "must not contain credentials (user:password@)"},
		{bot("http://user:" + canary + "@slack.com/api/"), apiWant + "must not contain credentials (user:password@)"},
		{hook("http://hooks.slack.com/services/T0/B0/" + canary), hookWant + "must be an https:// URL (http:// only to a loopback address)"},
		{hook("ftp://hooks.slack.com/services/T0/B0/" + canary), hookWant + "must be an https:// URL"},
		{hook(canary), hookWant + "must be an https:// URL"},
		{hook("https://" + canary + "@hooks.slack.com/services/T0/B0/X"), hookWant + "must not contain credentials"},
		{hook("https://u:" + canary + "@hooks.slack.com/services/T0/B0/X"), hookWant + "must not contain credentials"},
		{hook("https://hooks.slack.com/services/T0/B0/" + canary + "%zz"), hookWant + "must be an https:// URL"},
		{hook("http://localhost.example/services/T0/B0/" + canary), hookWant + "must be an https:// URL"},
	} {
		_, err := LoadWith(writeConfig(t, strings.Replace(validConfig, "claims = []", tc.text, 1)), testEnv(canaryEnv))
		checkErr(t, err, tc.want)
	}

	// A webhook URL read from the environment or a file is just as secret.
	text := strings.Replace(validConfig, "claims = []", hook("${TEST_WEBHOOK}"), 1)
	env := map[string]string{"TEST_ENTRA_SECRET": "x", "TEST_CF_TOKEN": "x", "TEST_WEBHOOK": "http://hooks.slack.com/services/T0/B0/" + canary}
	_, err := LoadWith(writeConfig(t, text), testEnv(env))
	checkErr(t, err, hookWant+"must be an https:// URL")
}

// The Entra and Cloudflare endpoints stay https only, and credentials in
// them are never echoed.
func TestEndpointURLs(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{`[cloudflare]`, "authority_host = \"http://127.0.0.1/\"\n[cloudflare]", `entra.authority_host: "http://127.0.0.1/" must be an https:// URL`},
		{`[cloudflare]`, "graph_url = \"https://u:" + canary + "@graph.example/v1.0\"\n[cloudflare]", "entra.graph_url: must not contain credentials"},
		{`api_token = "${TEST_CF_TOKEN}"`, "api_token = \"${TEST_CF_TOKEN}\"\napi_url = \"http://u:" + canary + "@api.example/\"", "cloudflare.api_url: must not contain credentials"},
		{`api_token = "${TEST_CF_TOKEN}"`, "api_token = \"${TEST_CF_TOKEN}\"\napi_url = \"https://u:" + canary + "@api example/\"", "cloudflare.api_url: must be an https:// URL"},
	} {
		_, err := LoadWith(writeConfig(t, strings.Replace(validConfig, tc.from, tc.to, 1)), testEnv(canaryEnv))
		checkErr(t, err, tc.want)
	}
}
