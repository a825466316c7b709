package filekit

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/dataaggregator/aggregator/internal/connector"
)

// Config is a decoded file connector config: it says where its file is. Configs that embed Source
// have it.
type Config interface {
	Location() (path, upload string)
}

// Format is what a file connector supplies; Connector makes a source and destination of it. Reader
// opens the configured file (from the checkpoint in req.State, if any); its schema is known once open.
// Writer opens the destination (resolve its path with Destination).
type Format[C Config] interface {
	Spec() connector.Spec
	Reader(ctx context.Context, env connector.Env, cfg C, req connector.ReadRequest) (connector.Reader, error)
	Writer(ctx context.Context, env connector.Env, cfg C, req connector.WriteRequest) (connector.Writer, error)
}

// StreamLister is an optional Format capability: a format whose file holds several streams (the
// sheets of a workbook) lists them itself; otherwise Discover returns the file as one stream.
type StreamLister[C Config] interface {
	Discover(ctx context.Context, env connector.Env, cfg C) (*connector.Catalog, error)
}

// Connector is a file connector made of its Format: the config decoding, Check, Discover, Open and
// OpenWriter every file connector shares.
type Connector[C Config] struct {
	f      Format[C]
	decode func(raw map[string]any) (C, error)
}

// NewConnector returns the connector of a format whose config T embeds Source: a config is decoded
// by the format's spec and its types option checked (DecodeConfig).
func NewConnector[T any, C interface {
	*T
	Config
	source() *Source
}](f Format[C]) *Connector[C] {
	return &Connector[C]{f: f, decode: func(raw map[string]any) (C, error) { return DecodeConfig[T, C](f.Spec(), raw) }}
}

// NewConnectorWith returns the connector of a format whose config needs more than its spec checks:
// decode turns a raw config into it.
func NewConnectorWith[C Config](f Format[C], decode func(raw map[string]any) (C, error)) *Connector[C] {
	return &Connector[C]{f: f, decode: decode}
}

var (
	_ connector.Source      = (*Connector[*Source])(nil)
	_ connector.Destination = (*Connector[*Source])(nil)
	_ connector.Checker     = (*Connector[*Source])(nil)
	_ connector.Discoverer  = (*Connector[*Source])(nil)
)

// Spec describes the connector.
func (c *Connector[C]) Spec() connector.Spec { return c.f.Spec() }

// Check validates the config; an existing file is opened and its inference sample read, for a path
// that does not exist yet (a destination's new file) its directory must be allowed and exist.
func (c *Connector[C]) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	cfg, err := c.decode(raw)
	if err != nil {
		return err
	}
	if path, upload := cfg.Location(); upload == "" {
		if _, err := Local(env, path, false); errors.Is(err, connector.ErrNotFound) {
			_, err := Local(env, path, true)
			return err
		}
	}
	r, err := c.f.Reader(ctx, env, cfg, connector.ReadRequest{BatchSize: 1})
	if err != nil {
		return err
	}
	return r.Close()
}

// Discover returns the file as one stream (named after the file, or the upload id) with the schema
// inferred from its sample, unless the format lists its streams itself (StreamLister).
func (c *Connector[C]) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	cfg, err := c.decode(raw)
	if err != nil {
		return nil, err
	}
	if l, ok := c.f.(StreamLister[C]); ok {
		return l.Discover(ctx, env, cfg)
	}
	r, err := c.f.Reader(ctx, env, cfg, connector.ReadRequest{BatchSize: 1})
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

// Open starts reading (from the checkpoint in req.State, if any).
func (c *Connector[C]) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	cfg, err := c.decode(raw)
	if err != nil {
		return nil, err
	}
	return c.f.Reader(ctx, env, cfg, req)
}

// OpenWriter starts writing the file.
func (c *Connector[C]) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	cfg, err := c.decode(raw)
	if err != nil {
		return nil, err
	}
	return c.f.Writer(ctx, env, cfg, req)
}

// Destination resolves a destination's file: a path (an upload cannot be written), confined to the
// roots, whose directory exists.
func Destination(env connector.Env, path, upload string) (string, error) {
	if upload != "" {
		return "", connector.ConfigError(errors.New("upload: a destination writes to a path, not an upload"))
	}
	return Local(env, path, true)
}
