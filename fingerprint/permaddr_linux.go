package fingerprint

import (
	"fmt"
	"net"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ethtoolPermAddr asks the kernel (SIOCETHTOOL, ETHTOOL_GPERMADDR) for the
// permanent hardware address of an interface: the one burnt into the card,
// which stays when an administrator or NetworkManager sets another one. It
// needs no privileges.
func ethtoolPermAddr(iface string) (string, error) {
	const ethtoolGPermAddr = 0x20
	if len(iface) >= unix.IFNAMSIZ {
		return "", fmt.Errorf("interface name %q too long", iface)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)

	var req struct {
		cmd  uint32
		size uint32
		data [32]byte
	}
	req.cmd = ethtoolGPermAddr
	req.size = uint32(len(req.data))
	var ifr struct {
		name [unix.IFNAMSIZ]byte
		data unsafe.Pointer
		_    [24 - unsafe.Sizeof(uintptr(0))]byte
	}
	copy(ifr.name[:], iface)
	ifr.data = unsafe.Pointer(&req)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
		return "", errno
	}
	if req.size != 6 {
		return "", fmt.Errorf("permanent address of %s has %d bytes", iface, req.size)
	}
	runtime.KeepAlive(&req)
	return net.HardwareAddr(req.data[:6]).String(), nil
}
