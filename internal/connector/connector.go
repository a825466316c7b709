package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/netguard"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Spec describes a connector type.
type Spec struct {
	Name        string          `json:"name"` // the type name used in pipeline specs, e.g. "csv", "postgres"
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Category    string          `json:"category"` // file, database, api, stream
	Source      bool            `json:"source"`
	Destination bool            `json:"destination"`
	Config      configspec.Spec `json:"-"`
	// WriteModes lists the write modes the destination supports.
	WriteModes []WriteMode `json:"write_modes,omitempty"`
	// Incremental says whether the source supports incremental sync by a cursor field.
	Incremental bool `json:"incremental"`
	// Unbounded says whether the source reads a stream that never ends by itself.
	Unbounded bool `json:"unbounded"`
	// ConsumerGroups says whether several readers of one configuration share the work of an
	// unbounded source, each record going to one of them (a Kafka consumer group, a JetStream durable
	// pull consumer, competing consumers of a RabbitMQ queue): what `parallelism` needs. GroupParam,
	// when set, is the config field that must be set for it (Kafka: group).
	ConsumerGroups bool   `json:"consumer_groups,omitempty"`
	GroupParam     string `json:"group_param,omitempty"`
	// Partitionable says whether the source can split a read into key ranges (its config has the
	// `partition` parameter and it implements Partitioner).
	Partitionable bool `json:"partitionable,omitempty"`
}

// Connector is a connector type. It is stateless; Open creates the per-use Reader or Writer.
type Connector interface {
	Spec() Spec
}

// Env is what the application gives a connector besides its config: a logger, the directories local
// files may be read from and written to, where uploads live, the guarded ways out to the network, a
// clock and a way to persist refreshed credentials. Connectors never read global state, never dial
// or build an HTTP client of their own, and use the helper methods (Dialer, HTTP, Now,
// PersistCredentials), which are safe on a zero Env.
type Env struct {
	Logger *slog.Logger
	// FileRoots are the directories local paths must stay within (after resolving symlinks). Empty
	// means the current directory only.
	FileRoots []string
	// UploadDir is where uploaded files are stored; a file source may name an upload by id.
	UploadDir string
	// OutputDir, when set (the server: DATA_DIR/files), is where file destinations write: a relative
	// destination path resolves under it (its directories are created), never against FileRoots, and
	// an absolute one may lie under it as well as under FileRoots. Empty (the CLI): destination paths
	// resolve against FileRoots like source paths.
	OutputDir string
	// ResolveUpload maps an upload id to its stored path; nil when uploads are not available (CLI).
	ResolveUpload func(ctx context.Context, id string) (string, error)
	// Dial opens the network connections of connectors that speak their own protocol (databases,
	// brokers): the outbound guard's database policy (internal/netguard), which refuses link-local
	// and cloud-metadata addresses whatever the config. nil: a guard with an empty allow list.
	Dial DialFunc
	// HTTPClient is the one outbound HTTP client (the guard's HTTP policy, ALLOWED_OUTBOUND_HOSTS,
	// at most 5 redirects, each checked again). nil: a guarded client with an empty allow list.
	HTTPClient *http.Client
	// Clock tells the time (token expiry, timestamps a connector stamps); nil means time.Now.
	Clock func() time.Time
	// SaveCredentials persists credentials a connector refreshed (an OAuth refresh token that
	// rotates) into the saved connector it runs for, by config field name. nil when there is nothing
	// to save into (the CLI, an inline config): PersistCredentials then says so.
	SaveCredentials func(ctx context.Context, fields map[string]string) error
}

// DialFunc opens a network connection, as net.Dialer.DialContext does.
type DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// ErrCredentialsNotPersisted says that refreshed credentials could not be saved: the connector has
// no saved connector to save them into.
var ErrCredentialsNotPersisted = errors.New("refreshed credentials could not be persisted: the configuration is not a saved connector; save it as a connector (or update its secrets by hand) before the old credential expires")

var defaultGuard = sync.OnceValue(func() *netguard.Guard {
	g, _ := netguard.New(netguard.Options{}) // no entries: cannot fail
	return g
})

var defaultHTTP = sync.OnceValue(func() *http.Client { return defaultGuard().HTTPClient() })

// Dialer is env's dialer, or the guard's database-policy dialer with an empty allow list.
func (e Env) Dialer() DialFunc {
	if e.Dial != nil {
		return e.Dial
	}
	return defaultGuard().Dialer(netguard.Database).DialContext
}

// HTTP is env's HTTP client, or a guarded one with an empty allow list.
func (e Env) HTTP() *http.Client {
	if e.HTTPClient != nil {
		return e.HTTPClient
	}
	return defaultHTTP()
}

// Now is the current time by env's clock.
func (e Env) Now() time.Time {
	if e.Clock != nil {
		return e.Clock()
	}
	return time.Now()
}

// PersistCredentials saves refreshed credentials through SaveCredentials; without it, the error is
// ErrCredentialsNotPersisted.
func (e Env) PersistCredentials(ctx context.Context, fields map[string]string) error {
	if e.SaveCredentials == nil {
		return ErrCredentialsNotPersisted
	}
	return e.SaveCredentials(ctx, fields)
}

// Checker tests that a configuration can connect, and says clearly what is wrong if not.
type Checker interface {
	Check(ctx context.Context, env Env, config map[string]any) error
}

// Discoverer lists the streams (tables, files, sheets, topics) a configuration can read.
type Discoverer interface {
	Discover(ctx context.Context, env Env, config map[string]any) (*Catalog, error)
}

// RequestTester is an optional capability of a connector that reads an HTTP API: TestRequest runs
// the first request of a read with config and says what came back (the request tester of the
// connector form). A failed request is an error that names the URL without secrets, the status and
// the first bytes of the body.
type RequestTester interface {
	TestRequest(ctx context.Context, env Env, config map[string]any, limit int) (*RequestSample, error)
}

// RequestSample is what one request returned.
type RequestSample struct {
	// URL is the URL requested, without secrets; Status the HTTP status.
	URL    string
	Status int
	// Records are the first records of the page (at most the limit asked), Total how many it has.
	Records []map[string]any
	Total   int
	// Schema is inferred from every record of the page.
	Schema *record.Schema
	// HasNext says whether the pagination found a next page.
	HasNext bool
}

// Source reads records.
type Source interface {
	Open(ctx context.Context, env Env, config map[string]any, req ReadRequest) (Reader, error)
}

// Destination writes records.
type Destination interface {
	OpenWriter(ctx context.Context, env Env, config map[string]any, req WriteRequest) (Writer, error)
}

// DestinationChecker is an optional capability of a Destination: CheckDestination tests, without
// writing anything, that a run could write with req (req.Schema may be nil): it connects, and checks
// what the connector can know beforehand (the table exists or can be created, the write mode is
// possible, an upsert key has a unique index). It says clearly what is wrong. Validation uses it; a
// destination without it is checked with its Checker, if any.
type DestinationChecker interface {
	CheckDestination(ctx context.Context, env Env, config map[string]any, req WriteRequest) error
}

// SyncMode says how a source reads.
type SyncMode string

// Sync modes.
const (
	FullRefresh SyncMode = "full_refresh"
	Incremental SyncMode = "incremental"
)

// ReadRequest says what to read.
type ReadRequest struct {
	// Stream names the stream for sources with several (a table); empty means the config's own.
	Stream string
	Mode   SyncMode
	// CursorField orders an incremental read; rows with a cursor above the saved one are read.
	CursorField string
	// State is the checkpoint to resume from (nil: from the start, or for incremental from the last
	// run's final state).
	State json.RawMessage
	// BatchSize is the number of rows per batch the engine prefers (0: the connector's default).
	BatchSize int
	// Schema, when set, overrides inferred field types by name (for untyped sources).
	Overrides map[string]record.Kind
	// Range, when set, restricts the read to one key range (a chunk of a partitioned run); only a
	// Partitioner is given one. State positions stay inside it.
	Range *KeyRange
	// Spare is how many value slots past its fields a source that builds its rows with
	// record.Builder may reserve in each row, so that a transform can append derived fields in place
	// (Builder.Reserve); the engine sets it only when the pipeline has transforms, since the slots
	// cost memory in every batch in flight.
	Spare int
}

// Reader emits batches. Next returns io.EOF at the end of a bounded input; an unbounded reader blocks
// until data arrives or ctx is done. Row-level problems travel in Batch.Rejects (with source and
// position); file-level problems are returned as errors.
type Reader interface {
	// Schema is the schema of the batches (known after Open; inferred for untyped inputs).
	Schema() *record.Schema
	Next(ctx context.Context) (*record.Batch, error)
	// State is the checkpoint after the last batch Next returned.
	State() (json.RawMessage, error)
	Close() error
}

// Acker is an optional capability of a Reader: Ack is called with the reader's state as saved in a
// checkpoint, after that checkpoint is durable (every destination committed what came before it).
// A streaming source commits its position there (a Kafka offset, a JetStream ack, a replication
// slot's LSN). Ack may be called while Next runs in another goroutine. An error is logged and the
// run goes on: the next checkpoint acknowledges a later state.
type Acker interface {
	Ack(ctx context.Context, state json.RawMessage) error
}

// PositionReporter is an optional capability of a Reader of an unbounded source: Positions reports,
// for every partition (Kafka topic partition, JetStream consumer, queue, replication slot) the reader
// consumes, the position committed to the broker and how far it is behind the end of the partition.
// It may ask the broker (so it takes ctx and may fail) and may be called while Next runs in another
// goroutine; the engine calls it every few seconds, not per batch.
type PositionReporter interface {
	Positions(ctx context.Context) ([]Position, error)
}

// Lag units of a Position.
const (
	LagRecords = "records" // records (messages) not yet committed
	LagBytes   = "bytes"   // bytes of log (write-ahead log) not yet confirmed
)

// Position is the committed position of one partition a reader consumes.
type Position struct {
	// Partition names it: "topic/3" (Kafka), "STREAM/durable" (JetStream), the queue (AMQP), the
	// replication slot (PostgreSQL).
	Partition string `json:"partition"`
	// Committed is the committed position in the source's own terms ("offset 42", "stream sequence
	// 17", an LSN "0/16B3748"); empty when the source keeps none (a queue forgets what it delivered).
	Committed string `json:"committed,omitempty"`
	// Offset is the committed position as a number when it is one that grows by one per record
	// (a Kafka offset, a stream sequence); -1 otherwise. Rates are computed from it.
	Offset int64 `json:"offset"`
	// Lag is how far the committed position is behind the end of the partition, in LagUnit; -1 when
	// unknown (the end is not known yet).
	Lag     int64  `json:"lag"`
	LagUnit string `json:"lag_unit"`
}

// WriteMode says how a destination treats existing data.
type WriteMode string

// Write modes.
const (
	Append    WriteMode = "append"
	Overwrite WriteMode = "overwrite" // atomic replace when the run succeeds
	Upsert    WriteMode = "upsert"    // insert or update by Key
)

// WriteRequest says how to write.
type WriteRequest struct {
	Stream string // the target object (table, file) when not in the config
	Mode   WriteMode
	Key    []string // the key for upsert (and dedup on resume)
	Schema *record.Schema
	// RunID identifies the run; destinations use it to name staging objects so a resumed run finds them.
	RunID string
	// Node is the destination's node id in the pipeline (a MarkedWriter keys its marker by run and node).
	Node string
	// Resume is true when this run continues an interrupted one from a checkpoint.
	Resume bool
}

// Writer writes batches. Write may buffer. Commit makes everything written so far durable; only after
// it returns may the engine save a checkpoint. Write and Commit may return a *RowError: the rows it
// names were refused (a buffering writer names rows of earlier Writes with Index -1) and every other
// row was written (by Commit: committed); any other error from Commit means the rows since the last
// successful Commit are not durable. Close finishes the write when the run succeeded (for
// overwrite: the atomic swap); Abort discards what it can (staging objects, temp files) when the run
// failed or was cancelled, and leaves the previous data intact.
type Writer interface {
	Write(ctx context.Context, b *record.Batch) error
	Commit(ctx context.Context) error
	Close(ctx context.Context) error
	Abort(ctx context.Context) error
}

// Catalog is what Discover found.
type Catalog struct {
	Streams []Stream `json:"streams"`
}

// Stream is one readable object.
type Stream struct {
	Name             string         `json:"name"`
	Namespace        string         `json:"namespace,omitempty"` // schema or database
	Kind             string         `json:"kind,omitempty"`      // table, view, file, sheet, topic
	Schema           *record.Schema `json:"schema"`
	PrimaryKey       []string       `json:"primary_key,omitempty"`
	CursorCandidates []string       `json:"cursor_candidates,omitempty"`
	RowEstimate      int64          `json:"row_estimate,omitempty"`
}

// RowError rejects specific rows of a Write without failing the rest: the writer wrote every other
// row of the batch. Index is the row's index in the batch.
type RowError struct {
	Rows []RowProblem
}

// RowProblem is one rejected row of a Write.
type RowProblem struct {
	// Index is the row's index in the batch of the Write that returns it; -1 for a row of an earlier
	// Write (a buffering writer) or a row refused at Commit.
	Index  int
	Field  string
	Reason string
	// Pos and Values describe a row that Index cannot (Index -1), when the writer knows them: its
	// source position and its values as text.
	Pos    int64
	Values map[string]string
}

func (e *RowError) Error() string {
	if len(e.Rows) == 0 {
		return "rows rejected"
	}
	return fmt.Sprintf("%d row(s) rejected; first: row %d: %s", len(e.Rows), e.Rows[0].Index, e.Rows[0].Reason)
}

// Errors that steer the engine.
var (
	// ErrConfig marks a configuration problem: retrying cannot help; the message names the field.
	ErrConfig = errors.New("invalid configuration")
	// ErrNotFound marks a missing stream, table or file.
	ErrNotFound = errors.New("not found")
	// ErrTransient marks a failure worth retrying (connection reset, server restarting). The engine
	// retries opening a source or destination, and a Next that fails with it: it closes the reader
	// and opens the source again at the state after the last batch Next returned.
	ErrTransient = errors.New("transient failure")
	// ErrUnsupported marks an operation a connector does not support (e.g. upsert on CSV).
	ErrUnsupported = errors.New("unsupported")
)

// ConfigError wraps configuration problems so errors.Is(err, ErrConfig) holds.
func ConfigError(err error) error {
	if err == nil {
		return nil
	}
	return &configError{err}
}

type configError struct{ err error }

func (e *configError) Error() string        { return e.err.Error() }
func (e *configError) Unwrap() []error      { return []error{ErrConfig, e.err} }
func (e *configError) Is(target error) bool { return target == ErrConfig }

// DecodeConfig validates raw against the connector's spec and decodes it into dst; problems come back
// as a ConfigError listing every field.
func DecodeConfig(spec Spec, raw map[string]any, dst any) error {
	if err := spec.Config.Decode(raw, dst); err != nil {
		return ConfigError(err)
	}
	return nil
}

// Target describes a destination's table before a run writes (TargetInspector).
type Target struct {
	// Name is the table as messages show it (schema.table).
	Name   string
	Exists bool
	// Columns are the table's columns; Key its primary key (empty: none).
	Columns []TargetColumn
	Key     []string
	// Fold is how the database compares column names (nil: exactly).
	Fold func(string) string `json:"-"`
	// Skip lists input fields the destination never writes as columns (the change sources' _op
	// field of an upsert).
	Skip []string
}

// TargetColumn is a column of a destination table.
type TargetColumn struct {
	Name     string
	Native   string // the database's type, e.g. "integer", "varchar(20)"
	Kind     record.Kind
	Nullable bool
}

// ColumnWidener is a Writer that can change the types of existing columns of the table it writes
// while it is open (a schema that changes during a run, as a change capture stream's does, under
// schema_changes evolve): the rows it holds go first, then each column changes to the type the
// destination creates for its field, in the writer's transaction, so that the change commits with
// the rows written after it or is undone with them.
type ColumnWidener interface {
	WidenColumns(ctx context.Context, fields []record.Field) error
}

// TargetInspector is a destination that can describe the table a write request would write and
// change the types of its columns, without writing rows: what schema-change policies need
// (internal/schemachange). Both open and close a connection of their own.
type TargetInspector interface {
	InspectTarget(ctx context.Context, env Env, config map[string]any, req WriteRequest) (Target, error)
	// AlterColumns changes the type of each named existing column to the type the destination
	// creates for the field (ALTER TABLE ... ALTER COLUMN / MODIFY), converting the stored values.
	AlterColumns(ctx context.Context, env Env, config map[string]any, req WriteRequest, fields []record.Field) error
}
