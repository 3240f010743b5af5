//go:build !linux && !windows && !darwin

package fingerprint

// On other systems (the BSDs, illumos, …) this package knows no
// unprivileged source for MAC, disk or board values that it could keep
// deterministic, so only the CPU part is read; the others stay empty, as the
// published rule allows.
func (c Collector) probes() []probe {
	return []probe{c.cpuProbe()}
}
