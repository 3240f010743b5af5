package localeenv

import "testing"

func TestFix(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"LANG": "C.UTF-8"}, "en"},
		{map[string]string{"LC_ALL": "POSIX.utf8", "LANG": "zh_CN.UTF-8"}, "en"},
		{map[string]string{"LANG": "C"}, ""},                                     // fyne reads plain C fine
		{map[string]string{"LANG": "zh_CN.UTF-8"}, ""},                           // a real locale: untouched
		{map[string]string{"LC_MESSAGES": "de_DE.UTF-8", "LANG": "C.UTF-8"}, ""}, // messages in German
		{map[string]string{"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, "zh_CN"},     // the user's choice stays
		{map[string]string{}, ""},
	} {
		env := map[string]string{}
		for k, v := range tc.env {
			env[k] = v
		}
		Fix(func(k string) string { return env[k] }, func(k, v string) error { env[k] = v; return nil })
		if env["LANGUAGE"] != tc.want {
			t.Errorf("%v: LANGUAGE %q, want %q", tc.env, env["LANGUAGE"], tc.want)
		}
	}
}
