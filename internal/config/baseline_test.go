package config

import (
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/watch"
)

// TestBaselineValuesFromTable: the values a baseline may pin are the
// watch table's, for every setting that restricts them.
func TestBaselineValuesFromTable(t *testing.T) {
	load := func(line string) error {
		text := strings.Replace(validConfig, `prompt = "login"`, line, 1)
		_, err := LoadWith(writeConfig(t, text), testEnv(canaryEnv))
		return err
	}
	for _, s := range watch.Settings() {
		if s.BaselineKey == "" || s.Kind != watch.String {
			continue
		}
		for _, v := range s.Allowed {
			if err := load(s.BaselineKey + ` = "` + v + `"`); err != nil {
				t.Errorf("%s = %q: %v", s.BaselineKey, v, err)
			}
		}
		err := load(s.BaselineKey + ` = "bogus"`)
		switch {
		case len(s.Allowed) == 0 && err != nil:
			t.Errorf("%s accepts any value: %v", s.BaselineKey, err)
		case len(s.Allowed) > 0 && (err == nil || !strings.Contains(err.Error(), `baseline.`+s.BaselineKey+`: "bogus" must be `+strings.Join(s.Allowed[:len(s.Allowed)-1], ", "))):
			t.Errorf("%s = \"bogus\": %v", s.BaselineKey, err)
		}
		if err := load(s.BaselineKey + ` = " "`); s.NonEmpty && (err == nil || !strings.Contains(err.Error(), "must not be empty")) {
			t.Errorf("%s = \" \": %v", s.BaselineKey, err)
		}
	}
}
