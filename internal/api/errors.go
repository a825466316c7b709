package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// problem is the RFC 9457 body every error response carries.
type problem = huma.ErrorModel

// newProblem builds a problem with per-field details.
func newProblem(status int, detail string, fields ...*huma.ErrorDetail) *problem {
	return &problem{Status: status, Title: http.StatusText(status), Detail: detail, Errors: fields}
}

// fieldError names one bad input field; location follows huma's convention
// ("body.email", "path.id", "query.role").
func fieldError(location, message string, value any) *huma.ErrorDetail {
	return &huma.ErrorDetail{Location: location, Message: message, Value: value}
}

// invalid is a 422 for one bad field.
func invalid(location, message string, value any) error {
	return newProblem(http.StatusUnprocessableEntity, "validation failed: "+location+": "+message, fieldError(location, message, value))
}

func notFound(what string) error { return newProblem(http.StatusNotFound, what+" not found") }

func forbidden(detail string) error { return newProblem(http.StatusForbidden, detail) }

func conflict(detail string) error { return newProblem(http.StatusConflict, detail) }

// tooMany is a 429 whose Retry-After header says when to come back.
func tooMany(detail string, retryAfterSeconds int) error {
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	return huma.ErrorWithHeaders(newProblem(http.StatusTooManyRequests, detail), h)
}

// unauthorized is a 401 with the bearer challenge.
func unauthorized(detail string) error {
	h := http.Header{}
	h.Set("WWW-Authenticate", `Bearer realm="aggregator"`)
	return huma.ErrorWithHeaders(newProblem(http.StatusUnauthorized, detail), h)
}

func internalErrorDetail(ctx context.Context) string {
	return "internal error; quote request id " + RequestID(ctx) + " when reporting it"
}

// funnel is the one place where a handler error becomes an HTTP error. Errors
// that already carry a status (problems built in this package, huma's own)
// pass through; known domain errors map to their status (domainError); anything
// else is logged with the request id and answered with a 500 that leaks nothing.
func (s *Server) funnel(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var se huma.StatusError
	if errors.As(err, &se) {
		if se.GetStatus() >= 500 {
			s.log.ErrorContext(ctx, "request failed", "status", se.GetStatus(), "error", err)
		}
		return err
	}
	if mapped := domainError(err); mapped != nil {
		return mapped
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nothing useful can be sent.
		return newProblem(499, "request cancelled")
	}
	s.log.ErrorContext(ctx, "request failed", "error", err)
	return newProblem(http.StatusInternalServerError, internalErrorDetail(ctx))
}

// writeProblem writes a problem from plain net/http code (middleware, the
// catch-all 404) where huma's writer is not available.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string, fields []*huma.ErrorDetail) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	p := newProblem(status, detail, fields...)
	p.Instance = r.URL.Path
	_ = json.NewEncoder(w).Encode(p)
}

// scrubProblem removes echoed values that could carry secrets from huma's
// validation details: whole objects (a request body with a password in it)
// the raw body of malformed JSON, and any value at a location naming a
// password, token or secret.
func scrubProblem(_ huma.Context, _ string, v any) (any, error) {
	p, ok := v.(*problem)
	if !ok {
		return v, nil
	}
	for _, d := range p.Errors {
		if d == nil {
			continue
		}
		switch d.Value.(type) {
		case map[string]any, []any:
			d.Value = nil
		}
		loc := strings.ToLower(d.Location)
		if loc == "body" || strings.Contains(loc, "password") || strings.Contains(loc, "token") || strings.Contains(loc, "secret") {
			d.Value = nil
		}
	}
	return p, nil
}
