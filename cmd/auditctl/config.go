package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileConfig holds the optional config file's values (--config or
// AUDITCTL_CONFIG, default ~/.config/auditctl/config.yaml). Precedence:
// flags, then environment, then this file, then built-in defaults.
var fileConfig = map[string]string{}

// fileKeys maps config-file keys to the environment variables they stand in for.
var fileKeys = map[string]string{
	"elasticsearch_url": "ELASTICSEARCH_URL", "api_key": "ELASTICSEARCH_API_KEY",
	"es_user": "ELASTICSEARCH_USER", "es_password": "ELASTICSEARCH_PASSWORD",
	"audit_endpoint": "AUDITCTL_AUDIT_ENDPOINT", "audit_token": "AUDITCTL_AUDIT_TOKEN", "actor": "AUDITCTL_ACTOR", "audit": "AUDITCTL_AUDIT",
}

// loadConfigFile reads --config before the command line is parsed, since
// flag defaults come from the file; it returns the other arguments.
func loadConfigFile(args []string) ([]string, error) {
	path, explicit := os.Getenv("AUDITCTL_CONFIG"), os.Getenv("AUDITCTL_CONFIG") != ""
	var rest []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--":
			rest = append(rest, args[i:]...)
			i = len(args)
		case args[i] == "--config" || args[i] == "-config":
			if i+1 >= len(args) {
				return nil, errors.New("--config needs a file")
			}
			path, explicit = args[i+1], true
			i++
		case strings.HasPrefix(args[i], "--config="):
			path, explicit = strings.TrimPrefix(args[i], "--config="), true
		default:
			rest = append(rest, args[i])
		}
	}
	if path == "" {
		if home, err := os.UserHomeDir(); err == nil {
			path = home + "/.config/auditctl/config.yaml"
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		if explicit {
			return nil, fmt.Errorf("--config: %w", err)
		}
		return rest, nil
	}
	var m map[string]string
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	for k, v := range m {
		if _, ok := fileKeys[k]; !ok {
			keys := make([]string, 0, len(fileKeys))
			for key := range fileKeys {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("config file %s: unknown key %q; the keys are %s", path, k, strings.Join(keys, ", "))
		}
		fileConfig[fileKeys[k]] = v
	}
	return rest, nil
}

// env is an environment variable, else its config-file key, else def.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	if v, ok := fileConfig[name]; ok {
		return v
	}
	return def
}
