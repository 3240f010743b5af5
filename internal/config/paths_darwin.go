package config

func machineConfigPath() string { return "/Library/Application Support/iscdesk/config.json" }
