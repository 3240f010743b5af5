package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
)

// The macOS collector reads the I/O Kit registry through ioreg, which every
// macOS has and any user may run, so it needs no administrator rights.
// Collector.Root is ignored: there is no file tree to read.

// ioregPath is absolute so that a PATH entry cannot stand in for the tool.
const ioregPath = "/usr/sbin/ioreg"

func (c Collector) probes() []probe {
	return []probe{
		{part: devinfo.PartMAC, read: darwinMACs},
		{part: devinfo.PartDisk, read: darwinDisks},
		{part: devinfo.PartBoard, read: darwinBoard},
		c.cpuProbe(),
	}
}

// ioreg runs `ioreg -r -d 1 -w 0 -c class`: the matching entries only, with
// their properties, lines never clipped to a terminal width.
func ioreg(ctx context.Context, class string) (string, error) {
	out, err := exec.CommandContext(ctx, ioregPath, "-r", "-d", "1", "-w", "0", "-c", class).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return "", fmt.Errorf("ioreg -c %s: %w: %s", class, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("ioreg -c %s: %w", class, err)
	}
	return string(out), nil
}

// darwinMACs lists the addresses of the interfaces named en<N>. macOS gives
// that name to Ethernet and Wi-Fi hardware (built in, on Thunderbolt or USB)
// and never to its virtual interfaces (lo, bridge, utun, awdl, llw, ap, anpi,
// vmenet, …), which is what docs/fingerprint.md's "physical interfaces only" asks; a USB
// adapter that comes and goes only makes the MAC list differ in part, which
// Compare tolerates. Locally administered addresses are left out: on en<N>
// such an address is the Private Wi-Fi Address, which changes per network and
// over time, or another one that software assigned; neither identifies the
// hardware.
func darwinMACs(ctx context.Context) ([]string, string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, "", err
	}
	var out, names []string
	for _, ifc := range ifaces {
		if ctx.Err() != nil {
			return out, "", ctx.Err()
		}
		if !isEnN(ifc.Name) || len(ifc.HardwareAddr) != 6 || ifc.HardwareAddr[0]&0x02 != 0 {
			continue
		}
		out = append(out, ifc.HardwareAddr.String())
		names = append(names, ifc.Name)
	}
	src := "network interfaces en<N> with a universally administered address"
	if len(names) > 0 {
		src += " (" + strings.Join(names, ", ") + ")"
	}
	return out, src, nil
}

func isEnN(name string) bool {
	n, ok := strings.CutPrefix(name, "en")
	if !ok || n == "" {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 16)
	return err == nil
}

// darwinDisks lists the serials of internal disks: NVMe controllers (Apple
// Silicon and T2 Macs, NVMe cards in a Mac Pro) and SATA disks. Each class is
// asked separately so that one failing query keeps the other's disks.
func darwinDisks(ctx context.Context) ([]string, string, error) {
	var out, from []string
	var errs []error
	for _, class := range []string{"IONVMeController", "IOAHCIBlockStorageDevice"} {
		text, err := ioreg(ctx, class)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s := ioregDiskSerials(text); len(s) > 0 {
			out = append(out, s...)
			from = append(from, class)
		}
	}
	source := ""
	if len(from) > 0 {
		source = "ioreg " + strings.Join(from, ", ") + " (internal disks)"
	}
	return out, source, errors.Join(errs...)
}

// darwinBoard reads IOPlatformSerialNumber, the board part on macOS:
// the Mac's serial, which Apple keeps in the logic board's firmware.
func darwinBoard(ctx context.Context) ([]string, string, error) {
	text, err := ioreg(ctx, "IOPlatformExpertDevice")
	if err != nil {
		return nil, "", err
	}
	s := ioregPlatformSerial(text)
	if s == "" {
		return nil, "", nil
	}
	return []string{s}, "ioreg IOPlatformExpertDevice IOPlatformSerialNumber", nil
}
