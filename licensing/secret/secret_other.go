//go:build !linux

package secret

import "fmt"

// available: the Windows Credential Manager and the macOS Keychain are always
// there.
func available() error { return nil }

func classifyPlatformError(err error) error { return fmt.Errorf("secret: OS keyring: %w", err) }
