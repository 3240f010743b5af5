//go:build !linux && !darwin && !windows

package config

func machineConfigPath() string { return "/usr/local/etc/iscdesk/config.json" }
