package fileio

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// Located is a decoded file connector config: it says where its file is.
type Located interface {
	Location() (path, upload string)
}

// Format is what a single-file connector supplies to the shared Check, Discover and Open: how to
// decode its config and how to open a reader on it. The reader's schema is known once it is open.
type Format[C Located] interface {
	Decode(raw map[string]any) (C, error)
	Reader(ctx context.Context, env connector.Env, cfg C, req connector.ReadRequest) (connector.Reader, error)
}

// Check validates the config; an existing file is opened and its inference sample read, for a path
// that does not exist yet (a destination's new file) its directory must be allowed and exist.
func Check[C Located](ctx context.Context, env connector.Env, f Format[C], raw map[string]any) error {
	cfg, err := f.Decode(raw)
	if err != nil {
		return err
	}
	if path, upload := cfg.Location(); upload == "" {
		if _, err := Local(env, path, false); errors.Is(err, connector.ErrNotFound) {
			_, err := Local(env, path, true)
			return err
		}
	}
	r, err := f.Reader(ctx, env, cfg, connector.ReadRequest{BatchSize: 1})
	if err != nil {
		return err
	}
	return r.Close()
}

// Discover returns the file as one stream (named after the file, or the upload id) with the schema
// inferred from its sample.
func Discover[C Located](ctx context.Context, env connector.Env, f Format[C], raw map[string]any) (*connector.Catalog, error) {
	cfg, err := f.Decode(raw)
	if err != nil {
		return nil, err
	}
	r, err := f.Reader(ctx, env, cfg, connector.ReadRequest{BatchSize: 1})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	path, name := cfg.Location()
	if name == "" {
		name = filepath.Base(path)
	}
	return &connector.Catalog{Streams: []connector.Stream{{Name: name, Kind: "file", Schema: r.Schema()}}}, nil
}

// OpenReader decodes the config and opens a reader (from the checkpoint in req.State, if any).
func OpenReader[C Located](ctx context.Context, env connector.Env, f Format[C], raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	cfg, err := f.Decode(raw)
	if err != nil {
		return nil, err
	}
	return f.Reader(ctx, env, cfg, req)
}

// OpenInput resolves a source's file (upload or confined path, see Input) and opens it (see Open):
// the opened input, the resolved path (to open it again), and the name errors call it.
func OpenInput(ctx context.Context, env connector.Env, path, upload string) (in *In, real string, err error) {
	real, name, err := Input(ctx, env, path, upload)
	if err != nil {
		return nil, "", err
	}
	in, err = Open(real, name)
	if err != nil {
		return nil, "", err
	}
	return in, real, nil
}

// Destination resolves a destination's file: a path (an upload cannot be written), confined to the
// roots, whose directory exists.
func Destination(env connector.Env, path, upload string) (string, error) {
	if upload != "" {
		return "", connector.ConfigError(errors.New("upload: a destination writes to a path, not an upload"))
	}
	return Local(env, path, true)
}
