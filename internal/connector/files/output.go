package files

import (
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filekit"
)

// OutputPath is the file a file destination with config writes, resolved as its writer resolves it
// (within env's roots or under env.OutputDir). ok is false when config names no local path.
func OutputPath(env connector.Env, config map[string]any) (path string, ok bool, err error) {
	p, _ := config["path"].(string)
	if p == "" {
		return "", false, nil
	}
	real, err := filekit.Local(env, p, true)
	return real, true, err
}
