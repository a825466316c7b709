package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/spf13/cobra"

	"github.com/dataaggregator/aggregator/internal/app"
	"github.com/dataaggregator/aggregator/internal/config"
)

// newOpenAPICmd prints the OpenAPI document the server serves at /api/v1/openapi.json, without a
// running server: the web app's API client is generated from it (web/scripts/gen-api.mjs).
func newOpenAPICmd(info buildInfo) *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the API's OpenAPI 3.1 document (JSON), as served at /api/v1/openapi.json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "aggregator-openapi-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			cfg := config.Default()
			cfg.DataDir = dir
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			a, err := app.New(cmd.Context(), cfg, app.Options{
				Version: info.Version, Console: io.Discard, Listener: ln,
				Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				return err
			}
			defer a.Close()
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
			if rec.Code != http.StatusOK {
				return fmt.Errorf("openapi: the server answered %d", rec.Code)
			}
			_, err = cmd.OutOrStdout().Write(rec.Body.Bytes())
			return err
		},
	}
}
