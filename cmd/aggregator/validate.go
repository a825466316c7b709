package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/engine"
)

func newValidateCmd() *cobra.Command {
	var file string
	var noOpen bool
	cmd := &cobra.Command{
		Use:   "validate -f pipeline.yaml",
		Short: "Check a pipeline file and list every problem with its line and path",
		Long: `Validate parses the pipeline strictly (unknown keys are errors), checks it against the
connector and transformation types (configs, expressions, inputs, cycles, write modes, schedule, error
policy) and, unless --no-open, opens the sources to check field names against their schemas.
Every problem is listed as file:line:column: path: message; the exit code is non-zero when there is any.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			p, err := loadPipeline(cmd, file, out)
			if err != nil {
				return err
			}
			if !noOpen {
				if _, err := engine.Schemas(cmd.Context(), p.plan, engine.Options{Env: p.env}); err != nil {
					return nodeProblems(out, p, err)
				}
			}
			_, err = fmt.Fprintf(out, "%s: pipeline %q is valid (%d sources, %d transforms, %d destinations)\n",
				file, p.spec.Name, len(p.plan.Sources), len(p.plan.Transforms), len(p.plan.Destinations))
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "pipeline file (YAML or JSON)")
	cmd.Flags().BoolVar(&noOpen, "no-open", false, "do not open the sources (skip checking field names against their schemas)")
	return cmd
}
