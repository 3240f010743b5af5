package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
)

// No secret on the desktop (issue 12, acceptance): after activation, the
// keyring, the config files and the environment of the agent's children
// hold no marketplace AK/SK, even for a user who still has them in the
// environment from an older setup. Only the license server holds them.
func TestNoMarketplaceSecretOnTheDesktop(t *testing.T) {
	bin := buildBinary(t)
	sb, srv := vendortest.WithSandboxProcess(t, bin, vendortest.Options{})
	env, home := testutil.ProcessEnv(t)
	env = testutil.With(env, srv.Env()...)
	leftover := testutil.With(env, "ISCDESK_AK="+sb.AK, "ISCDESK_SK="+sb.SK)
	secrets := []string{sb.AK, sb.SK}
	holds := func(s string) bool {
		for _, v := range secrets {
			if strings.Contains(s, v) {
				return true
			}
		}
		return false
	}

	// The solver dumps the environment it gets into its result folder.
	script := filepath.Join(home, "dump-env.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nenv > \"$2/env.txt\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	userConfig := filepath.Join(home, ".config", "iscdesk", "config.json")
	if err := config.SaveUser(userConfig, config.Config{SolverCommand: []string{script, "{input}", "{output}"}}); err != nil {
		t.Fatal(err)
	}
	// An older client's credentials in the keyring, where there is one.
	keyring := secret.Keyring{}
	if testutil.RealKeyring() {
		old, _ := json.Marshal(struct{ AK, SK string }{sb.AK, sb.SK})
		if err := keyring.Set(context.Background(), store.LegacyCredentialsAccount, string(old)); err != nil {
			t.Fatal(err)
		}
	}
	if r := runBin(t, bin, leftover, "activate", "--json", sb.Codes["ready"][0]); r.Code != 0 || !r.json.Valid {
		t.Fatalf("activate: exit %d %s", r.Code, r.Stderr)
	}
	if testutil.RealKeyring() {
		for _, account := range []string{store.LegacyCredentialsAccount, "clock-mark", "install-secret", "authorization"} {
			v, err := keyring.Get(context.Background(), account)
			if account == store.LegacyCredentialsAccount && err == nil {
				t.Errorf("the keyring still holds %s", account)
			}
			if holds(v) {
				t.Errorf("the keyring's %s holds the marketplace credentials", account)
			}
		}
	}

	// The agent's children.
	socket, stop := startAgent(t, bin, leftover)
	defer stop()
	ctx, c := connectSDK(t, socket)
	model := filepath.Join(home, "model.inp")
	if err := os.WriteFile(model, []byte("mesh"), 0o644); err != nil {
		t.Fatal(err)
	}
	sol, err := c.GetSolution(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	dump, err := os.ReadFile(filepath.Join(sol.Result.Params["resultPath"], "env.txt"))
	if err != nil || !strings.Contains(string(dump), "HOME=") {
		t.Fatalf("the solver's environment: %v\n%s", err, dump)
	}
	if holds(string(dump)) || strings.Contains(string(dump), "ISCDESK_AK") || strings.Contains(string(dump), "ISCDESK_SK") {
		t.Errorf("the solver got the marketplace credentials:\n%s", dump)
	}

	// Every file in the home folder: the config files, the encrypted
	// record, the clock mark, the agent's files.
	files := 0
	err = filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if holds(string(b)) {
			t.Errorf("%s holds the marketplace credentials", path)
		}
		return nil
	})
	if err != nil || files < 3 {
		t.Fatalf("%d files read: %v", files, err)
	}

	// The keyring (or, without one, the encrypted file) opened as the
	// binary opens it: the activation holds the token and the device key,
	// nothing else; no entry of an older client's credentials is left.
	st, err := store.Open(ctx, store.Options{Secrets: keyring, Dir: filepath.Join(home, ".config", "iscdesk")})
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.Load(ctx)
	if err != nil || r.Token == "" || len(r.DeviceKey) != 32 || st.Kind() != wantStorage() {
		t.Fatalf("the cached activation (%s): %+v %v", st.Kind(), r.License, err)
	}
	record, _ := json.Marshal(r)
	if holds(string(record)) {
		t.Errorf("the cached activation holds the marketplace credentials: %s", record)
	}
}
