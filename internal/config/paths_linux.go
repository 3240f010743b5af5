package config

func machineConfigPath() string { return "/etc/iscdesk/config.json" }
