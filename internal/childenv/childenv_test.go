package childenv

import (
	"slices"
	"testing"
)

func TestWithout(t *testing.T) {
	env := []string{"HOME=/home/ana", "ISCDESK_AK=ak", "ISCDESK_SK=secret", "iscdesk_sk=secret2", "ISCDESK_SKX=kept", "PATH=/bin"}
	got := Without(env)
	want := []string{"HOME=/home/ana", "ISCDESK_SKX=kept", "PATH=/bin"}
	if !slices.Equal(got, want) {
		t.Fatalf("Without = %q, want %q", got, want)
	}
	if len(env) != 6 {
		t.Fatal("Without changed its argument")
	}
}

func TestFor(t *testing.T) {
	t.Setenv(SK, "secret")
	t.Setenv("ISCDESK_TEST_KEPT", "1")
	env := For("ISCDESK_INPUT=/m")
	if slices.Contains(env, SK+"=secret") || !slices.Contains(env, "ISCDESK_TEST_KEPT=1") || env[len(env)-1] != "ISCDESK_INPUT=/m" {
		t.Fatalf("For = %q", env)
	}
}
