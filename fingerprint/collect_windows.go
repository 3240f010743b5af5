package fingerprint

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"golang.org/x/sys/windows"
)

// The Windows collector calls native APIs only: no WMI, which is slow and can
// be disabled by policy, and no subprocess. None of the calls needs
// administrator rights. Collector.Root is ignored.

func (c Collector) probes() []probe {
	return []probe{
		{part: devinfo.PartMAC, read: windowsMACs},
		{part: devinfo.PartDisk, read: windowsDisks},
		{part: devinfo.PartBoard, read: windowsBoard},
		c.cpuProbe(),
	}
}

// Adapter rules. An adapter counts when
//
//   - its IfType is Ethernet (6) or IEEE 802.11 (71): this leaves out
//     loopback, tunnels (Teredo, IP-HTTPS, WireGuard/Wintun), PPP and the
//     other software interface types;
//   - its address has 6 bytes and is not all zeros;
//   - its description names none of the software adapters below, which
//     register as Ethernet: the host side of Hyper-V (also when the friendly
//     name starts with "vEthernet"), VMware and VirtualBox, Wi-Fi Direct, WAN
//     Miniports, Bluetooth PAN, VPN clients (TAP-Windows and others), packet
//     capture loopbacks, the kernel debugger, a phone's USB tethering. The
//     description is the driver's, the friendly name the user's, so only the
//     "vEthernet" prefix that Hyper-V sets is taken from the friendly name;
//   - for Wi-Fi, its address is universally administered: a locally
//     administered one is Windows's random hardware address, which changes
//     per network and, if so set, daily.
//
// A virtual machine's own network card (Hyper-V Network Adapter, vmxnet3,
// VirtIO) is that machine's hardware and counts, as the Linux collector counts
// a virtio card. GetAdaptersAddresses lists the adapters that have an IP
// stack bound, connected or not, so a disabled adapter drops out; the
// comparison policy tolerates a MAC list that differs in part.
var softwareAdapterMarks = []string{
	"virtual", // Hyper-V and VMware host adapters, VirtualBox host-only, Wi-Fi Direct, most VPN clients
	"wan miniport", "bluetooth", "loopback", "kernel debug", "wintun", "wireguard", "tailscale",
	"zerotier", "openvpn", "npcap", "remote ndis", "apple mobile device",
}

func physicalAdapter(ifType uint32, description, friendlyName string, addr net.HardwareAddr) bool {
	if ifType != windows.IF_TYPE_ETHERNET_CSMACD && ifType != windows.IF_TYPE_IEEE80211 {
		return false
	}
	if len(addr) != 6 || devinfo.NormalizeMAC(addr.String()) == "" {
		return false
	}
	if ifType == windows.IF_TYPE_IEEE80211 && addr[0]&0x02 != 0 {
		return false
	}
	d := strings.ToLower(description)
	if strings.HasPrefix(d, "tap-") || strings.HasPrefix(strings.ToLower(friendlyName), "vethernet") {
		return false
	}
	for _, m := range softwareAdapterMarks {
		if strings.Contains(d, m) {
			return false
		}
	}
	return true
}

func windowsMACs(ctx context.Context) ([]string, string, error) {
	first, err := adapterAddresses()
	if err != nil {
		return nil, "", err
	}
	var out, names []string
	for aa := first; aa != nil; aa = aa.Next {
		if ctx.Err() != nil {
			return out, "", ctx.Err()
		}
		if aa.PhysicalAddressLength != 6 {
			continue
		}
		addr := net.HardwareAddr(aa.PhysicalAddress[:6])
		desc := windows.UTF16PtrToString(aa.Description)
		if !physicalAdapter(aa.IfType, desc, windows.UTF16PtrToString(aa.FriendlyName), addr) {
			continue
		}
		out = append(out, addr.String())
		names = append(names, desc)
	}
	return out, "GetAdaptersAddresses" + listed(names, "; "), nil
}

// listed renders the items a source was read from, for the Sources map.
func listed(items []string, sep string) string {
	if len(items) == 0 {
		return " (none found)"
	}
	return " (" + strings.Join(items, sep) + ")"
}

// adapterAddresses returns the adapter list. The buffer holds the list's
// own pointers, so it stays alive as long as the returned pointer does.
func adapterAddresses() (*windows.IpAdapterAddresses, error) {
	const flags = windows.GAA_FLAG_SKIP_UNICAST | windows.GAA_FLAG_SKIP_ANYCAST |
		windows.GAA_FLAG_SKIP_MULTICAST | windows.GAA_FLAG_SKIP_DNS_SERVER
	size := uint32(15 << 10) // Microsoft's advice: start at 15 KB instead of asking for the size
	// Adapters can appear between two calls, so the size it asks for may
	// already be too small again.
	for range 3 {
		buf := make([]byte, size)
		first := (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0]))
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, flags, 0, first, &size)
		switch {
		case err == nil:
			return first, nil
		case errors.Is(err, windows.ERROR_NO_DATA):
			return nil, nil
		case !errors.Is(err, windows.ERROR_BUFFER_OVERFLOW):
			return nil, os.NewSyscallError("GetAdaptersAddresses", err)
		}
	}
	return nil, errors.New("GetAdaptersAddresses: the adapter list kept growing")
}

// Disks: \\.\PhysicalDrive0 … 31. Numbers can have gaps (a removed disk), so
// every one is tried.
const maxPhysicalDrives = 32

// IOCTL_STORAGE_QUERY_PROPERTY: CTL_CODE(IOCTL_STORAGE_BASE 0x2d, 0x500,
// METHOD_BUFFERED, FILE_ANY_ACCESS). FILE_ANY_ACCESS is what lets a handle
// opened with no access rights, and so a user without administrator rights,
// use it.
const ioctlStorageQueryProperty = 0x2d<<16 | 0x500<<2

// storagePropertyQuery is STORAGE_PROPERTY_QUERY. The zero value asks for
// StorageDeviceProperty with PropertyStandardQuery (both 0).
type storagePropertyQuery struct {
	PropertyID           uint32
	QueryType            uint32
	AdditionalParameters [4]byte // [1]BYTE, padded as in C
}

// windowsDisks lists the serials of fixed disks (storageDescriptor.fixedDisk
// says which count). A disk that cannot be queried is reported and the
// others are still read.
func windowsDisks(ctx context.Context) ([]string, string, error) {
	var out, from []string
	var errs []error
	for n := range maxPhysicalDrives {
		if ctx.Err() != nil {
			return out, "", ctx.Err()
		}
		d, err := queryStorageDescriptor(`\\.\PhysicalDrive` + strconv.Itoa(n))
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !d.fixedDisk() || strings.TrimSpace(d.Serial) == "" {
			continue
		}
		out = append(out, d.Serial)
		from = append(from, fmt.Sprintf("PhysicalDrive%d %s", n, busTypeName(d.BusType)))
	}
	return out, "IOCTL_STORAGE_QUERY_PROPERTY" + listed(from, ", "), errors.Join(errs...)
}

func queryStorageDescriptor(path string) (storageDescriptor, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return storageDescriptor{}, err
	}
	// Access 0: reading device attributes needs neither read nor write
	// rights, and those would need an administrator.
	h, err := windows.CreateFile(p, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return storageDescriptor{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer windows.CloseHandle(h)

	const firstSize = 1024 // enough for every descriptor but those with very long strings
	var q storagePropertyQuery
	buf := make([]byte, firstSize)
	for attempt := 0; ; attempt++ {
		var n uint32
		err := windows.DeviceIoControl(h, ioctlStorageQueryProperty, (*byte)(unsafe.Pointer(&q)), uint32(unsafe.Sizeof(q)),
			&buf[0], uint32(len(buf)), &n, nil)
		if err != nil {
			return storageDescriptor{}, &os.PathError{Op: "IOCTL_STORAGE_QUERY_PROPERTY", Path: path, Err: err}
		}
		buf = buf[:min(int(n), len(buf))]
		// A descriptor larger than the buffer (long strings from some RAID
		// drivers) is cut off; its Size field says how much to ask for.
		if attempt == 0 && len(buf) >= 8 {
			if size := binary.LittleEndian.Uint32(buf[4:8]); size > firstSize && size <= 64<<10 {
				buf = make([]byte, size)
				continue
			}
		}
		return parseStorageDescriptor(buf)
	}
}

var procGetSystemFirmwareTable = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetSystemFirmwareTable")

// firmwareRSMB is the 'RSMB' provider signature (raw SMBIOS), as the C
// multi-character constant reads it.
const firmwareRSMB = 'R'<<24 | 'S'<<16 | 'M'<<8 | 'B'

// windowsBoard reads the baseboard serial from SMBIOS (type 2). A serial
// that was read intact is used even when a later part of the table is
// damaged.
func windowsBoard(context.Context) ([]string, string, error) {
	raw, err := firmwareTable(firmwareRSMB, 0)
	if err != nil {
		return nil, "", err
	}
	info, err := parseSMBIOS(raw)
	if info.BoardSerial == "" {
		return nil, "", err
	}
	return []string{info.BoardSerial}, "SMBIOS baseboard (type 2) serial via GetSystemFirmwareTable", nil
}

func firmwareTable(provider, id uint32) ([]byte, error) {
	if err := procGetSystemFirmwareTable.Find(); err != nil {
		return nil, err
	}
	// The first call asks for the size. The table does not change while
	// Windows runs, but a retry costs little if it ever does.
	for range 2 {
		size, _, err := procGetSystemFirmwareTable.Call(uintptr(provider), uintptr(id), 0, 0)
		if size == 0 {
			return nil, fmt.Errorf("GetSystemFirmwareTable: %w", err)
		}
		buf := make([]byte, size)
		n, _, err := procGetSystemFirmwareTable.Call(uintptr(provider), uintptr(id), uintptr(unsafe.Pointer(&buf[0])), size)
		if n == 0 {
			return nil, fmt.Errorf("GetSystemFirmwareTable: %w", err)
		}
		if n <= size {
			return buf[:n], nil
		}
	}
	return nil, errors.New("GetSystemFirmwareTable: the table size kept changing")
}
