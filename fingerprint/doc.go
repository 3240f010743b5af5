// Package fingerprint identifies the machine a license is used on: it probes
// the hardware of the running operating system (network cards, fixed disks,
// baseboard, CPU) and renders the published MAC|disk|board|CPU string. The
// string itself (rendering, parsing, the tolerant comparison) is package
// devinfo, which the SDK shares without these probes.
//
// The probes follow docs/fingerprint.md. In short:
//
//   - No subprocess and no administrator rights on Linux (sysfs, the udev
//     database, procfs), native APIs on Windows (GetAdaptersAddresses,
//     IOCTL_STORAGE_QUERY_PROPERTY, SMBIOS through GetSystemFirmwareTable,
//     CPUID), IOKit data through ioreg on macOS.
//   - MAC: physical interfaces only (bridges, bonds, veth, tun/tap, docker
//     and other virtual interfaces are left out), the permanent address where
//     the system exposes it; a random address with no permanent one behind it
//     changes on every boot and is left out.
//   - Disk: serials of fixed physical disks; removable media, USB disks,
//     loop, ram, zram, device-mapper, md and partitions are left out. Linux
//     sources, in order: device/serial, serial, the udev database
//     (ID_SERIAL_SHORT), SCSI VPD page 0x80.
//   - Board: the baseboard serial. On Linux it is used only when every user
//     may read it (most distributions make it root-only): reading it only as
//     root would give root and other users two strings for one machine.
//   - CPU: CPUID leaf 1 as 16 hex digits, EDX then EAX, on x86 (the Windows
//     ProcessorId form); MIDR_EL1 on arm64 Linux; empty elsewhere. It always
//     comes from the CPU itself, never from an alternative root.
//   - Every probe is bounded by the caller's deadline; one that fails leaves
//     its part empty and is listed in Problems, it never fails the whole
//     fingerprint.
//
// This package must not import the GUI toolkit, the keyring or net/http.
package fingerprint
