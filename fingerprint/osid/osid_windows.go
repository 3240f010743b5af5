package osid

import (
	"fmt"
	"syscall"
	"unsafe"
)

// rawID reads MachineGuid from the 64-bit view of the registry, so that a
// 32-bit program reads the same value as the 64-bit agent.
func rawID() (string, error) {
	var key syscall.Handle
	path, _ := syscall.UTF16PtrFromString(`SOFTWARE\Microsoft\Cryptography`)
	if err := syscall.RegOpenKeyEx(syscall.HKEY_LOCAL_MACHINE, path, 0, syscall.KEY_QUERY_VALUE|syscall.KEY_WOW64_64KEY, &key); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer syscall.RegCloseKey(key)
	name, _ := syscall.UTF16PtrFromString("MachineGuid")
	var buf [128]uint16
	var typ uint32
	n := uint32(len(buf) * 2)
	if err := syscall.RegQueryValueEx(key, name, nil, &typ, (*byte)(unsafe.Pointer(&buf[0])), &n); err != nil {
		return "", fmt.Errorf("%w: MachineGuid: %v", ErrUnavailable, err)
	}
	if typ != syscall.REG_SZ {
		return "", fmt.Errorf("%w: MachineGuid has registry type %d", ErrUnavailable, typ)
	}
	return syscall.UTF16ToString(buf[:n/2]), nil
}
