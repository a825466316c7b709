package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/config"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
)

// Helpers shared by the pipeline commands (run, validate, preview, connectors).

// addNetworkFlag adds --deny-private-networks to a command that loads a pipeline file.
func addNetworkFlag(cmd *cobra.Command) {
	cmd.Flags().Bool("deny-private-networks", false,
		"refuse loopback and private addresses for HTTP connectors, as the server does (ALLOWED_OUTBOUND_HOSTS still allows what it lists); link-local and cloud-metadata addresses are always refused")
}

// errProblems is returned after the problems were printed, so main adds only a short line.
type errProblems struct{ n int }

func (e errProblems) Error() string {
	if e.n == 1 {
		return "the pipeline has 1 problem"
	}
	return fmt.Sprintf("the pipeline has %d problems", e.n)
}

// cliPipeline is a pipeline file loaded for a command, with the components (registries, connector
// environment, logger) the composition root built for it.
type cliPipeline struct {
	file string
	cfg  config.Config
	spec *pipeline.Spec
	plan *pipeline.Plan
	comp *app.Components
	env  connector.Env
}

// loadPipeline reads and parses the file, expands ${NAME} references from the environment and
// validates it; problems are printed to w, each prefixed with
// file:line:column, and an errProblems is returned. The CLI has no saved connectors (no Resolver).
func loadPipeline(cmd *cobra.Command, file string, w io.Writer) (*cliPipeline, error) {
	if file == "" {
		return nil, errors.New("-f <pipeline.yaml> is required")
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	deny, _ := cmd.Flags().GetBool("deny-private-networks")
	cfg.OutboundPrivate = !deny
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	comp, err := app.NewComponents(cfg, app.NewLogger(cfg, cmd.ErrOrStderr()))
	if err != nil {
		return nil, err
	}
	comp = comp.ForPipelineFile(file)
	p := &cliPipeline{file: file, cfg: cfg, comp: comp, env: comp.Env}
	spec, err := pipeline.Parse(data)
	if err == nil {
		p.spec = spec
		// ${NAME} and ${NAME:-default} come from the environment here, and only here: the server
		// never expands them.
		if ps := pipeline.ExpandEnv(spec, os.LookupEnv); len(ps) > 0 {
			err = ps
		} else {
			p.plan, err = comp.Plan(cmd.Context(), spec, nil)
		}
	}
	if ps, ok := pipeline.AsProblems(err); ok {
		printProblems(w, file, ps)
		return p, errProblems{len(ps)}
	}
	return p, err
}

func printProblems(w io.Writer, file string, ps pipeline.Problems) {
	for _, p := range ps {
		loc := file
		if p.Line > 0 {
			loc = fmt.Sprintf("%s:%d:%d", file, p.Line, p.Column)
		}
		if p.Path != "" {
			fmt.Fprintf(w, "%s: %s: %s\n", loc, p.Path, p.Message)
		} else {
			fmt.Fprintf(w, "%s: %s\n", loc, p.Message)
		}
	}
}

// nodeProblems prints an engine.NodeError (a node that failed with its input schemas) as problems.
func nodeProblems(w io.Writer, p *cliPipeline, err error) error {
	var ps pipeline.Problems
	var nes engine.NodeErrors
	var ne *engine.NodeError
	switch {
	case errors.As(err, &nes):
		ps = nes.Problems()
	case errors.As(err, &ne):
		ps = ne.Problems()
	default:
		return err
	}
	for i := range ps {
		if pos, ok := p.spec.PositionOf(ps[i].Path); ok {
			ps[i].Line, ps[i].Column = pos.Line, pos.Column
		}
	}
	printProblems(w, p.file, ps)
	return errProblems{len(ps)}
}
