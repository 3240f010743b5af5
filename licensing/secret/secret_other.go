//go:build !linux

package secret

import "fmt"

func classifyPlatformError(err error) error { return fmt.Errorf("secret: OS keyring: %w", err) }
