package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/ascode"
	"github.com/dataaggregator/aggregator/internal/store"
)

// ManagedFrom says that an object was last written from a file by `aggregator apply`
// (docs/pipelines-as-code.md).
type ManagedFrom struct {
	Path      string    `json:"path" doc:"The file, relative to the applied directory (pipelines/orders.yaml)"`
	AppliedBy string    `json:"applied_by"`
	AppliedAt time.Time `json:"applied_at"`
	Drifted   *bool     `json:"drifted,omitempty" doc:"Changed in the web app or the API since the last apply: the file no longer says what the server holds (aggregator export writes it back). Absent in lists"`
}

func toManagedFrom(m store.Managed, currentDigest string) *ManagedFrom {
	drifted := m.Digest != currentDigest
	return &ManagedFrom{Path: m.Path, AppliedBy: m.AppliedBy, AppliedAt: m.AppliedAt, Drifted: &drifted}
}

// listedManaged is an object's mark in a list, without drift (lists do not carry what the
// digest covers).
func listedManaged(all map[string]store.Managed, id string) *ManagedFrom {
	m, ok := all[id]
	if !ok {
		return nil
	}
	return &ManagedFrom{Path: m.Path, AppliedBy: m.AppliedBy, AppliedAt: m.AppliedAt}
}

// managedOne returns an object's mark, nil when it is not managed from a file.
func (s *Server) managedOne(ctx context.Context, kind, id, currentDigest string) (*ManagedFrom, error) {
	m, err := s.store.GetManaged(ctx, kind, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return toManagedFrom(m, currentDigest), nil
}

func pipelineDigest(p Pipeline) string { return ascode.PipelineDigest(p.SpecText) }
func connectorDigest(c Connector) string {
	return ascode.ObjectDigest(c.Name, c.Type, c.Description, c.Config)
}
func transformationDigest(t Transformation) string {
	return ascode.ObjectDigest(t.Name, t.Type, t.Description, t.Config)
}

const managedDescription = `Pipelines as code (docs/pipelines-as-code.md): after aggregator apply writes an object from a
file it marks it with the file's path. The server records a digest of the object as it is then (for a
pipeline its spec text; for a connector or transformation its name, type, description and config with
secrets redacted), and every single-object response carries managed.drifted: whether the object has
changed since.`

type setManagedInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Path string `json:"path" minLength:"1" maxLength:"512" doc:"The file the object was applied from, relative to the applied directory"`
	}
}

type managedOutput struct {
	Body ManagedFrom
}

func validManagedPath(p string) bool {
	return !strings.HasPrefix(p, "/") && !strings.Contains(p, "..") && !strings.ContainsAny(p, "\\\x00")
}

// setManaged marks an object of kind as written from a file now. current reads the object
// (ErrNotFound when it does not exist) and returns its digest.
func (s *Server) setManaged(ctx context.Context, kind, id, path string, current func() (string, error)) (*managedOutput, error) {
	if !validManagedPath(path) {
		return nil, invalid("body.path", "a path relative to the applied directory, without .. or \\", path)
	}
	d, err := current()
	if err != nil {
		return nil, err
	}
	m, err := s.store.PutManaged(ctx, store.Managed{Kind: kind, ObjectID: id, Path: path, Digest: d, AppliedBy: principalFrom(ctx).Username})
	if err != nil {
		return nil, err
	}
	infoFrom(ctx).setExtra("path", path)
	return &managedOutput{Body: *toManagedFrom(m, d)}, nil
}

func (s *Server) unsetManaged(ctx context.Context, kind, id string) (*noContent, error) {
	if err := s.store.DeleteManaged(ctx, kind, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("a mark of this " + kind + " as managed from a file was")
		}
		return nil, err
	}
	return &noContent{}, nil
}

func (s *Server) setPipelineManaged(ctx context.Context, in *setManagedInput) (*managedOutput, error) {
	return s.setManaged(ctx, store.ManagedPipeline, in.ID, in.Body.Path, func() (string, error) {
		p, err := s.data.Pipelines.Get(ctx, in.ID)
		if err != nil {
			return "", err
		}
		return ascode.PipelineDigest(p.Pipeline.Spec), nil
	})
}

func (s *Server) unsetPipelineManaged(ctx context.Context, in *pipelineIDInput) (*noContent, error) {
	return s.unsetManaged(ctx, store.ManagedPipeline, in.ID)
}

func (s *Server) setConnectorManaged(ctx context.Context, in *setManagedInput) (*managedOutput, error) {
	return s.setManaged(ctx, store.ManagedConnector, in.ID, in.Body.Path, func() (string, error) {
		c, err := s.data.Connections.Get(ctx, in.ID)
		if err != nil {
			return "", err
		}
		return connectorDigest(toConnectorDTO(c)), nil
	})
}

func (s *Server) unsetConnectorManaged(ctx context.Context, in *connectorIDInput) (*noContent, error) {
	return s.unsetManaged(ctx, store.ManagedConnector, in.ID)
}

func (s *Server) setTransformationManaged(ctx context.Context, in *setManagedInput) (*managedOutput, error) {
	return s.setManaged(ctx, store.ManagedTransformation, in.ID, in.Body.Path, func() (string, error) {
		t, err := s.store.GetTransformation(ctx, in.ID)
		if err != nil {
			return "", err
		}
		return transformationDigest(toTransformationDTO(t)), nil
	})
}

func (s *Server) unsetTransformationManaged(ctx context.Context, in *transformationIDInput) (*noContent, error) {
	return s.unsetManaged(ctx, store.ManagedTransformation, in.ID)
}
