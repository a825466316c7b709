package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/dataaggregator/aggregator/internal/store"
)

// Uploaded files. POST /api/v1/files takes multipart/form-data with one part
// named "file"; the part is streamed to DATA_DIR/uploads (hashing as it goes,
// never held whole in memory), refused past the size limit, and its content
// is sniffed: only CSV, TSV, JSON, NDJSON, XML, XLSX and gzip are kept. A file
// source reads an upload with `config: {upload: <id>}`.

// File is an uploaded file.
type File struct {
	ID          string    `json:"id"`
	Name        string    `json:"name" doc:"The name it was uploaded with"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type" doc:"The type found by sniffing the content"`
	Format      string    `json:"format" enum:"csv,tsv,json,ndjson,xml,xlsx,gzip"`
	SHA256      string    `json:"sha256"`
	UploadedBy  string    `json:"uploaded_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// The formats uploads may have, by content type.
var uploadFormats = map[string]string{
	"text/csv":                  "csv",
	"text/tab-separated-values": "tsv",
	"application/json":          "json",
	"application/x-ndjson":      "ndjson",
	"application/xml":           "xml",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
	"application/gzip": "gzip",
}

func toFileDTO(f store.UploadedFile) File {
	return File{ID: f.ID, Name: f.OriginalName, Size: f.Size, ContentType: f.ContentType, Format: uploadFormats[f.ContentType],
		SHA256: f.SHA256, UploadedBy: f.UploadedBy, CreatedAt: f.CreatedAt}
}

type fileOutput struct {
	Body File
}

// uploadInput keeps the request body unread: the handler streams it.
type uploadInput struct {
	body          io.Reader
	contentType   string
	contentLength int64 // -1: not declared (chunked)
}

// Resolve captures the body reader before huma would read it.
func (in *uploadInput) Resolve(ctx huma.Context) []error {
	in.body = ctx.BodyReader()
	in.contentType = ctx.Header("Content-Type")
	in.contentLength = -1
	if n, err := strconv.ParseInt(ctx.Header("Content-Length"), 10, 64); err == nil && n >= 0 {
		in.contentLength = n
	}
	return nil
}

func (s *Server) maxUpload() int64 {
	if s.data.MaxUploadBytes > 0 {
		return s.data.MaxUploadBytes
	}
	return 100 << 20
}

// uploadRouteLimit is the request size the route accepts: the file limit plus
// room for the multipart envelope.
func uploadRouteLimit(max int64) int64 { return max + 64<<10 }

var errTooLarge = errors.New("too large")

// limitedReader fails with errTooLarge past n bytes instead of ending quietly.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if k, _ := l.r.Read(one[:]); k > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

func (s *Server) uploadFile(ctx context.Context, in *uploadInput) (*fileOutput, error) {
	mt, params, err := mime.ParseMediaType(in.contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, newProblem(http.StatusUnsupportedMediaType, "send the file as multipart/form-data with a part named \"file\"")
	}
	max := s.maxUpload()
	// A declared size over the limit is refused before a byte of the body is read: a 2 GB upload
	// gets its answer at once, not after the limit was transferred.
	if in.contentLength > uploadRouteLimit(max) {
		return nil, newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"the upload is %s, more than the upload limit of %s (MAX_UPLOAD_BYTES); split the file or ask an administrator to raise the limit",
			sizeText(in.contentLength), sizeText(max)), fieldError("body.file", "larger than the upload limit of "+sizeText(max)+" (MAX_UPLOAD_BYTES)", nil))
	}
	mr := multipart.NewReader(&limitedReader{r: in.body, n: uploadRouteLimit(max)}, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, invalid("body.file", "no part named \"file\" in the form", nil)
		}
		if err != nil {
			if errors.Is(err, errTooLarge) {
				return nil, tooLarge(max)
			}
			return nil, invalid("body", "malformed multipart body: "+err.Error(), nil)
		}
		if part.FormName() != "file" {
			_ = part.Close()
			continue
		}
		f, err := s.storeUpload(ctx, part, max)
		_ = part.Close()
		if err != nil {
			return nil, err
		}
		infoFrom(ctx).setTarget("file", f.ID)
		return &fileOutput{Body: toFileDTO(f)}, nil
	}
}

func tooLarge(max int64) error {
	return newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf(
		"the file is larger than the upload limit of %s (MAX_UPLOAD_BYTES); split the file or ask an administrator to raise the limit", sizeText(max)),
		fieldError("body.file", "larger than the upload limit of "+sizeText(max)+" (MAX_UPLOAD_BYTES)", nil))
}

// sizeText writes a byte count for people: "2.0 GiB", "64 KiB", "512 bytes".
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n)/unit, 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// storeUpload streams one part to a temp file in the upload directory, then
// renames it into place and records it; nothing is left behind on failure.
func (s *Server) storeUpload(ctx context.Context, part *multipart.Part, max int64) (store.UploadedFile, error) {
	name := cleanFileName(part.FileName())
	if name == "" {
		return store.UploadedFile{}, invalid("body.file", "the part has no file name", nil)
	}
	if s.data.UploadDir == "" {
		return store.UploadedFile{}, errors.New("uploads: no upload directory configured")
	}
	if err := os.MkdirAll(s.data.UploadDir, 0o700); err != nil {
		return store.UploadedFile{}, fmt.Errorf("uploads: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.UploadedFile{}, err
	}
	final := filepath.Join(s.data.UploadDir, id.String())
	tmp, err := os.CreateTemp(s.data.UploadDir, ".upload-*.part")
	if err != nil {
		return store.UploadedFile{}, fmt.Errorf("uploads: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	br := bufio.NewReaderSize(part, 4096)
	head, _ := br.Peek(4096)
	if len(head) == 0 {
		return store.UploadedFile{}, emptyFile(name)
	}
	contentType, why := sniffUpload(head, name)
	if contentType == "" {
		return store.UploadedFile{}, newProblem(http.StatusUnsupportedMediaType,
			"file type not accepted: "+why+"; uploads may be CSV, TSV, JSON, NDJSON, XML, XLSX or gzip",
			fieldError("body.file", why, nil))
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), &limitedReader{r: br, n: max})
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return store.UploadedFile{}, tooLarge(max)
		}
		if ctx.Err() != nil {
			return store.UploadedFile{}, ctx.Err()
		}
		return store.UploadedFile{}, invalid("body.file", "upload interrupted: "+err.Error(), nil)
	}
	if n == 0 {
		return store.UploadedFile{}, emptyFile(name)
	}
	if err := tmp.Sync(); err != nil {
		return store.UploadedFile{}, fmt.Errorf("uploads: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return store.UploadedFile{}, fmt.Errorf("uploads: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return store.UploadedFile{}, fmt.Errorf("uploads: %w", err)
	}
	keep = true
	f, err := s.store.CreateUploadedFile(ctx, store.UploadedFile{ID: id.String(), OriginalName: name, StoredPath: final, Size: n,
		ContentType: contentType, SHA256: hex.EncodeToString(h.Sum(nil)), UploadedBy: principalFrom(ctx).Username})
	if err != nil {
		os.Remove(final)
		return store.UploadedFile{}, err
	}
	return f, nil
}

// emptyFile is the 422 of a 0-byte upload.
func emptyFile(name string) error {
	return invalid("body.file", fmt.Sprintf("%q is empty (0 bytes): there is nothing to read; choose a file with data", name), nil)
}

// cleanFileName keeps the base name of what the client sent, without control
// characters, at most 255 bytes.
func cleanFileName(n string) string {
	n = filepath.Base(strings.ReplaceAll(n, "\\", "/"))
	if n == "." || n == "/" {
		return ""
	}
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, n)
	if len(n) > 255 {
		n = n[:255]
	}
	return strings.TrimSpace(n)
}

// sniffUpload decides the content type from the first bytes (and, to tell
// CSV from TSV and JSON from NDJSON, the name). "" means refused, with why.
func sniffUpload(head []byte, name string) (contentType, why string) {
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case len(head) == 0:
		return "", "the file is empty"
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "application/gzip", ""
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		if ext == ".xlsx" || bytes.Contains(head, []byte("xl/")) || bytes.Contains(head, []byte("[Content_Types].xml")) {
			return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ""
		}
		return "", "a zip archive that is not an Excel .xlsx workbook"
	}
	text := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(text, 0) >= 0 {
		return "", "binary content (" + http.DetectContentType(head) + ")"
	}
	// The window may end inside a multi-byte character; trim it before checking.
	check := text
	for i := 0; i < 3 && len(check) > 0 && !utf8.Valid(check); i++ {
		check = check[:len(check)-1]
	}
	if !utf8.Valid(check) && ext != ".csv" && ext != ".tsv" && ext != ".txt" {
		return "", "binary content (" + http.DetectContentType(head) + ")"
	}
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return "", "the file holds only white space"
	case trimmed[0] == '<':
		if bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<!doctype html")) || bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<html")) {
			return "", "an HTML page"
		}
		return "application/xml", ""
	case trimmed[0] == '[':
		return "application/json", ""
	case trimmed[0] == '{':
		if ext == ".ndjson" || ext == ".jsonl" {
			return "application/x-ndjson", ""
		}
		if ext == ".json" {
			return "application/json", ""
		}
		// Several lines that each start an object: NDJSON.
		lines := bytes.Split(bytes.TrimSpace(trimmed), []byte("\n"))
		if len(lines) > 1 && bytes.HasPrefix(bytes.TrimSpace(lines[1]), []byte("{")) && bytes.HasSuffix(bytes.TrimSpace(lines[0]), []byte("}")) {
			return "application/x-ndjson", ""
		}
		return "application/json", ""
	}
	first, _, _ := bytes.Cut(trimmed, []byte("\n"))
	if ext == ".tsv" || ext == ".tab" || (bytes.Contains(first, []byte("\t")) && !bytes.Contains(first, []byte(","))) {
		return "text/tab-separated-values", ""
	}
	return "text/csv", ""
}

type listFilesInput struct {
	PageQuery
	Mine bool `query:"mine" doc:"Only files you uploaded"`
}

func (s *Server) listFiles(ctx context.Context, in *listFilesInput) (*struct{ Body Page[File] }, error) {
	by := ""
	if in.Mine {
		by = principalFrom(ctx).Username
	}
	list, total, err := s.store.ListUploadedFiles(ctx, by, in.store())
	if err != nil {
		return nil, err
	}
	items := make([]File, len(list))
	for i, f := range list {
		items[i] = toFileDTO(f)
	}
	return &struct{ Body Page[File] }{Body: newPage(items, total, in.PageQuery)}, nil
}

type fileIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) getFile(ctx context.Context, in *fileIDInput) (*fileOutput, error) {
	f, err := s.store.GetUploadedFile(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &fileOutput{Body: toFileDTO(f)}, nil
}

func (s *Server) deleteFile(ctx context.Context, in *fileIDInput) (*noContent, error) {
	f, err := s.store.GetUploadedFile(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteUploadedFile(ctx, in.ID); err != nil {
		return nil, err
	}
	// Only files inside the upload directory are removed from disk.
	if dir, err := filepath.Abs(s.data.UploadDir); err == nil {
		if p, err := filepath.Abs(f.StoredPath); err == nil && filepath.Dir(p) == dir {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.log.WarnContext(ctx, "uploaded file not removed from disk", "file_id", f.ID, "error", err)
			}
		}
	}
	return &noContent{}, nil
}

// documentUpload describes the upload's multipart body in the OpenAPI
// document (the handler reads the body itself, so huma cannot infer it).
func documentUpload(api huma.API) {
	item := api.OpenAPI().Paths["/api/v1/files"]
	if item == nil || item.Post == nil {
		return
	}
	item.Post.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		"multipart/form-data": {Schema: &huma.Schema{Type: "object", Required: []string{"file"},
			Properties: map[string]*huma.Schema{"file": {Type: "string", Format: "binary",
				Description: "The file: CSV, TSV, JSON, NDJSON, XML, XLSX or gzip"}}}},
	}}
}
