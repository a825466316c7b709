package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/pipelines"
)

func newValidateCmd() *cobra.Command {
	var file string
	var noOpen bool
	cmd := &cobra.Command{
		Use:   "validate -f pipeline.yaml",
		Short: "Check a pipeline file and list every problem with its line and path",
		Long: `Validate parses the pipeline strictly (unknown keys are errors), checks it against the
connector and transformation types (configs, expressions, inputs, cycles, write modes, schedule, error
policy) and, unless --no-open, opens the sources to check field names against their schemas and checks
every destination without writing (connects; for databases: the table, the write mode, the upsert key).
Every problem is listed as file:line:column: path: message; the exit code is non-zero when there is any.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			p, err := loadPipeline(cmd, file, out)
			if err != nil {
				return err
			}
			if !noOpen {
				ps, err := pipelines.Deep(cmd.Context(), p.plan, p.env, p.env.Logger)
				if err != nil {
					return err
				}
				if len(ps) > 0 {
					printProblems(out, file, ps)
					return errProblems{len(ps)}
				}
			}
			_, err = fmt.Fprintf(out, "%s: pipeline %q is valid (%d sources, %d transforms, %d destinations)\n",
				file, p.spec.Name, len(p.plan.Sources), len(p.plan.Transforms), len(p.plan.Destinations))
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "pipeline file (YAML or JSON)")
	cmd.Flags().BoolVar(&noOpen, "no-open", false, "do not open the sources or connect to the destinations (check the file alone)")
	addNetworkFlag(cmd)
	return cmd
}
