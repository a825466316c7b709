package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/export"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/runner"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Run is one execution of a pipeline version.
type Run struct {
	ID              string               `json:"id"`
	PipelineID      string               `json:"pipeline_id"`
	PipelineVersion int                  `json:"pipeline_version" doc:"The pipeline version this run executes"`
	Status          string               `json:"status" enum:"queued,running,awaiting_approval,succeeded,failed,cancelled"`
	Trigger         string               `json:"trigger" doc:"What started the run: manual (a person: the Run button or aggregator trigger), api (a program with an API token), schedule, webhook, dependency (a pipeline it runs after succeeded), replay ..."`
	TriggerDetail   *runs.TriggerDetail  `json:"trigger_detail,omitempty" doc:"What started the run beyond its kind: the user, the webhook token's prefix, the upstream run"`
	ActorID         string               `json:"actor_id"`
	ActorName       string               `json:"actor_name"`
	Error           string               `json:"error"`
	Attempt         int                  `json:"attempt" doc:"1 for the first execution; more when the run was resumed after an interruption"`
	CancelRequested bool                 `json:"cancel_requested"`
	CreatedAt       time.Time            `json:"created_at"`
	StartedAt       *time.Time           `json:"started_at,omitempty"`
	FinishedAt      *time.Time           `json:"finished_at,omitempty"`
	HeartbeatAt     *time.Time           `json:"heartbeat_at,omitempty"`
	DurationMS      *int64               `json:"duration_ms,omitempty" doc:"From start to finish (or to now while running)"`
	Nodes           []engine.NodeStats   `json:"nodes" nullable:"false" doc:"Per-node counters: records in, out, rejected, deduplicated, filtered, bytes. While the run runs, the latest progress snapshot (at most a second old), else the last checkpoint's"`
	RowsPerSecond   *float64             `json:"rows_per_second,omitempty" doc:"While the run runs: rows read per second over the last second or more"`
	CountersAt      *time.Time           `json:"counters_at,omitempty" doc:"While the run runs: when the live node counters were taken"`
	Buffers         []engine.BufferStats `json:"buffers,omitempty" doc:"While the run runs: how full each queue between two nodes is (len of cap batches waiting), from the latest progress snapshot; a full queue means the node after it is the slow side"`
	MemoryBudget    *int64               `json:"memory_budget,omitempty" doc:"While the run runs: the bytes its stateful transforms share in memory before they spill to disk (absent: no stateful transform)"`
	DeadLetters     *int                 `json:"dead_letters,omitempty" doc:"Number of dead-letter rows (single-run responses only)"`
	ReplayOf        string               `json:"replay_of,omitempty" doc:"Set on a replay run: the run whose dead letters it replays (\"replay of run X\")"`
	RequestID       string               `json:"request_id,omitempty" doc:"The API request that started the run (its X-Request-ID); empty for schedules, dependencies and the command line"`
	Attempts        []RunAttempt         `json:"attempts,omitempty" doc:"Single-run responses: every attempt of the run, first first"`
	Chunks          []RunChunk           `json:"chunks,omitempty" doc:"Single-run responses of a partitioned run: its chunks (one key range of the source each), in key order"`
	SchemaReview    *runs.SchemaReview   `json:"schema_review,omitempty" doc:"The review of schema changes (write.schema_changes: review): the destination, each classified change (column, kind, old and new type) and the decision. Status pending while the run is awaiting_approval"`
	Deployment      *runs.DeploymentView `json:"deployment,omitempty" doc:"Single-run responses of a deployed streaming run (parallelism): its state (running, paused, restarting, stopping, stopped, failed), its consumer instances with their workers, and per partition the committed position, the lag and the committed rows per second"`
}

// RunChunk is one chunk of a partitioned run: a key range of its source, run as its own job on any
// worker.
type RunChunk struct {
	Idx         int        `json:"idx" doc:"0 for the first key range"`
	Field       string     `json:"field" doc:"The partition key"`
	Lo          string     `json:"lo" doc:"Lowest key value of the range (inclusive); empty: no lower bound (also NULL keys)"`
	Hi          string     `json:"hi" doc:"Key value the range stops before (exclusive); empty: no upper bound"`
	Status      string     `json:"status" enum:"queued,running,succeeded,failed,cancelled"`
	Attempt     int        `json:"attempt" doc:"1 for the first execution; more after a retry or a take-over"`
	WorkerID    string     `json:"worker_id" doc:"The worker process that runs it, or ran it last"`
	RowsRead    int64      `json:"rows_read" doc:"Rows read at its last checkpoint, or in all when it ended"`
	RowsWritten int64      `json:"rows_written" doc:"Rows written at its last checkpoint, or in all when it ended"`
	Error       string     `json:"error" doc:"Why it failed, stopped or was queued again"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	HeartbeatAt *time.Time `json:"heartbeat_at,omitempty"`
}

// RunAttempt is one attempt of a run.
type RunAttempt struct {
	Number     int        `json:"number" doc:"1 for the first attempt"`
	WorkerID   string     `json:"worker_id" doc:"The worker process that ran it (see GET /api/v1/workers)"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Outcome    string     `json:"outcome" enum:"running,succeeded,failed,cancelled,retry,interrupted,lost,partitioned,awaiting_approval" doc:"How it ended: awaiting_approval (schema changes wait for a review; an approval starts another attempt), partitioned (the run was split into chunks, which run as jobs of their own), retry (a retryable failure; another attempt follows), interrupted (a worker shutdown), lost (its worker stopped sending heartbeats and another took the run over)"`
	Error      string     `json:"error" doc:"Why it stopped, when it did not succeed"`
}

func (s *Server) toRunDTO(ctx context.Context, r store.Run, detail bool) Run {
	d := Run{ID: r.ID, PipelineID: r.PipelineID, PipelineVersion: r.PipelineVersion, Status: string(r.Status),
		Trigger: r.Trigger, ActorID: r.ActorID, ActorName: r.ActorName, Error: r.Error, Attempt: r.Attempt,
		CancelRequested: r.CancelRequested, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		HeartbeatAt: r.HeartbeatAt, Nodes: []engine.NodeStats{}, ReplayOf: r.ReplayOf, RequestID: r.RequestID}
	if rv, err := runs.ReviewOf(r); err != nil {
		s.log.WarnContext(ctx, "run schema review unreadable", "run_id", r.ID, "error", err)
	} else {
		d.SchemaReview = rv
	}
	if len(r.TriggerDetail) > 0 {
		td := runs.DecodeTriggerDetail(r.TriggerDetail)
		d.TriggerDetail = &td
	}
	if r.StartedAt != nil {
		end := time.Now()
		if r.FinishedAt != nil {
			end = *r.FinishedAt
		}
		ms := end.Sub(*r.StartedAt).Milliseconds()
		d.DurationMS = &ms
	}
	if len(r.NodeStats) > 0 {
		if err := json.Unmarshal(r.NodeStats, &d.Nodes); err != nil {
			s.log.WarnContext(ctx, "run node stats unreadable", "run_id", r.ID, "error", err)
			d.Nodes = []engine.NodeStats{}
		}
	}
	// A running run's counters between checkpoints come from its latest progress event.
	if ev, ok := s.data.Runs.Live(r.ID); ok && r.Status == store.RunRunning && ev.Progress != nil {
		d.Nodes = append([]engine.NodeStats{}, ev.Progress.Nodes...)
		rate, at := ev.RowsPerSecond, ev.Time
		d.RowsPerSecond, d.CountersAt = &rate, &at
		d.Buffers = append([]engine.BufferStats{}, ev.Progress.Buffers...) // none in the last snapshot
		if b := ev.Progress.MemoryBudget; b > 0 {
			d.MemoryBudget = &b
		}
	}
	if detail {
		if n, err := s.store.CountDeadLetters(ctx, r.ID); err == nil {
			d.DeadLetters = &n
		}
		if list, err := s.store.ListAttempts(ctx, r.ID); err == nil {
			d.Attempts = make([]RunAttempt, len(list))
			for i, a := range list {
				d.Attempts[i] = RunAttempt{Number: a.Number, WorkerID: a.WorkerID, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt,
					Outcome: a.Outcome, Error: a.Error}
			}
		} else {
			s.log.WarnContext(ctx, "run attempts unreadable", "run_id", r.ID, "error", err)
		}
		s.addChunks(ctx, r, &d)
		if dep, err := s.data.Runs.Deployment(ctx, r.ID); err == nil {
			d.Deployment = dep
		} else if !errors.Is(err, runs.ErrNotDeployment) {
			s.log.WarnContext(ctx, "run deployment unreadable", "run_id", r.ID, "error", err)
		}
	}
	return d
}

// addChunks adds a partitioned run's chunks; while it runs, its counters are the sum of its chunks'
// last checkpoints.
func (s *Server) addChunks(ctx context.Context, r store.Run, d *Run) {
	chunks, err := s.store.ListChunks(ctx, r.ID)
	if err != nil {
		s.log.WarnContext(ctx, "run chunks unreadable", "run_id", r.ID, "error", err)
		return
	}
	if len(chunks) == 0 {
		return
	}
	d.Chunks = make([]RunChunk, len(chunks))
	for i, c := range chunks {
		d.Chunks[i] = RunChunk{Idx: c.Idx, Field: c.Field, Lo: c.Lo, Hi: c.Hi, Status: string(c.Status), Attempt: c.Attempt,
			WorkerID: c.WorkerID, RowsRead: c.RowsRead, RowsWritten: c.RowsWritten, Error: c.Error, StartedAt: c.StartedAt,
			FinishedAt: c.FinishedAt, HeartbeatAt: c.HeartbeatAt}
	}
	if r.Status == store.RunRunning {
		var nodes []engine.NodeStats
		if raw := runs.SumChunkStats(chunks); raw != nil && json.Unmarshal(raw, &nodes) == nil {
			d.Nodes = nodes
		}
	}
}

type runOutput struct {
	Body Run
}

type listRunsInput struct {
	PageQuery
	PipelineID string    `query:"pipeline_id" maxLength:"64" doc:"Only runs of this pipeline"`
	ReplayOf   string    `query:"replay_of" maxLength:"64" doc:"Only the replays of this run"`
	RequestID  string    `query:"request_id" maxLength:"100" doc:"Only the runs this API request started"`
	Status     []string  `query:"status" enum:"queued,running,awaiting_approval,succeeded,failed,cancelled" doc:"Only runs in these states (comma-separated)"`
	From       time.Time `query:"from" doc:"Created at or after (RFC 3339)"`
	To         time.Time `query:"to" doc:"Created before (RFC 3339)"`
}

func (s *Server) listRuns(ctx context.Context, in *listRunsInput) (*struct{ Body Page[Run] }, error) {
	f := store.RunFilter{PipelineID: in.PipelineID, ReplayOf: in.ReplayOf, RequestID: in.RequestID, From: in.From, To: in.To, Page: in.store()}
	for _, st := range in.Status {
		f.Status = append(f.Status, store.RunStatus(st))
	}
	list, total, err := s.store.ListRuns(ctx, f)
	if err != nil {
		return nil, err
	}
	items := make([]Run, len(list))
	for i, r := range list {
		items[i] = s.toRunDTO(ctx, r, false)
	}
	return &struct{ Body Page[Run] }{Body: newPage(items, total, in.PageQuery)}, nil
}

type runIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) getRun(ctx context.Context, in *runIDInput) (*runOutput, error) {
	r, err := s.store.GetRun(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &runOutput{Body: s.toRunDTO(ctx, r, true)}, nil
}

func (s *Server) cancelRun(ctx context.Context, in *runIDInput) (*runOutput, error) {
	r, err := s.data.Runs.Cancel(ctx, in.ID)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			cur, gerr := s.store.GetRun(ctx, in.ID)
			if gerr == nil {
				return nil, conflict("run " + in.ID + " already finished (" + string(cur.Status) + ")")
			}
		}
		return nil, err
	}
	return &runOutput{Body: s.toRunDTO(ctx, r, true)}, nil
}

// controlRun pauses, resumes, restarts or stops a deployed streaming run; the answer is the run
// with its deployment. A run that is not a deployment, or a deployment in a state the control does
// not apply to, is 409.
func (s *Server) controlRun(c runs.Control) func(ctx context.Context, in *runIDInput) (*runOutput, error) {
	return func(ctx context.Context, in *runIDInput) (*runOutput, error) {
		if _, err := s.data.Runs.Control(ctx, in.ID, c); err != nil {
			switch {
			case errors.Is(err, runs.ErrNotDeployment):
				return nil, conflict(fmt.Sprintf("cannot %s run %s: %v", c, in.ID, err))
			case errors.Is(err, store.ErrConflict):
				return nil, conflict(fmt.Sprintf("cannot %s run %s: %s", c, in.ID, strings.TrimSuffix(err.Error(), ": "+store.ErrConflict.Error())))
			}
			return nil, err
		}
		r, err := s.store.GetRun(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &runOutput{Body: s.toRunDTO(ctx, r, true)}, nil
	}
}

// RunLogLine is one line of a run's log.
type RunLogLine struct {
	ID      int64           `json:"id"`
	Time    time.Time       `json:"time"`
	Level   string          `json:"level"`
	Message string          `json:"message"`
	Node    string          `json:"node,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
}

type runLogsInput struct {
	ID string `path:"id" maxLength:"64"`
	PageQuery
	AfterID int64    `query:"after_id" minimum:"0" doc:"Only lines after this id (to follow a running run)"`
	Level   []string `query:"level" enum:"debug,info,warn,error" doc:"Only these levels"`
}

func (s *Server) runLogs(ctx context.Context, in *runLogsInput) (*struct{ Body Page[RunLogLine] }, error) {
	if _, err := s.store.GetRun(ctx, in.ID); err != nil {
		return nil, err
	}
	list, total, err := s.store.ListLogs(ctx, store.LogFilter{RunID: in.ID, Level: in.Level, AfterID: in.AfterID, Oldest: true, Page: in.store()})
	if err != nil {
		return nil, err
	}
	items := make([]RunLogLine, len(list))
	for i, l := range list {
		items[i] = toRunLogDTO(l)
	}
	return &struct{ Body Page[RunLogLine] }{Body: newPage(items, total, in.PageQuery)}, nil
}

type deadLettersInput struct {
	ID     string `path:"id" maxLength:"64"`
	Format string `query:"format" enum:"csv,ndjson,xlsx,parquet" default:"ndjson" doc:"csv, ndjson, xlsx (Excel) or parquet"`
}

// deadLetters streams a run's dead letters page by page from the store, so a
// large download never sits in memory.
func (s *Server) deadLetters(ctx context.Context, in *deadLettersInput) (*huma.StreamResponse, error) {
	if _, err := s.store.GetRun(ctx, in.ID); err != nil {
		return nil, err
	}
	format := in.Format
	if format == "" {
		format = "ndjson"
	}
	// The first page is read before the status is sent, so a failure is still a problem response.
	first, err := s.store.ListDeadLetters(ctx, in.ID, 0, store.MaxLimit)
	if err != nil {
		return nil, err
	}
	if format == "xlsx" || format == "parquet" {
		f, _ := export.ParseFormat(format)
		src := &deadLetterSource{s: s, runID: in.ID, page: first}
		return s.streamExport(f, fmt.Sprintf("run-%s-dead-letters", in.ID), src, "dead-letter export cut short", "run_id", in.ID), nil
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		ct := "application/x-ndjson"
		if format == "csv" {
			ct = "text/csv; charset=utf-8"
		}
		hc.SetHeader("Content-Type", ct)
		hc.SetHeader("Content-Disposition", fmt.Sprintf(`attachment; filename="run-%s-dead-letters.%s"`, in.ID, format))
		hc.SetHeader("Cache-Control", "no-store")
		hc.SetStatus(http.StatusOK)
		w := hc.BodyWriter()
		var cw *csv.Writer
		enc := json.NewEncoder(w)
		if format == "csv" {
			cw = csv.NewWriter(w)
			_ = cw.Write(runner.DeadLetterCSVHeader)
		}
		page := first
		for len(page) > 0 {
			for _, d := range page {
				dl := runs.DeadLetter(d)
				if cw != nil {
					_ = cw.Write(dl.CSV())
				} else if err := enc.Encode(dl); err != nil {
					return // the client went away
				}
			}
			if cw != nil {
				cw.Flush()
				if cw.Error() != nil {
					return
				}
			}
			if len(page) < store.MaxLimit {
				return
			}
			next, err := s.store.ListDeadLetters(hc.Context(), in.ID, page[len(page)-1].ID, store.MaxLimit)
			if err != nil {
				s.log.ErrorContext(hc.Context(), "dead-letter download cut short", "run_id", in.ID, "error", err)
				return
			}
			page = next
		}
	}}, nil
}

// RunOutput is a file a run's destination wrote.
type RunOutput struct {
	Node  string `json:"node" doc:"The destination's node id"`
	Name  string `json:"name" doc:"The file's name"`
	Path  string `json:"path" doc:"Where the file is under DATA_DIR/files; empty when the destination wrote outside it (not downloadable)"`
	Bytes int64  `json:"bytes" doc:"The file's size when the run finished"`
	Rows  int64  `json:"rows" doc:"Rows the destination wrote"`
}

func (s *Server) runOutputs(ctx context.Context, in *runIDInput) (*struct{ Body []RunOutput }, error) {
	list, err := s.data.Runs.Outputs(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := make([]RunOutput, len(list))
	for i, o := range list {
		out[i] = RunOutput{Node: o.Node, Name: o.Name, Path: o.Path, Bytes: o.Bytes, Rows: o.Rows}
	}
	return &struct{ Body []RunOutput }{Body: out}, nil
}

type runOutputInput struct {
	ID     string `path:"id" maxLength:"64"`
	Node   string `path:"node" maxLength:"200"`
	Format string `query:"format" enum:"csv,ndjson,xlsx,parquet" doc:"Convert the file: read it back through its destination's connector and write it as csv, ndjson, xlsx (Excel) or parquet. Empty: the file as written."`
}

// downloadRunOutput streams the file a destination node wrote. The runs service refuses anything
// outside DATA_DIR/files.
func (s *Server) downloadRunOutput(ctx context.Context, in *runOutputInput) (*huma.StreamResponse, error) {
	if in.Format != "" {
		return s.exportRunOutput(ctx, in)
	}
	o, f, err := s.data.Runs.OpenOutput(ctx, in.ID, in.Node)
	if err != nil {
		return nil, outputError(err, in)
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		defer f.Close()
		hc.SetHeader("Content-Type", outputContentType(o.Name))
		hc.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": o.Name}))
		hc.SetHeader("Content-Length", strconv.FormatInt(o.Bytes, 10))
		hc.SetHeader("Cache-Control", "no-store")
		hc.SetHeader("X-Content-Type-Options", "nosniff")
		hc.SetStatus(http.StatusOK)
		if _, err := io.CopyN(hc.BodyWriter(), f, o.Bytes); err != nil {
			s.log.WarnContext(hc.Context(), "run output download cut short", "run_id", in.ID, "node", in.Node, "error", err)
		}
	}}, nil
}

// outputContentType is the media type of an output file by its extension; never text/html.
func outputContentType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".gz":
		return "application/gzip"
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".tsv":
		return "text/tab-separated-values; charset=utf-8"
	case ".ndjson", ".jsonl":
		return "application/x-ndjson"
	case ".json":
		return "application/json"
	case ".xml":
		return "application/xml"
	case ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/octet-stream"
}

// ReplayEdit replaces field values of one dead letter before it is replayed.
type ReplayEdit struct {
	ID     int64          `json:"id" minimum:"1" doc:"The dead letter's id (the id field of GET /runs/{id}/dead-letters?format=ndjson)"`
	Values map[string]any `json:"values" doc:"Field name -> new value (text, number, boolean or null); the other fields keep the dead letter's values"`
}

type replayInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body *struct {
		Edits []ReplayEdit `json:"edits,omitempty" maxItems:"10000" doc:"Edited rows, by dead-letter id; the other dead letters are replayed as they are"`
	}
}

// editText is the text form of an edited value, as dead letters hold values.
func editText(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		return x.String(), nil
	}
	return "", errors.New("give text, a number, a boolean or null")
}

func (s *Server) replayRun(ctx context.Context, in *replayInput) (*runOutput, error) {
	var edits []runs.Edit
	if in.Body != nil {
		for i, e := range in.Body.Edits {
			vals := make(map[string]string, len(e.Values))
			for k, v := range e.Values {
				txt, err := editText(v)
				if err != nil {
					return nil, invalid(fmt.Sprintf("body.edits[%d].values.%s", i, k), err.Error(), nil)
				}
				vals[k] = txt
			}
			edits = append(edits, runs.Edit{ID: e.ID, Values: vals})
		}
	}
	p := principalFrom(ctx)
	run, err := s.data.Runs.Replay(ctx, in.ID, edits, runs.Actor{ID: p.UserID, Name: p.Username, RequestID: RequestID(ctx)})
	var rc *runs.ReplayConflict
	var ee *runs.EditError
	switch {
	case errors.As(err, &rc):
		return nil, conflict(rc.Reason)
	case errors.As(err, &ee):
		return nil, invalid(fmt.Sprintf("body.edits[%d].%s", ee.Index, ee.Field), ee.Reason, nil)
	case err != nil:
		return nil, specError(err)
	}
	infoFrom(ctx).setDetail("replay run " + run.ID)
	return &runOutput{Body: s.toRunDTO(ctx, run, false)}, nil
}

// exportRunOutput streams a run's output converted to another format (see runOutputInput.Format).
// outputError is the answer to a run output that cannot be downloaded or exported.
func outputError(err error, in *runOutputInput) error {
	switch {
	case errors.Is(err, runs.ErrNoOutput):
		return notFound(fmt.Sprintf("an output of node %q in run %s was", in.Node, in.ID))
	case errors.Is(err, runs.ErrOutputOutside):
		return forbidden(fmt.Sprintf("the output of node %q is outside DATA_DIR/files and is not served", in.Node))
	}
	return err
}

func (s *Server) exportRunOutput(ctx context.Context, in *runOutputInput) (*huma.StreamResponse, error) {
	f, err := export.ParseFormat(in.Format)
	if err != nil {
		return nil, err
	}
	o, r, err := s.data.Runs.ReadOutput(ctx, in.ID, in.Node)
	if err != nil {
		return nil, outputError(err, in)
	}
	resp := s.streamExport(f, o.Name, r, "run output export cut short", "run_id", in.ID)
	body := resp.Body
	resp.Body = func(hc huma.Context) {
		defer r.Close()
		body(hc)
	}
	return resp, nil
}

// streamExport is the streamed response of an export: its content type and file name, then the
// records of src in format f. A failure after the status was sent cuts the body short and is logged
// as what, with the attributes about ("run_id", id). The audit entry gets the rows written. A source
// cut at a row cap (cappedSource) also says the cap in the header X-Export-Row-Cap and, after the
// body, the rows written and whether the cap cut them in the trailers X-Export-Rows and
// X-Export-Truncated.
func (s *Server) streamExport(f export.Format, name string, src export.Source, what string, about ...any) *huma.StreamResponse {
	capped, _ := src.(cappedSource)
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		hc.SetHeader("Content-Type", f.ContentType())
		hc.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": export.FileName(name, f)}))
		hc.SetHeader("Cache-Control", "no-store")
		hc.SetHeader("X-Content-Type-Options", "nosniff")
		if capped != nil {
			hc.SetHeader("X-Export-Row-Cap", strconv.Itoa(capped.RowCap()))
			hc.SetHeader("Trailer", "X-Export-Rows, X-Export-Truncated")
		}
		hc.SetStatus(http.StatusOK)
		n, err := export.Write(hc.Context(), hc.BodyWriter(), f, src)
		ri := infoFrom(hc.Context())
		ri.setExtra("format", string(f))
		ri.setExtra("rows", n)
		if err != nil {
			ri.setExtra("cut_short", true)
			s.log.WarnContext(hc.Context(), what, append(about, "format", string(f), "rows", n, "error", err)...)
			return
		}
		if capped != nil {
			// Set after the body, these are the trailers declared above.
			hc.SetHeader("X-Export-Rows", strconv.FormatInt(n, 10))
			hc.SetHeader("X-Export-Truncated", strconv.FormatBool(capped.Truncated()))
			ri.setExtra("truncated", capped.Truncated())
		}
	}}
}

// cappedSource is an export source cut at a row cap (a query's queries.Cursor).
type cappedSource interface {
	export.Source
	RowCap() int
	Truncated() bool
}

// deadLetterSchema is the record schema of an exported dead letter.
var deadLetterSchema = record.MustSchema(
	record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "node", Kind: record.KindString, Nullable: true},
	record.Field{Name: "source", Kind: record.KindString, Nullable: true}, record.Field{Name: "line", Kind: record.KindInt, Nullable: true},
	record.Field{Name: "field", Kind: record.KindString, Nullable: true}, record.Field{Name: "reason", Kind: record.KindString},
	record.Field{Name: "raw", Kind: record.KindString, Nullable: true}, record.Field{Name: "values", Kind: record.KindJSON, Nullable: true})

// deadLetterSource reads a run's dead letters page by page from the store as records.
type deadLetterSource struct {
	s     *Server
	runID string
	page  []store.DeadLetter
}

func (d *deadLetterSource) Schema() *record.Schema { return deadLetterSchema }

func (d *deadLetterSource) Next(ctx context.Context) (*record.Batch, error) {
	if len(d.page) == 0 {
		return nil, io.EOF
	}
	b := record.NewBuilder(deadLetterSchema, len(d.page))
	for _, row := range d.page {
		dl := runs.DeadLetter(row)
		r := b.Row(dl.Line)
		r[0] = record.Int(dl.ID)
		str := func(i int, v string) {
			if v != "" {
				r[i] = record.String(v)
			}
		}
		str(1, dl.Node)
		str(2, dl.Source)
		if dl.Line > 0 {
			r[3] = record.Int(dl.Line)
		}
		str(4, dl.Field)
		r[5] = record.String(dl.Reason)
		str(6, dl.Raw)
		if len(dl.Values) > 0 {
			j, _ := json.Marshal(dl.Values)
			r[7] = record.JSON(string(j))
		}
	}
	last := d.page[len(d.page)-1].ID
	full := len(d.page) == store.MaxLimit
	d.page = nil
	if full {
		next, err := d.s.store.ListDeadLetters(ctx, d.runID, last, store.MaxLimit)
		if err != nil {
			return nil, err
		}
		d.page = next
	}
	return b.Take(), nil
}

func toRunLogDTO(l store.LogEntry) RunLogLine {
	return RunLogLine{ID: l.ID, Time: l.Time, Level: l.Level, Message: l.Message, Node: l.Node, Details: l.Details}
}
