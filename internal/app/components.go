package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// Components are what every command that plans or runs a pipeline shares: `serve` (the API, its
// run executor, checks and previews), `run`, `validate`, `preview`, `connectors` and the coming
// `worker`. NewComponents is the one place they are built, so that the CLI and the server offer the
// same connectors and transformations and give connectors the same environment.
type Components struct {
	Connectors *connector.Registry
	Transforms *transform.Registry
	// Env is what connectors get besides their config, in the server: the file roots, the upload
	// directory and the output directory (DATA_DIR/files) where file destinations write.
	Env    connector.Env
	Logger *slog.Logger
	// Clock is the time source of the run service (event and rate times).
	Clock func() time.Time

	fileRoots []string // FILE_ROOTS as configured (empty: unset)
}

// NewComponents builds the components from the configuration: every connector and transformation
// the product offers (Registries) and the server's connector environment.
func NewComponents(cfg config.Config, log *slog.Logger) (*Components, error) {
	if log == nil {
		log = NewLogger(cfg, os.Stderr)
	}
	conns, trs, err := Registries()
	if err != nil {
		return nil, err
	}
	return &Components{Connectors: conns, Transforms: trs, Env: connectorEnv(cfg, log), Logger: log, Clock: time.Now,
		fileRoots: append([]string(nil), cfg.FileRoots...)}, nil
}

// ForPipelineFile returns the components for a pipeline file run from the command line: the same
// registries, logger and clock; the file roots are FILE_ROOTS when set, else the file's directory
// (relative paths in a pipeline file are relative to it) and the current directory; destinations
// write where their paths point within those roots (no output directory); uploads are not
// available.
func (c *Components) ForPipelineFile(file string) *Components {
	out := *c
	env := c.Env
	env.OutputDir, env.ResolveUpload = "", nil
	if len(c.fileRoots) > 0 {
		env.FileRoots = append([]string(nil), c.fileRoots...)
	} else {
		dir, _ := filepath.Abs(filepath.Dir(file))
		cwd, _ := os.Getwd()
		env.FileRoots = []string{dir}
		if cwd != "" && cwd != dir {
			env.FileRoots = append(env.FileRoots, cwd)
		}
	}
	out.Env = env
	return &out
}

// Plan validates a parsed spec against the registries (and, with a resolver, the saved connectors
// and transformations it names); a wrong spec is pipeline.Problems, each with its path.
func (c *Components) Plan(ctx context.Context, spec *pipeline.Spec, resolver pipeline.Resolver) (*pipeline.Plan, error) {
	return pipeline.Validate(ctx, spec, c.PipelineEnv(resolver))
}

// PipelineEnv is what planning a spec needs: the registries and the resolver of saved references.
func (c *Components) PipelineEnv(resolver pipeline.Resolver) pipeline.Env {
	return pipeline.Env{Connectors: c.Connectors, Transforms: c.Transforms, Resolver: resolver}
}
