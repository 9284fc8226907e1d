package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

// parsedJUnit is the JUnit document as a CI system reads it.
type parsedJUnit struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name      string `xml:"name,attr"`
		Tests     int    `xml:"tests,attr"`
		Failures  int    `xml:"failures,attr"`
		Errors    int    `xml:"errors,attr"`
		Skipped   int    `xml:"skipped,attr"`
		Timestamp string `xml:"timestamp,attr"`
		SystemErr string `xml:"system-err"`
		Cases     []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func parseJUnit(t *testing.T, out []byte) parsedJUnit {
	t.Helper()
	var doc parsedJUnit
	dec := xml.NewDecoder(bytes.NewReader(out))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, out)
	}
	return doc
}

func TestJUnitGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample(), FormatJUnit, Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.junit.xml", buf.Bytes())
}

func TestJUnitCounts(t *testing.T) {
	r := sample()
	// A full set of results, as the engine reports them.
	r.Results = append(r.Results,
		CheckResult{CheckID: "ENTRA-APP-001", Integration: "corp-sso", Status: StatusFail},
		CheckResult{CheckID: "ENTRA-CRED-001", Integration: "corp-sso", Status: StatusFail},
		CheckResult{CheckID: "ENTRA-CRED-002", Integration: "corp-sso", Status: StatusFail},
		CheckResult{CheckID: "CF-IDP-003", Integration: "corp-sso", Status: StatusFail},
		CheckResult{CheckID: "CF-IDP-001", Integration: "corp-sso", Status: StatusPass},
		CheckResult{CheckID: "CF-IDP-001", Integration: "contractors-sso", Status: StatusPass},
		CheckResult{CheckID: "ENTRA-SCIM-001", Integration: "contractors-sso", Status: StatusNotApplicable, Reason: "SCIM is not configured"},
	)
	r.Gaps = append(r.Gaps, Gap{Integration: "corp-sso", Side: "entra", What: "attribution", Error: "reading the directory audit log: HTTP 403"})
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, buf.Bytes())
	if len(doc.Suites) != len(r.Integrations) {
		t.Fatalf("%d suites, want one per integration (%d)", len(doc.Suites), len(r.Integrations))
	}
	total := 0
	for _, s := range doc.Suites {
		want := 0
		for _, res := range r.Results {
			if res.Integration == s.Name {
				want++
			}
		}
		if s.Tests != want || len(s.Cases) != want {
			t.Errorf("suite %s: tests=%d cases=%d, want %d (one per check result)", s.Name, s.Tests, len(s.Cases), want)
		}
		var failures, errors, skipped int
		for _, c := range s.Cases {
			if c.Classname != s.Name {
				t.Errorf("case %q: classname %q", c.Name, c.Classname)
			}
			switch {
			case c.Failure != nil:
				failures++
			case c.Error != nil:
				errors++
			case c.Skipped != nil:
				skipped++
			}
		}
		if s.Failures != failures || s.Errors != errors || s.Skipped != skipped {
			t.Errorf("suite %s: counts %d/%d/%d, cases say %d/%d/%d", s.Name, s.Failures, s.Errors, s.Skipped, failures, errors, skipped)
		}
		if s.Timestamp != "2026-11-26T09:30:00" {
			t.Errorf("suite %s: timestamp %q", s.Name, s.Timestamp)
		}
		total += s.Tests
	}
	if doc.Tests != total {
		t.Errorf("testsuites tests=%d, suites sum to %d", doc.Tests, total)
	}
	corp := doc.Suites[0]
	byName := map[string]int{}
	for i, c := range corp.Cases {
		byName[strings.Fields(c.Name)[0]] = i
	}
	// Three failing checks with unsuppressed findings; the suppressed
	// certificate passes with a note; two SCIM checks are errors.
	if corp.Failures != 3 || corp.Errors != 2 || corp.Skipped != 0 {
		t.Errorf("corp-sso: failures=%d errors=%d skipped=%d, want 3, 2, 0", corp.Failures, corp.Errors, corp.Skipped)
	}
	app := corp.Cases[byName["ENTRA-APP-001"]]
	if app.Name != "ENTRA-APP-001 Cloudflare callback redirect URI missing from the app's Web platform" || app.Failure == nil ||
		app.Failure.Message != "1 finding(s)" || app.Failure.Type != "ENTRA-APP-001" {
		t.Fatalf("ENTRA-APP-001 case = %+v", app)
	}
	for _, want := range []string{"lacks the Web redirect URI", "expected: https://acme.cloudflareaccess.com/cdn-cgi/access/callback",
		"actual:   Web redirect URIs: none", "changed by adele@contoso.com at 2026-11-26 07:30 UTC", "and 1 more change"} {
		if !strings.Contains(app.Failure.Text, want) {
			t.Errorf("ENTRA-APP-001 failure text lacks %q:\n%s", want, app.Failure.Text)
		}
	}
	cert := corp.Cases[byName["ENTRA-CRED-002"]]
	if cert.Failure != nil || cert.Error != nil || !strings.Contains(cert.SystemOut, "suppressed: ") || !strings.Contains(cert.SystemOut, "legacy certificate") {
		t.Errorf("all-suppressed check: %+v", cert)
	}
	scim := corp.Cases[byName["ENTRA-SCIM-001"]]
	if scim.Error == nil || scim.Error.Message != "could not evaluate: could not read entra.provisioning" || !strings.Contains(scim.Error.Text, "HTTP 403 Authorization_RequestDenied") {
		t.Errorf("could-not-evaluate case: %+v", scim)
	}
	if pass := corp.Cases[byName["CF-IDP-001"]]; pass.Failure != nil || pass.Error != nil || pass.Skipped != nil {
		t.Errorf("passing case: %+v", pass)
	}
	if !strings.Contains(corp.SystemErr, "could not read attribution (entra): reading the directory audit log") || strings.Contains(corp.SystemErr, "entra.provisioning") {
		t.Errorf("corp-sso system-err = %q, want the attribution gap only", corp.SystemErr)
	}
	contractors := doc.Suites[1]
	skipped := 0
	for _, c := range contractors.Cases {
		if c.Skipped != nil {
			skipped++
			if !strings.HasPrefix(c.Name, "ENTRA-SCIM-001 ") || c.Skipped.Message != "SCIM is not configured" {
				t.Errorf("contractors-sso skipped case: %+v", c)
			}
		}
	}
	if contractors.Skipped != 1 || skipped != 1 {
		t.Errorf("contractors-sso: %+v", contractors)
	}
}

// Text from API data that would break XML (control characters, a CDATA
// end, markup) still gives a document that parses, with the markup as
// text.
func TestJUnitHostile(t *testing.T) {
	r := hostile()
	for i := range r.Findings {
		r.Findings[i].Message += " ]]> <script>alert(1)</script> \x00\x01\x0b\x0c \uFFFE\uFFFF & </failure>"
		r.Findings[i].Suppression = nil
	}
	r.Integrations[0].Name = "corp]]>\x00<sso>"
	for i := range r.Findings {
		r.Findings[i].Integration = r.Integrations[0].Name
	}
	for i := range r.Results {
		r.Results[i].Integration = r.Integrations[0].Name
	}
	r.Gaps[0].Integration = r.Integrations[0].Name
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	doc := parseJUnit(t, out)
	// Markup in data stays text: the only elements are JUnit's.
	allowed := map[string]bool{"testsuites": true, "testsuite": true, "testcase": true, "failure": true, "error": true, "skipped": true, "system-out": true, "system-err": true}
	dec := xml.NewDecoder(bytes.NewReader(out))
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && !allowed[se.Name.Local] {
			t.Errorf("element <%s> from data in the XML:\n%s", se.Name.Local, out)
		}
	}
	for _, b := range out {
		if b < 0x20 && b != '\n' && b != '\t' && b != '\r' {
			t.Fatalf("control byte %#x in the XML", b)
		}
	}
	if len(doc.Suites) != 2 || doc.Suites[0].Failures != 4 {
		t.Fatalf("hostile suites: %+v", doc.Suites)
	}
	var text string
	for _, c := range doc.Suites[0].Cases {
		if c.Failure != nil {
			text += c.Failure.Text
		}
	}
	for _, want := range []string{"]]> <script>alert(1)</script>", `\x00\x01\x0b\x0c`, "& </failure>", `\x1b]0;pwned\x07`} {
		if !strings.Contains(text, want) {
			t.Errorf("failure text lacks %q (as text):\n%s", want, text)
		}
	}
	if !strings.HasPrefix(doc.Suites[0].Name, `corp]]>\x00<sso>`) {
		t.Errorf("suite name = %q", doc.Suites[0].Name)
	}
}

func TestXMLText(t *testing.T) {
	if got := xmlText("a\x00b\x1bc\td\ne\uFFFEf\xffg"); got != "abc\td\nef\uFFFDg" {
		t.Errorf("xmlText = %q", got)
	}
}
