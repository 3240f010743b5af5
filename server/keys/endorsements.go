package keys

import "time"

// Endorsements lists the endorsements of the keys valid at now, oldest
// first: the chain from a key a desktop pinned before a rotation to the
// current one. Answers that travel without a route to GET /v1/keys (the
// air-gapped request files) carry them.
func (r *Ring) Endorsements(now time.Time) []string {
	var out []string
	for _, p := range r.Published(now) {
		if p.Endorsement != "" {
			out = append(out, p.Endorsement)
		}
	}
	return out
}
