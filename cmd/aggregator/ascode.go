package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/apiclient"
	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/ascode"
	"github.com/dataaggregator/aggregator/internal/pipeline"
)

// Pipelines as code (docs/pipelines-as-code.md): export, plan and apply talk to a running server
// through its API with an API token.

type ascodeFlags struct {
	dir, server, token string
}

func (f *ascodeFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.dir, "dir", "", "the directory of pipelines/, connectors/ and transformations/ (required)")
	fs.StringVar(&f.server, "server", "", "the server's URL (env AGGREGATOR_SERVER or AGGREGATOR_URL, default http://localhost:8001)")
	fs.StringVar(&f.token, "token", "", "an API token (env AGGREGATOR_TOKEN)")
}

func (f *ascodeFlags) client(info buildInfo) (ascode.API, error) {
	if f.dir == "" {
		return ascode.API{}, errors.New("--dir is required")
	}
	server := f.server
	for _, env := range []string{"AGGREGATOR_SERVER", "AGGREGATOR_URL"} {
		if server == "" {
			server = os.Getenv(env)
		}
	}
	if server == "" {
		server = "http://localhost:8001"
	}
	token := f.token
	if token == "" {
		token = os.Getenv("AGGREGATOR_TOKEN")
	}
	if token == "" {
		return ascode.API{}, errors.New("an API token is required: --token or AGGREGATOR_TOKEN (create one in the web app under Profile > API tokens)")
	}
	return ascode.API{C: apiclient.New(server, token, "aggregator-cli/"+info.Version)}, nil
}

func newExportCmd(info buildInfo) *cobra.Command {
	var f ascodeFlags
	cmd := &cobra.Command{
		Use:   "export --dir DIR",
		Short: "Write every pipeline, saved connector and saved transformation of a server into a directory, one YAML file each",
		Long: `Export writes the server's pipelines (with their schedules and triggers, as their spec text),
saved connectors and saved transformations into DIR/pipelines, DIR/connectors and DIR/transformations,
one YAML file each, keys sorted, so that the directory diffs well in Git. A connector's secret values
are never written: each becomes a ${VARIABLE} placeholder that apply reads from its environment (a
placeholder name an earlier file used is kept). Objects applied from files keep their file names.
Export changes nothing on the server; files whose objects the server no longer holds are listed and
left alone.`,
		Example: `  AGGREGATOR_TOKEN=agg_... aggregator export --dir ./platform --server https://etl.example.com`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := f.client(info)
			if err != nil {
				return err
			}
			rep, err := ascode.Export(cmd.Context(), api, f.dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %d files into %s\n", len(rep.Written), f.dir)
			for _, s := range rep.Stale {
				fmt.Fprintf(out, "not on the server: %s (left alone; delete it, or apply creates the object again)\n", s)
			}
			if len(rep.Secrets) > 0 {
				fmt.Fprintf(out, "secret values are placeholders; set these where apply runs: %s\n", strings.Join(dedupe(rep.Secrets), ", "))
			}
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newPlanCmd(info buildInfo) *cobra.Command {
	var f ascodeFlags
	var prune, updateSecrets, verbose, exitCode bool
	cmd := &cobra.Command{
		Use:   "plan --dir DIR",
		Short: "Show what apply would create, change or delete on a server, with a diff per object",
		Long: `Plan reads DIR (pipelines/, connectors/, transformations/), checks every file (syntax, keys,
connector and transformation configs against their types, pipelines against the registries and the
saved connectors they name) and compares it with the server: + create, ~ update (with a unified diff
from the server's object to the file), - delete (objects no file names: deleted by apply --prune),
and notes such as an object changed in the web app since the last apply. Secret values are never
compared or shown. Every problem of every file is listed as file:line:column: path: message.
With --exit-code, plan exits 2 when apply would change something (0 when not, 1 on errors).`,
		Example: `  aggregator plan --dir ./platform --server https://etl.example.com`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, err := makePlan(cmd, f, info, prune, updateSecrets)
			if err != nil {
				return err
			}
			ascode.WritePlan(cmd.OutOrStdout(), p, verbose)
			if exitCode && p.Count(ascode.Create)+p.Count(ascode.Update)+prunedDeletes(p) > 0 {
				return errExit{code: 2}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&prune, "prune", false, "plan deletions of the server's objects that no file names")
	cmd.Flags().BoolVar(&updateSecrets, "update-secrets", false, "plan sending secret values of unchanged connectors too (after a rotation)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list unchanged objects too")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 2 when there are changes")
	return cmd
}

func newApplyCmd(info buildInfo) *cobra.Command {
	var f ascodeFlags
	var prune, updateSecrets bool
	cmd := &cobra.Command{
		Use:   "apply --dir DIR",
		Short: "Make a server hold what a directory of YAML files says: create, update and (with --prune) delete",
		Long: `Apply makes the plan (see aggregator plan), prints it and carries it out through the API:
connectors, then transformations, then pipelines (each after those it runs after), each marked on the
server as managed from its file, so that the web app shows where it comes from and when it has been
changed since. With --prune, objects that no file names are deleted (pipelines first).

When any file has a problem, apply lists every problem and changes nothing. Applying twice changes
nothing the second time. ${VARIABLE}s in connector and transformation configs come from the
environment; an unset one keeps the server's value of an existing secret and is an error otherwise.
Secret values are sent when a connector is created or changed, or with --update-secrets.`,
		Example: `  AGGREGATOR_TOKEN=agg_... WAREHOUSE_PASSWORD=... aggregator apply --dir ./platform --prune`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, api, err := makePlan(cmd, f, info, prune, updateSecrets)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			ascode.WritePlan(out, p, false)
			rep, err := ascode.Apply(cmd.Context(), api, p, out)
			fmt.Fprintf(out, "Applied: %d created, %d updated, %d deleted.\n", rep.Created, rep.Updated, rep.Deleted)
			return err
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&prune, "prune", false, "delete the server's objects that no file names")
	cmd.Flags().BoolVar(&updateSecrets, "update-secrets", false, "send secret values of unchanged connectors too (after a rotation)")
	return cmd
}

func prunedDeletes(p *ascode.Plan) int {
	if !p.Pruned {
		return 0
	}
	return p.Count(ascode.Delete)
}

// makePlan loads the directory, reads the server and plans; problems are printed as
// file:line:column lines and returned as errProblems.
func makePlan(cmd *cobra.Command, f ascodeFlags, info buildInfo, prune, updateSecrets bool) (*ascode.Plan, ascode.API, error) {
	api, err := f.client(info)
	if err != nil {
		return nil, api, err
	}
	out := cmd.OutOrStdout()
	files, err := ascode.Load(f.dir)
	if err != nil {
		return nil, api, printedProblems(out, err)
	}
	var server []ascode.Object
	for _, k := range ascode.Kinds {
		objs, err := api.Objects(cmd.Context(), k)
		if err != nil {
			return nil, api, err
		}
		server = append(server, objs...)
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, api, err
	}
	comp, err := app.NewComponents(cfg, app.NewLogger(cfg, cmd.ErrOrStderr()))
	if err != nil {
		return nil, api, err
	}
	p, err := ascode.MakePlan(cmd.Context(), files, server, ascode.Options{
		Prune: prune, UpdateSecrets: updateSecrets, Lookup: os.LookupEnv, Validator: componentsValidator{comp},
	})
	if err != nil {
		return nil, api, printedProblems(out, err)
	}
	return p, api, nil
}

func printedProblems(w io.Writer, err error) error {
	var ps ascode.Problems
	if !errors.As(err, &ps) {
		return err
	}
	for _, p := range ps {
		fmt.Fprintln(w, p.String())
	}
	if len(ps) == 1 {
		return errors.New("1 problem; nothing was changed")
	}
	return fmt.Errorf("%d problems; nothing was changed", len(ps))
}

// componentsValidator checks objects against the registries this binary was built with.
type componentsValidator struct{ c *app.Components }

func (v componentsValidator) Connector(typ string, cfg map[string]any) error {
	conn, err := v.c.Connectors.Get(typ)
	if err != nil {
		return err
	}
	if errs := conn.Spec().Config.Validate(cfg); len(errs) > 0 {
		return errs
	}
	return nil
}

func (v componentsValidator) Transformation(typ string, cfg map[string]any) error {
	def, err := v.c.Transforms.Get(typ)
	if err != nil {
		return err
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	_, err = def.New(cfg)
	return err
}

func (v componentsValidator) Pipeline(ctx context.Context, spec *pipeline.Spec, r pipeline.Resolver) error {
	_, err := v.c.Plan(ctx, spec, r)
	return err
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// errExit ends the command with an exit code and no message.
type errExit struct{ code int }

func (e errExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }
