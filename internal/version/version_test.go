package version

import (
	"os"
	"regexp"
	"testing"
)

func TestMatchesFyneApp(t *testing.T) {
	b, err := os.ReadFile("../../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*Version\s*=\s*"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("FyneApp.toml has no Version")
	}
	if string(m[1]) != Version {
		t.Errorf("FyneApp.toml says %s, version.Version says %s: change both", m[1], Version)
	}
}
