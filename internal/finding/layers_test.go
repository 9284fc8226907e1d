package finding

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/driftd/driftd/"

// imports lists the driftd packages that a package's non-test files
// import.
func imports(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("..", "..", dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "..", dir, name), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, module) {
				out = append(out, strings.TrimPrefix(path, module))
			}
		}
	}
	return out
}

// Dependencies point one way: cmd → engine → sources, checks, store,
// notify → the vocabulary and the snapshot. A package importing upward
// would make the next change to it ripple through the layers above.
func TestNoPackageImportsUpward(t *testing.T) {
	rules := map[string][]string{
		"internal/finding":           nil, // leaves: see allowedInLeaf
		"internal/snapshot":          nil,
		"checks":                     {"report", "internal/store", "internal/engine", "internal/audit", "internal/config", "notify", "cmd"},
		"report":                     {"internal/store", "internal/engine", "internal/audit", "internal/config", "notify", "cmd"},
		"internal/store":             {"internal/engine", "internal/audit", "internal/daemon", "notify/slack", "cmd"},
		"internal/source/entra":      {"checks", "report", "internal/store", "internal/engine", "internal/audit", "notify", "cmd"},
		"internal/source/cloudflare": {"checks", "report", "internal/store", "internal/engine", "internal/audit", "notify", "cmd"},
		"internal/watch":             {"checks", "report", "internal/store", "internal/engine", "internal/config", "notify", "cmd"},
		"internal/drift":             {"checks", "report", "internal/store", "internal/engine", "notify", "cmd"},
		"internal/audit":             {"internal/engine", "internal/daemon", "internal/store", "cmd"},
		"internal/engine":            {"internal/daemon", "cmd"},
		"internal/config":            {"checks", "report", "internal/store", "internal/engine", "internal/audit", "internal/daemon", "notify", "cmd"},
		"internal/cli":               {"checks", "report", "internal/store", "internal/engine", "internal/audit", "internal/config", "internal/daemon", "notify", "cmd"},
		"notify/slack":               {"checks", "report", "internal/store", "internal/engine", "internal/audit", "internal/daemon", "cmd"},
		"notify/webhook":             {"checks", "report", "internal/store", "internal/engine", "internal/audit", "internal/daemon", "cmd"},
		"notify/transports":          {"checks", "report", "internal/store", "internal/engine", "internal/audit", "internal/daemon", "cmd"},
		"notify":                     {"checks", "report", "internal/store", "internal/engine", "internal/audit", "internal/config", "cmd"},
	}
	allowedInLeaf := map[string]map[string]bool{
		"internal/finding":  {"internal/snapshot": true},
		"internal/snapshot": {},
	}
	for pkg, forbidden := range rules {
		for _, imp := range imports(t, pkg) {
			if leaf, ok := allowedInLeaf[pkg]; ok {
				if !leaf[imp] {
					t.Errorf("%s is a leaf but imports %s", pkg, imp)
				}
				continue
			}
			for _, f := range forbidden {
				if imp == f || strings.HasPrefix(imp, f+"/") {
					t.Errorf("%s imports %s, a layer above it", pkg, imp)
				}
			}
		}
	}
}
