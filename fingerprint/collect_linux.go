package fingerprint

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
)

// The Linux collector reads sysfs, the udev database and procfs below Root. It
// starts no subprocess and needs no administrator rights.

func (c Collector) probes() []probe {
	root := c.Root
	if root == "" {
		root = "/"
	}
	l := linuxTree{root: root, permAddr: nil}
	if filepath.Clean(root) == "/" {
		l.permAddr = ethtoolPermAddr
	}
	return []probe{
		{part: devinfo.PartMAC, read: l.macs},
		{part: devinfo.PartDisk, read: l.disks},
		{part: devinfo.PartBoard, read: l.board},
		c.cpuProbe(),
	}
}

type linuxTree struct {
	root string
	// permAddr asks the kernel for an interface's permanent address (only for
	// the real root: a fake tree has no kernel behind it).
	permAddr func(iface string) (string, error)
}

func (l linuxTree) path(elem ...string) string {
	return filepath.Join(append([]string{l.root}, elem...)...)
}

func (l linuxTree) read(elem ...string) string {
	b, err := os.ReadFile(l.path(elem...))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (l linuxTree) exists(elem ...string) bool {
	_, err := os.Lstat(l.path(elem...))
	return err == nil
}

// linkTarget returns where a sysfs class entry points (e.g.
// ../../devices/pci0000:00/…/net/eth0), or "" when it is not a link.
func (l linuxTree) linkTarget(elem ...string) string {
	t, err := os.Readlink(l.path(elem...))
	if err != nil {
		return ""
	}
	return filepath.ToSlash(t)
}

// ARPHRD_ETHER: Ethernet and Wi-Fi interfaces.
const arphrdEther = "1"

// addr_assign_type values (include/uapi/linux/netdevice.h).
const addrRandom = "1"

// macs lists the addresses of physical network interfaces: those with a
// backing device, of Ethernet type, that are not bridges, bonds or tun/tap.
// The permanent address is preferred: a bond slave's from sysfs, otherwise
// from the kernel (ethtool) when reading the real root. A random address
// with no permanent one behind it changes on every boot and is left out.
func (l linuxTree) macs(ctx context.Context) ([]string, string, error) {
	dir := l.path("sys/class/net")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", err
	}
	var out []string
	perm := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			return out, "", ctx.Err()
		}
		name := e.Name()
		base := []string{"sys/class/net", name}
		if name == "lo" || !l.exists(append(base, "device")...) ||
			strings.Contains(l.linkTarget(base...), "/virtual/") ||
			l.read(append(base, "type")...) != arphrdEther ||
			l.exists(append(base, "bridge")...) || l.exists(append(base, "bonding")...) ||
			l.exists(append(base, "tun_flags")...) {
			continue
		}
		addr := l.read(append(base, "bonding_slave", "perm_hwaddr")...)
		if addr == "" && l.permAddr != nil {
			addr, _ = l.permAddr(name)
		}
		if addr != "" && devinfo.NormalizeMAC(addr) != "" {
			perm++
		} else {
			if l.read(append(base, "addr_assign_type")...) == addrRandom {
				continue
			}
			addr = l.read(append(base, "address")...)
		}
		out = append(out, addr)
	}
	source := "sysfs " + "/sys/class/net (physical interfaces)"
	if perm > 0 {
		source += fmt.Sprintf("; permanent address for %d of them", perm)
	}
	return out, source, nil
}

// Block devices that are never fixed physical disks.
var virtualDiskPrefixes = []string{"loop", "ram", "zram", "dm-", "md", "nbd", "sr", "fd", "zd", "drbd", "rbd", "pmem"}

// disks lists the serials of fixed physical disks, from the first source that
// has one: device/serial, serial, the udev database, SCSI VPD page 0x80.
// Removable media, USB-attached disks, virtual devices, hidden NVMe paths and
// partitions (which are not in /sys/block) are left out; a disk without a
// serial (a virtio disk in a VM, say) adds nothing.
func (l linuxTree) disks(ctx context.Context) ([]string, string, error) {
	entries, err := os.ReadDir(l.path("sys/block"))
	if err != nil {
		return nil, "", err
	}
	var out, from []string
	for _, e := range entries {
		if ctx.Err() != nil {
			return out, "", ctx.Err()
		}
		name := e.Name()
		base := []string{"sys/block", name}
		if hasAnyPrefix(name, virtualDiskPrefixes) || !l.exists(append(base, "device")...) ||
			l.read(append(base, "removable")...) == "1" || l.read(append(base, "hidden")...) == "1" {
			continue
		}
		if t := l.linkTarget(base...); strings.Contains(t, "/virtual/") || strings.Contains(t, "/usb") {
			continue
		}
		serial, src := l.diskSerial(name)
		if serial == "" {
			continue
		}
		out = append(out, serial)
		from = append(from, name+": "+src)
	}
	return out, "sysfs /sys/block (" + strings.Join(from, ", ") + ")", nil
}

func (l linuxTree) diskSerial(name string) (serial, source string) {
	if s := l.read("sys/block", name, "device", "serial"); s != "" {
		return s, "device/serial"
	}
	if s := l.read("sys/block", name, "serial"); s != "" {
		return s, "serial"
	}
	if dev := l.read("sys/block", name, "dev"); dev != "" {
		if s := udevProperty(l.path("run/udev/data", "b"+dev), "ID_SERIAL_SHORT"); s != "" {
			return s, "udev ID_SERIAL_SHORT"
		}
	}
	if b, err := os.ReadFile(l.path("sys/block", name, "device", "vpd_pg80")); err == nil {
		if s := parseVPD80(b); s != "" {
			return s, "SCSI VPD page 0x80"
		}
	}
	return "", ""
}

// udevProperty reads one E:KEY=value line of a udev database file.
func udevProperty(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	prefix := []byte("E:" + key + "=")
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, prefix); ok {
			return strings.TrimSpace(string(v))
		}
	}
	return ""
}

// parseVPD80 extracts the unit serial number of a SCSI VPD page 0x80:
// byte 1 is the page code, bytes 2-3 the length of the serial that follows.
func parseVPD80(b []byte) string {
	if len(b) < 4 || b[1] != 0x80 {
		return ""
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n > len(b)-4 {
		n = len(b) - 4
	}
	return strings.TrimSpace(strings.TrimRight(string(b[4:4+n]), "\x00"))
}

// board reads the baseboard serial, only when every user may read it (see
// the package comment: root and other users must get the same string).
func (l linuxTree) board(context.Context) ([]string, string, error) {
	p := l.path("sys/class/dmi/id/board_serial")
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil // no DMI (arm boards, some VMs, containers): nothing to read
	}
	if err != nil {
		return nil, "", err
	}
	if st.Mode().Perm()&0o004 == 0 {
		return nil, "/sys/class/dmi/id/board_serial is readable by root only: left empty so that every user gets the same fingerprint", nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, "", err
	}
	return []string{string(b)}, "/sys/class/dmi/id/board_serial", nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
