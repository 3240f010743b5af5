//go:build !darwin || cgo

package ui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/assets"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/protocol"
)

// message is one translation: a text, or plural forms.
type message struct {
	text   string
	plural map[string]string
}

func loadMessages(t *testing.T, file string) map[string]message {
	t.Helper()
	b, err := assets.Translations.ReadFile("translations/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	out := map[string]message{}
	for k, v := range raw {
		var m message
		if json.Unmarshal(v, &m.text) != nil {
			if err := json.Unmarshal(v, &m.plural); err != nil {
				t.Fatalf("%s: %s is neither a text nor plural forms", file, k)
			}
		}
		out[k] = m
	}
	return out
}

var placeholder = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

func placeholders(m message) []string {
	var all []string
	for _, s := range append([]string{m.text}, mapValues(m.plural)...) {
		for _, p := range placeholder.FindAllStringSubmatch(s, -1) {
			all = append(all, p[1])
		}
	}
	slices.Sort(all)
	return slices.Compact(all)
}

func mapValues(m map[string]string) []string {
	var v []string
	for _, s := range m {
		v = append(v, s)
	}
	return v
}

// usedKeys are the keys the code asks for: literal tr/trN calls in the
// package's sources, and the keys built from the domain's names.
func usedKeys(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	call := regexp.MustCompile(`\btrN?\("([^"]+)"`)
	var keys []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // a prefix completed below
				keys = append(keys, m[1])
			}
		}
	}
	for _, m := range kindMessages {
		for _, suffix := range []string{"short", "title", "advice"} {
			keys = append(keys, "kind."+m.key+"."+suffix)
		}
	}
	for reason := range refusalMessages {
		keys = append(keys, "refusal."+reason+".title", "refusal."+reason+".advice")
	}
	for _, p := range devinfo.Parts {
		keys = append(keys, "part."+string(p))
	}
	for _, st := range []devinfo.State{devinfo.Same, devinfo.Partial, devinfo.Changed, devinfo.Missing, devinfo.Added} {
		keys = append(keys, "compare."+string(st))
	}
	for _, m := range []string{protocol.MethodSave, protocol.MethodOpenCloudFile, protocol.MethodGetSolution, protocol.MethodGetLicenseString,
		protocol.MethodGetLicenseFile, protocol.MethodLicenseVerifyNotify, protocol.MethodCheckNewVersions, protocol.MethodUpgradeNotify} {
		keys = append(keys, "call."+m)
	}
	return keys
}

func TestTranslationsComplete(t *testing.T) {
	en, zh := loadMessages(t, "en.json"), loadMessages(t, "zh-Hans.json")
	used := usedKeys(t)
	if len(used) < 100 {
		t.Fatalf("found only %d keys in the sources: is the pattern still right?", len(used))
	}
	for _, k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("en.json lacks %q, which the code uses", k)
		}
	}
	for k, m := range en {
		z, ok := zh[k]
		if !ok {
			t.Errorf("zh-Hans.json lacks %q", k)
			continue
		}
		if (m.plural == nil) != (z.plural == nil) {
			t.Errorf("%q: plural forms in one file only", k)
		}
		if m.plural != nil && (m.plural["one"] == "" || m.plural["other"] == "" || z.plural["other"] == "") {
			t.Errorf("%q: English needs one and other, Chinese other", k)
		}
		if !slices.Equal(placeholders(m), placeholders(z)) {
			t.Errorf("%q: placeholders %v in English, %v in Chinese", k, placeholders(m), placeholders(z))
		}
	}
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("zh-Hans.json has %q, which en.json lacks", k)
		}
	}
}

// Every kind of the license domain has its message, and the one for a
// malformed code states the real limit.
func TestEveryKindExplained(t *testing.T) {
	for k := errs.Kind(0); !strings.HasPrefix(k.String(), "Kind("); k++ {
		if _, ok := kindMessages[k]; !ok {
			t.Errorf("no message for kind %v", k)
		}
		if p := explain(errs.E("op", k, nil)); p.Title == "" || p.Advice == "" || strings.HasPrefix(p.Title, "kind.") {
			t.Errorf("kind %v: %+v", k, p)
		}
	}
	if adv := explain(errs.E("op", errs.Invalid, nil)).Advice; !strings.Contains(adv, strconv.Itoa(licensing.MaxCodeLen)) {
		t.Errorf("the invalid-code advice %q does not say at most %d characters", adv, licensing.MaxCodeLen)
	}
	// The license server's refusals say more than their kind; the server's
	// sentence (the seat holders) is the detail.
	full := errs.E("activate", errs.NotActivated, &licensing.Refusal{Reason: "seats_full", Message: "all 2 seats are in use: ws-01 (activated 2026-11-29), vm-02 (activated 2026-11-29)"})
	if p := explain(full); p.Title != tr("refusal.seats_full.title") || !strings.Contains(p.Detail, "ws-01") || p.Retry {
		t.Errorf("seats full: %+v", p)
	}
}
