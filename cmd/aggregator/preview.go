package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/record"
)

func newPreviewCmd() *cobra.Command {
	var file string
	var rows int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "preview -f pipeline.yaml [--rows 20]",
		Short: "Run the first rows through every node and show each node's output; nothing is written",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPipeline(cmd, file, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			res, err := engine.Preview(cmd.Context(), p.plan, engine.Options{Env: p.env}, rows)
			if err != nil {
				return nodeProblems(cmd.ErrOrStderr(), p, err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return writePreview(cmd.OutOrStdout(), res)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "pipeline file (YAML or JSON)")
	cmd.Flags().IntVar(&rows, "rows", 20, "rows to read from each source and to show per node")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the samples as JSON")
	addNetworkFlag(cmd)
	return cmd
}

func writePreview(w io.Writer, res *engine.PreviewResult) error {
	for i, s := range res.Nodes {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "== %s (%s %s): %d rows shown; in %d, out %d, rejected %d\n", s.ID, s.Kind, s.Type, len(s.Rows),
			s.Stats.In, s.Stats.Out, s.Stats.Rejected)
		if s.Schema != nil {
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
			var head, kinds []string
			for _, f := range s.Schema.Fields {
				head = append(head, f.Name)
				kinds = append(kinds, f.Kind.String())
			}
			fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
			fmt.Fprintln(tw, strings.Join(kinds, "\t")+"\t")
			for _, r := range s.Rows {
				cells := make([]string, len(r))
				for j, v := range r {
					cells[j] = cell(v)
				}
				fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		for _, r := range s.Rejects {
			fmt.Fprintf(w, "  rejected: %s\n", describeRejectCLI(r))
		}
	}
	return nil
}

func cell(v record.Value) string {
	if v.IsNull() {
		return "NULL"
	}
	s := strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(v.String())
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:39]) + "…"
	}
	return s
}

func describeRejectCLI(r record.Reject) string {
	var b strings.Builder
	if r.Source != "" {
		b.WriteString(r.Source)
	}
	if r.Pos > 0 {
		fmt.Fprintf(&b, " line %d", r.Pos)
	}
	if r.Field != "" {
		fmt.Fprintf(&b, " field %s", r.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(r.Reason)
	return strings.TrimSpace(b.String())
}
