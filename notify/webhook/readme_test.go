package webhook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's example document is the golden one, so the documented
// interface cannot drift from what driftd sends.
func TestREADMEExampleIsTheGoldenDocument(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Webhook notifications\n")
	if !ok {
		t.Fatal(`README.md has no "## Webhook notifications" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, example, ok := strings.Cut(section, "```json\n")
	if !ok {
		t.Fatal("the section has no ```json example")
	}
	example, _, _ = strings.Cut(example, "```")
	want, err := os.ReadFile(filepath.Join("testdata", "document.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if example != string(want) {
		t.Errorf("the README's example document differs from testdata/document.golden; copy the file into the README:\n%s", want)
	}
	for _, name := range []string{SignatureHeader, VersionHeader, `"version": 1`} {
		if !strings.Contains(section, name) {
			t.Errorf("the section does not mention %s", name)
		}
	}
}
