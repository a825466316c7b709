package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/apiclient"
	"github.com/dataaggregator/aggregator/internal/auth"
)

// newTriggerCmd: `aggregator trigger <pipeline>` asks a running server for a run, through its API.
func newTriggerCmd(info buildInfo) *cobra.Command {
	var (
		server, token string
		wait          bool
		timeout       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "trigger <pipeline name or id>",
		Short: "Queue a run of a saved pipeline on a running server; --wait follows it to its outcome",
		Long: `Trigger asks a running server (aggregator serve) for a run of a saved pipeline, named by its name
or id, and prints the run's id. The run is recorded with trigger "manual" (via cli) and your user.

Authenticate with an API token (create one in the web app under Profile > API tokens, or with
POST /api/v1/auth/tokens), given with --token or AGGREGATOR_TOKEN; the server is --server,
AGGREGATOR_URL, or http://localhost:8001. A pipeline's webhook token (aggwh_...) also works, with
the pipeline's id, but cannot --wait: it may start runs, not read them.

With --wait, trigger follows the run until it ends, prints its outcome, and exits with status 1
when it failed or was cancelled (0 when it succeeded). Interrupting the wait does not cancel the run.`,
		Example: `  AGGREGATOR_TOKEN=agg_... aggregator trigger orders-clean --wait
  aggregator trigger 0199c0de-... --server https://etl.example.com --token agg_...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if server == "" {
				server = os.Getenv("AGGREGATOR_URL")
			}
			if server == "" {
				server = "http://localhost:8001"
			}
			if token == "" {
				token = os.Getenv("AGGREGATOR_TOKEN")
			}
			if token == "" {
				return errors.New("trigger: an API token is required: --token or AGGREGATOR_TOKEN (create one in the web app under Profile > API tokens)")
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			c := &apiClient{Client: apiclient.New(server, token, "aggregator-cli/"+info.Version), token: token}
			return triggerRun(ctx, c, args[0], wait, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&server, "server", "", "the server's URL (env AGGREGATOR_URL, default http://localhost:8001)")
	fs.StringVar(&token, "token", "", "an API token, or the pipeline's webhook token (env AGGREGATOR_TOKEN)")
	fs.BoolVar(&wait, "wait", false, "follow the run to its outcome; exit 1 when it fails or is cancelled")
	fs.DurationVar(&timeout, "timeout", 0, "with --wait, stop waiting after this long (the run goes on), e.g. 30m; 0: no limit")
	return cmd
}

// cliRun is what trigger reads of a run.
type cliRun struct {
	ID         string `json:"id"`
	RunID      string `json:"run_id"` // the webhook's answer
	PipelineID string `json:"pipeline_id"`
	Status     string `json:"status"`
	Error      string `json:"error"`
}

func triggerRun(ctx context.Context, c *apiClient, ref string, wait bool, out, errOut io.Writer) error {
	var run cliRun
	if strings.HasPrefix(c.token, auth.TriggerTokenPrefix) {
		if wait {
			return errors.New("trigger: --wait needs an API token: a webhook token may start runs, not read them")
		}
		if err := c.do(ctx, http.MethodPost, "/api/v1/pipelines/"+url.PathEscape(ref)+"/trigger", &run); err != nil {
			return fmt.Errorf("trigger %s: %w", ref, err)
		}
		run.ID = run.RunID
	} else {
		id, name, err := c.resolvePipeline(ctx, ref)
		if err != nil {
			return err
		}
		if err := c.do(ctx, http.MethodPost, "/api/v1/pipelines/"+url.PathEscape(id)+"/run?via=cli", &run); err != nil {
			return fmt.Errorf("trigger %s: %w", name, err)
		}
		ref = name
	}
	fmt.Fprintf(out, "run %s of pipeline %s: %s\n", run.ID, ref, run.Status)
	if !wait {
		return nil
	}
	last := run.Status
	delay := 200 * time.Millisecond
	for run.Status == "queued" || run.Status == "running" {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped waiting for run %s (still %s; it goes on): %w", run.ID, run.Status, context.Cause(ctx))
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
		if err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(run.ID), &run); err != nil {
			return fmt.Errorf("follow run %s: %w", run.ID, err)
		}
		if run.Status != last {
			fmt.Fprintf(errOut, "run %s: %s\n", run.ID, run.Status)
			last = run.Status
		}
	}
	if run.Status != "succeeded" {
		msg := fmt.Sprintf("run %s of pipeline %s %s", run.ID, ref, run.Status)
		if run.Error != "" {
			msg += ": " + run.Error
		}
		return errors.New(msg)
	}
	fmt.Fprintf(out, "run %s of pipeline %s: succeeded\n", run.ID, ref)
	return nil
}

// apiClient calls the server's API with a bearer token.
type apiClient struct {
	*apiclient.Client
	token string
}

func (c *apiClient) do(ctx context.Context, method, path string, v any) error {
	return c.Do(ctx, method, path, v)
}

// apiError is an error answer of the API.
type apiError = apiclient.Error

// resolvePipeline finds a live pipeline by id, or else by name (case-insensitive).
func (c *apiClient) resolvePipeline(ctx context.Context, ref string) (id, name string, _ error) {
	var p struct{ ID, Name string }
	err := c.do(ctx, http.MethodGet, "/api/v1/pipelines/"+url.PathEscape(ref), &p)
	var ae *apiError
	switch {
	case err == nil:
		return p.ID, p.Name, nil
	case !errors.As(err, &ae) || ae.Status != http.StatusNotFound:
		return "", "", fmt.Errorf("find pipeline %s: %w", ref, err)
	}
	var page struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/pipelines?per_page=100&search="+url.QueryEscape(ref), &page); err != nil {
		return "", "", fmt.Errorf("find pipeline %s: %w", ref, err)
	}
	for _, it := range page.Items {
		if strings.EqualFold(it.Name, ref) {
			return it.ID, it.Name, nil
		}
	}
	return "", "", fmt.Errorf("no pipeline is named %q or has that id", ref)
}
