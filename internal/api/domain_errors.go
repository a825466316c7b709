package api

import (
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// domainError maps the sentinel errors of the layers below to HTTP problems,
// or returns nil for errors the funnel must treat as internal. Messages here
// are written for users and never include driver or SQL text.
func domainError(err error) error {
	var pe *auth.PolicyError
	var ce *store.ConflictError
	var te *auth.ThrottledError
	var be *runs.BusyError
	var de *store.DependentsError
	switch {
	case errors.As(err, &be):
		return conflict(be.Error())
	case errors.As(err, &de):
		return conflict(de.Error())
	case errors.As(err, &pe):
		return policyProblem(pe, "body.password")
	case errors.As(err, &te):
		return tooMany(te.Error(), retrySeconds(te.RetryAfter))
	case errors.As(err, &ce):
		if ce.Field == "" {
			return conflict("an item with the same unique value already exists")
		}
		return newProblem(http.StatusConflict, ce.Field+" already exists",
			fieldError("body."+ce.Field, "already exists", nil))
	case errors.Is(err, store.ErrConflict):
		return conflict("the item changed or already exists; reload and try again")
	case errors.Is(err, store.ErrNotFound):
		return notFound("the requested item was")
	case errors.Is(err, store.ErrInvalid):
		return newProblem(http.StatusUnprocessableEntity, "invalid input: "+err.Error())
	case errors.Is(err, auth.ErrProductionRefused):
		return forbidden("refused in production")
	case errors.Is(err, auth.ErrInvalidToken):
		return unauthorized("invalid or expired token")
	}
	return nil
}

// policyProblem is a 422 listing every way a password fails the policy, each
// at location.
func policyProblem(pe *auth.PolicyError, location string) error {
	fields := make([]*huma.ErrorDetail, len(pe.Problems))
	for i, p := range pe.Problems {
		fields[i] = fieldError(location, p, nil)
	}
	return newProblem(http.StatusUnprocessableEntity, pe.Error(), fields...)
}
