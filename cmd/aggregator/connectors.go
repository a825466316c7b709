package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
)

func newConnectorsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "connectors [type...]",
		Short: "List the connector types with their configuration (JSON Schema with --json)",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			comp, err := app.NewComponents(cfg, cliLogger(cfg, cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			conns := comp.Connectors
			specs := conns.Specs()
			if len(args) > 0 {
				specs = specs[:0]
				for _, a := range args {
					c, err := conns.Get(a)
					if err != nil {
						return err
					}
					specs = append(specs, c.Spec())
				}
			}
			if asJSON {
				return writeConnectorsJSON(cmd.OutOrStdout(), specs)
			}
			return writeConnectorsText(cmd.OutOrStdout(), specs)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the specs as JSON, each config as a JSON Schema")
	return cmd
}

type connectorJSON struct {
	connector.Spec
	ConfigSchema map[string]any `json:"config_schema"`
}

func writeConnectorsJSON(w io.Writer, specs []connector.Spec) error {
	out := make([]connectorJSON, len(specs))
	for i, s := range specs {
		out[i] = connectorJSON{Spec: s, ConfigSchema: s.Config.JSONSchema()}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeConnectorsText(w io.Writer, specs []connector.Spec) error {
	for i, s := range specs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		var roles []string
		if s.Source {
			roles = append(roles, "source")
			if s.Incremental {
				roles[len(roles)-1] += " (incremental)"
			}
		}
		if s.Destination {
			modes := make([]string, len(s.WriteModes))
			for j, m := range s.WriteModes {
				modes[j] = string(m)
			}
			roles = append(roles, "destination ("+strings.Join(modes, ", ")+")")
		}
		fmt.Fprintf(w, "%s — %s [%s]\n", s.Name, s.Title, strings.Join(roles, ", "))
		if s.Description != "" {
			fmt.Fprintf(w, "  %s\n", s.Description)
		}
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, p := range s.Config.Params {
			writeParam(tw, p, "  ")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func writeParam(w io.Writer, p configspec.Param, indent string) {
	var attrs []string
	attrs = append(attrs, string(p.Type))
	if p.Required && p.Default == nil {
		attrs = append(attrs, "required")
	}
	if p.Secret {
		attrs = append(attrs, "secret")
	}
	if p.Default != nil {
		attrs = append(attrs, fmt.Sprintf("default %v", p.Default))
	}
	if len(p.Enum) > 0 {
		attrs = append(attrs, "one of "+strings.Join(p.Enum, "|"))
	}
	fmt.Fprintf(w, "%s%s\t%s\t%s\n", indent, p.Name, strings.Join(attrs, ", "), p.Description)
	for _, f := range p.Fields {
		writeParam(w, f, indent+"  ")
	}
}
