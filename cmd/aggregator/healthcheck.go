package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/config"
)

// newHealthcheckCmd probes a local server: the container image has no shell or
// curl, so its HEALTHCHECK runs the binary itself.
func newHealthcheckCmd() *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the server on PORT answers /healthz (for container health checks)",
		Example: `  aggregator healthcheck
  aggregator healthcheck --url http://127.0.0.1:8001/readyz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				port := config.DefaultPort
				if v := os.Getenv("PORT"); v != "" {
					p, err := strconv.Atoi(v)
					if err != nil {
						return fmt.Errorf("PORT: %q is not a port number", v)
					}
					port = p
				}
				url = "http://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return fmt.Errorf("--url: %w", err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("healthcheck %s: %w", url, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("healthcheck %s: %s", url, resp.Status)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", url, resp.Status)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "URL to probe (default http://127.0.0.1:PORT/healthz)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}
