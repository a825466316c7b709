package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func newVersionCmd(info buildInfo) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			if _, err := fmt.Fprintf(w, "aggregator %s (%s, %s/%s)\n", info.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH); err != nil {
				return err
			}
			if info.Commit == "" {
				return nil
			}
			_, err := fmt.Fprintf(w, "commit %s, built from the tree of %s\n", info.Commit, info.Date)
			return err
		},
	}
}
