package config

import (
	"os"
	"path/filepath"
)

func machineConfigPath() string {
	dir := os.Getenv("ProgramData")
	if dir == "" {
		dir = `C:\ProgramData`
	}
	return filepath.Join(dir, "iscdesk", "config.json")
}
