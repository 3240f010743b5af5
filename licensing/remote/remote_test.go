package remote

import "testing"

func TestSentence(t *testing.T) {
	for in, want := range map[string]string{
		"activate: activate: license code does not exist (92020005): license code does not exist":                         "license code does not exist",
		"activate: license not delivered yet (HTTP 409): the user has not received the license yet; wait":                 "the user has not received the license yet; wait",
		"all 2 seats of this license are in use: a (activated 2026-11-29); free one":                                      "all 2 seats of this license are in use: a (activated 2026-11-29); free one",
		"check: invalid input: request time 2026-11-29T10:00:00Z is more than 5m0s away from the server's: set the clock": "request time 2026-11-29T10:00:00Z is more than 5m0s away from the server's: set the clock",
		"activate: ": "activate: ",
	} {
		if got := sentence(in); got != want {
			t.Errorf("sentence(%q) = %q, want %q", in, got, want)
		}
	}
}
