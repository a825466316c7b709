package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// DataDeps are the services behind the data routes: pipelines, runs,
// transformations, saved connectors, uploaded files and mappings.
type DataDeps struct {
	// Pipelines saves, plans, validates and previews pipelines.
	Pipelines *pipelines.Service
	// Runs starts and cancels runs and serves their live counters.
	Runs *runs.Service
	// Connectors and Transforms are the registries the application was built
	// with (the connector types and transformation types the API lists).
	Connectors *connector.Registry
	Transforms *transform.Registry
	// Connections owns saved connectors (secrets sealed at rest, redacted on
	// read).
	Connections *connections.Service
	// UploadDir is where uploads are stored (DATA_DIR/uploads).
	UploadDir string
	// MaxUploadBytes limits one uploaded file (default 100 MiB).
	MaxUploadBytes int64
}

// problemsError turns spec problems into a 422 listing each with its path
// (location "body.<path>", as huma names body fields).
func problemsError(ps pipeline.Problems) error {
	fields := make([]*huma.ErrorDetail, len(ps))
	for i, p := range ps {
		loc := "body"
		if p.Path != "" {
			loc = "body." + p.Path
		}
		msg := p.Message
		if p.Line > 0 {
			msg = p.String()
			if p.Path != "" {
				msg = strings.TrimPrefix(msg, p.Path+": ")
			}
		}
		fields[i] = fieldError(loc, msg, nil)
	}
	detail := ps.Error()
	return newProblem(http.StatusUnprocessableEntity, detail, fields...)
}

// configError turns configspec errors (or another error from building a
// component with its config) into a 422 with each problem under location.
func configError(location string, err error) error {
	var ces configspec.Errors
	if errors.As(err, &ces) {
		fields := make([]*huma.ErrorDetail, len(ces))
		for i, e := range ces {
			fields[i] = fieldError(configspec.JoinPath(location, e.Path), e.Message, nil)
		}
		return newProblem(http.StatusUnprocessableEntity, "invalid configuration: "+ces.Error(), fields...)
	}
	var fe configspec.FieldError
	if errors.As(err, &fe) {
		return invalid(configspec.JoinPath(location, fe.Path), fe.Message, nil)
	}
	return invalid(location, err.Error(), nil)
}

// specError maps the error of parsing or validating a spec: problems become
// a 422, anything else goes to the funnel.
func specError(err error) error {
	var de *pipelines.DraftError
	if errors.As(err, &de) {
		return draftError(de)
	}
	if ps, ok := pipeline.AsProblems(err); ok {
		return problemsError(ps)
	}
	return err
}

// draftError is the 409 of running a draft: each problem at "spec.<path>", with its node.
func draftError(de *pipelines.DraftError) error {
	fields := make([]*huma.ErrorDetail, len(de.Problems))
	for i, p := range de.Problems {
		loc := "spec"
		if p.Path != "" {
			loc = "spec." + p.Path
		}
		msg := p.Message
		if p.Node != "" {
			msg = "node " + p.Node + ": " + msg
		}
		fields[i] = fieldError(loc, msg, nil)
	}
	return newProblem(http.StatusConflict, de.Error(), fields...)
}
