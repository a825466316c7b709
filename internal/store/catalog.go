package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Transformation is a saved, reusable transformation node: a type and its
// JSON config. Version increases with every update.
type Transformation struct {
	ID          string
	Name        string
	Type        string
	Description string
	Config      json.RawMessage
	Version     int
	CreatedBy   string
	UpdatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const transformationCols = `id, name, type, description, config, version, created_by, updated_by, created_at, updated_at`

func scanTransformation(row scanner) (Transformation, error) {
	var t Transformation
	err := row.Scan(&t.ID, &t.Name, &t.Type, &t.Description, jsonCol{&t.Config}, &t.Version, &t.CreatedBy, &t.UpdatedBy,
		timeCol{&t.CreatedAt}, timeCol{&t.UpdatedAt})
	return t, err
}

// CreateTransformation inserts t as version 1 (Name and Type required, names unique).
func (s *Store) CreateTransformation(ctx context.Context, t Transformation) (Transformation, error) {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || t.Type == "" {
		return Transformation{}, fmt.Errorf("create transformation: %w: name and type are required", ErrInvalid)
	}
	cfg, err := jsonDocArg("config", &t.Config)
	if err != nil {
		return Transformation{}, fmt.Errorf("create transformation: %w", err)
	}
	if t.ID, err = newID(); err != nil {
		return Transformation{}, err
	}
	now := s.nowUTC()
	t.Version, t.CreatedAt, t.UpdatedAt, t.UpdatedBy = 1, now, now, t.CreatedBy
	return valueOr(t, s.insert(ctx, s.db, "create transformation", "transformations", transformationCols,
		t.ID, t.Name, t.Type, t.Description, cfg, t.Version, t.CreatedBy, t.UpdatedBy, s.ts(now), s.ts(now)))
}

// GetTransformation returns a transformation by id.
func (s *Store) GetTransformation(ctx context.Context, id string) (Transformation, error) {
	return s.getTransformation(ctx, `id = $1`, id)
}

// GetTransformationByName returns a transformation by name (case-insensitive).
func (s *Store) GetTransformationByName(ctx context.Context, name string) (Transformation, error) {
	return s.getTransformation(ctx, `LOWER(name) = LOWER($1)`, name)
}

func (s *Store) getTransformation(ctx context.Context, cond, arg string) (Transformation, error) {
	return getOne(ctx, s, "get transformation", "transformation", arg, scanTransformation,
		`SELECT `+transformationCols+` FROM transformations WHERE `+cond, arg)
}

// ListTransformations lists transformations by name; search matches name or description.
func (s *Store) ListTransformations(ctx context.Context, search string, page Page) ([]Transformation, int, error) {
	var w where
	if search != "" {
		p := likePattern(search)
		w.add(`(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(description) LIKE ? ESCAPE '\')`, p, p)
	}
	return listQuery(ctx, s, "list transformations", "transformations", transformationCols, w, "LOWER(name), id", page, scanTransformation)
}

// UpdateTransformation replaces name, type, description and config and bumps
// the version. When expectedVersion > 0 it must match (else ErrConflict).
func (s *Store) UpdateTransformation(ctx context.Context, t Transformation, expectedVersion int) (Transformation, error) {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || t.Type == "" {
		return Transformation{}, fmt.Errorf("update transformation: %w: name and type are required", ErrInvalid)
	}
	cfg, err := jsonDocArg("config", &t.Config)
	if err != nil {
		return Transformation{}, fmt.Errorf("update transformation: %w", err)
	}
	var w where
	w.add(`name = ?`, t.Name)
	w.add(`type = ?`, t.Type)
	w.add(`description = ?`, t.Description)
	w.add(`config = ?`, cfg)
	w.add(`updated_by = ?`, t.UpdatedBy)
	w.add(`updated_at = ?`, s.ts(s.nowUTC()))
	w.add(`version = version + 1`)
	set := strings.Join(w.conds, ", ")
	w.conds = nil
	w.add(`id = ?`, t.ID)
	if expectedVersion > 0 {
		w.add(`version = ?`, expectedVersion)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE transformations SET `+set+w.sql(), w.args...)
	n, err := rowsAffected(s, res, err, "update transformation")
	if err != nil {
		return Transformation{}, err
	}
	if n == 0 {
		cur, err := s.GetTransformation(ctx, t.ID)
		if err != nil {
			return Transformation{}, err
		}
		return Transformation{}, fmt.Errorf("update transformation: version is %d, not %d: %w", cur.Version, expectedVersion, ErrConflict)
	}
	return s.GetTransformation(ctx, t.ID)
}

// DeleteTransformation removes a transformation.
func (s *Store) DeleteTransformation(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM transformations WHERE id = $1`, id)
	return affectedOne(s, res, err, "delete transformation", "transformation", id)
}

// UploadedFile is the metadata of a file uploaded to DATA_DIR/uploads.
type UploadedFile struct {
	ID           string
	OriginalName string
	StoredPath   string
	Size         int64
	ContentType  string
	SHA256       string
	UploadedBy   string
	CreatedAt    time.Time
}

const fileCols = `id, original_name, stored_path, size, content_type, sha256, uploaded_by, created_at`

func scanFile(row scanner) (UploadedFile, error) {
	var f UploadedFile
	err := row.Scan(&f.ID, &f.OriginalName, &f.StoredPath, &f.Size, &f.ContentType, &f.SHA256, &f.UploadedBy, timeCol{&f.CreatedAt})
	return f, err
}

// CreateUploadedFile records an uploaded file. The ID is kept when set (the
// caller may have named the stored file after it), else generated.
func (s *Store) CreateUploadedFile(ctx context.Context, f UploadedFile) (UploadedFile, error) {
	if f.OriginalName == "" || f.StoredPath == "" || f.SHA256 == "" || f.Size < 0 {
		return UploadedFile{}, fmt.Errorf("create uploaded file: %w: name, stored path, sha256 and size are required", ErrInvalid)
	}
	if f.ID == "" {
		id, err := newID()
		if err != nil {
			return UploadedFile{}, err
		}
		f.ID = id
	}
	f.CreatedAt = s.nowUTC()
	return valueOr(f, s.insert(ctx, s.db, "create uploaded file", "uploaded_files", fileCols,
		f.ID, f.OriginalName, f.StoredPath, f.Size, f.ContentType, f.SHA256, f.UploadedBy, s.ts(f.CreatedAt)))
}

// GetUploadedFile returns a file's metadata.
func (s *Store) GetUploadedFile(ctx context.Context, id string) (UploadedFile, error) {
	return getOne(ctx, s, "get uploaded file", "file", id, scanFile, `SELECT `+fileCols+` FROM uploaded_files WHERE id = $1`, id)
}

// ListUploadedFiles lists files, newest first; uploadedBy "" lists everyone's.
func (s *Store) ListUploadedFiles(ctx context.Context, uploadedBy string, page Page) ([]UploadedFile, int, error) {
	var w where
	w.eq(`uploaded_by`, uploadedBy)
	return listQuery(ctx, s, "list uploaded files", "uploaded_files", fileCols, w, "created_at DESC, id DESC", page, scanFile)
}

// DeleteUploadedFile removes a file's metadata (the caller removes the file).
func (s *Store) DeleteUploadedFile(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM uploaded_files WHERE id = $1`, id)
	return affectedOne(s, res, err, "delete uploaded file", "file", id)
}
