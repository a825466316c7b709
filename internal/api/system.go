package api

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"time"

	"github.com/dataaggregator/aggregator/internal/diskusage"
	"github.com/dataaggregator/aggregator/internal/logstore"
	"github.com/dataaggregator/aggregator/internal/store"
)

// SystemDeps serve the System logs and System pages (system.go).
type SystemDeps struct {
	// LogStats are the counters of the system log writer (nil: logs are not kept).
	LogStats func() logstore.Stats
	// Redis pings Redis (nil: REDIS_URL is not set).
	Redis func(ctx context.Context) error
	// DataDir is DATA_DIR, whose disk the health reports ("": not reported).
	DataDir string
	// StartedAt is when the process started.
	StartedAt time.Time
}

// SystemLog is one record of the server's own log.
type SystemLog struct {
	ID        int64           `json:"id"`
	Time      time.Time       `json:"time"`
	Level     string          `json:"level" enum:"debug,info,warn,error"`
	Component string          `json:"component" doc:"The part of the server that logged it (api, runs, river, alerts, ...); empty when unnamed"`
	Message   string          `json:"message"`
	RequestID string          `json:"request_id,omitempty" doc:"The API request it was logged in (X-Request-ID)"`
	RunID     string          `json:"run_id,omitempty"`
	User      string          `json:"user,omitempty" doc:"The signed-in user of that request"`
	Attrs     json.RawMessage `json:"attrs,omitempty" doc:"The record's other attributes (secrets redacted)"`
}

func toSystemLog(e store.ServerLog) SystemLog {
	return SystemLog{ID: e.ID, Time: e.Time, Level: e.Level, Component: e.Component, Message: e.Message,
		RequestID: e.RequestID, RunID: e.RunID, User: e.User, Attrs: e.Attrs}
}

type listSystemLogsInput struct {
	Level     []string  `query:"level" enum:"debug,info,warn,error" doc:"Only these levels (comma-separated)"`
	Component string    `query:"component" maxLength:"100"`
	RequestID string    `query:"request_id" maxLength:"100"`
	RunID     string    `query:"run_id" maxLength:"100"`
	User      string    `query:"user" maxLength:"200" doc:"Only records logged in requests of this user name"`
	Q         string    `query:"q" maxLength:"200" doc:"Text in the message or the attributes (case-insensitive substring)"`
	From      time.Time `query:"from" doc:"Inclusive start (RFC 3339)"`
	To        time.Time `query:"to" doc:"Exclusive end (RFC 3339)"`
	Cursor    string    `query:"cursor" maxLength:"20" doc:"next_cursor of the previous page"`
	Limit     int       `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type listSystemLogsOutput struct {
	Body struct {
		Items      []SystemLog     `json:"items" nullable:"false" doc:"Newest first"`
		NextCursor string          `json:"next_cursor,omitempty" doc:"Pass as cursor for the next (older) page; absent on the last page"`
		Writer     *logstore.Stats `json:"writer,omitempty" doc:"The log writer's counters since this process started (dropped: records lost because the store was slower than the log)"`
	}
}

func (s *Server) listSystemLogs(ctx context.Context, in *listSystemLogsInput) (*listSystemLogsOutput, error) {
	if !in.From.IsZero() && !in.To.IsZero() && !in.From.Before(in.To) {
		return nil, invalid("query.to", "must be after from", in.To)
	}
	var before int64
	if in.Cursor != "" {
		n, err := strconv.ParseInt(in.Cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, invalid("query.cursor", "is not a cursor this API returned (use next_cursor)", in.Cursor)
		}
		before = n
	}
	list, next, err := s.store.ListServerLogs(ctx, store.ServerLogFilter{Level: in.Level, Component: in.Component,
		RequestID: in.RequestID, RunID: in.RunID, User: in.User, Text: in.Q, From: in.From, To: in.To,
		Before: before, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &listSystemLogsOutput{}
	out.Body.Items = make([]SystemLog, len(list))
	for i, e := range list {
		out.Body.Items[i] = toSystemLog(e)
	}
	if next > 0 {
		out.Body.NextCursor = strconv.FormatInt(next, 10)
	}
	if s.system.LogStats != nil {
		st := s.system.LogStats()
		out.Body.Writer = &st
	}
	return out, nil
}

// traceLimit bounds each list of a request trace.
const traceLimit = 200

type requestTraceInput struct {
	ID string `path:"id" maxLength:"100" doc:"A request id (X-Request-ID)"`
}

// TracedRun is a run a request started, with its log lines.
type TracedRun struct {
	Run  Run          `json:"run"`
	Logs []RunLogLine `json:"logs" nullable:"false" doc:"The run's log lines, oldest first (at most 200)"`
	More bool         `json:"more" doc:"The run has more log lines than listed (see the run's page)"`
}

type requestTraceOutput struct {
	Body struct {
		RequestID string       `json:"request_id"`
		Logs      []SystemLog  `json:"logs" nullable:"false" doc:"The server's records of the request, oldest first"`
		Audit     []AuditEntry `json:"audit" nullable:"false" doc:"Its audit entries"`
		Runs      []TracedRun  `json:"runs" nullable:"false" doc:"The runs it started, with their log lines"`
	}
}

// requestTrace follows a request id to its log records, its audit entry, the runs it started and
// their log lines.
func (s *Server) requestTrace(ctx context.Context, in *requestTraceInput) (*requestTraceOutput, error) {
	out := &requestTraceOutput{}
	out.Body.RequestID = in.ID
	logs, _, err := s.store.ListServerLogs(ctx, store.ServerLogFilter{RequestID: in.ID, Limit: traceLimit})
	if err != nil {
		return nil, err
	}
	out.Body.Logs = make([]SystemLog, len(logs))
	for i, e := range logs {
		out.Body.Logs[len(logs)-1-i] = toSystemLog(e)
	}
	audit, _, err := s.store.ListAudit(ctx, store.AuditFilter{RequestID: in.ID, Page: store.Page{Limit: traceLimit}})
	if err != nil {
		return nil, err
	}
	out.Body.Audit = make([]AuditEntry, len(audit))
	for i, e := range audit {
		out.Body.Audit[i] = toAuditDTO(e)
	}
	runList, _, err := s.store.ListRuns(ctx, store.RunFilter{RequestID: in.ID, Page: store.Page{Limit: 20}})
	if err != nil {
		return nil, err
	}
	out.Body.Runs = make([]TracedRun, len(runList))
	for i, r := range runList {
		lines, total, err := s.store.ListLogs(ctx, store.LogFilter{RunID: r.ID, Oldest: true, Page: store.Page{Limit: traceLimit}})
		if err != nil {
			return nil, err
		}
		tr := TracedRun{Run: s.toRunDTO(ctx, r, false), Logs: make([]RunLogLine, len(lines)), More: total > len(lines)}
		for j, l := range lines {
			tr.Logs[j] = toRunLogDTO(l)
		}
		out.Body.Runs[i] = tr
	}
	return out, nil
}

// Health statuses, from best to worst.
const (
	healthOK   = "ok"
	healthOff  = "off" // not configured
	healthWarn = "warn"
	healthDown = "error"
)

func worse(a, b string) string {
	rank := map[string]int{healthOK: 0, healthOff: 0, healthWarn: 1, healthDown: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// SystemHealth is the System page's view of the platform.
type SystemHealth struct {
	Status    string    `json:"status" enum:"ok,warn,error" doc:"The worst of the parts below"`
	CheckedAt time.Time `json:"checked_at"`
	Store     struct {
		Status        string `json:"status" enum:"ok,error"`
		Dialect       string `json:"dialect" doc:"sqlite or postgres"`
		SchemaVersion int64  `json:"schema_version"`
		LatestSchema  int64  `json:"latest_schema" doc:"The newest migration this binary ships"`
		LatencyMS     int64  `json:"latency_ms" doc:"Time of a ping"`
		Error         string `json:"error,omitempty"`
	} `json:"store"`
	Redis struct {
		Status     string `json:"status" enum:"ok,off,error" doc:"off: REDIS_URL is not set"`
		Configured bool   `json:"configured"`
		LatencyMS  int64  `json:"latency_ms,omitempty"`
		Error      string `json:"error,omitempty"`
	} `json:"redis"`
	Workers struct {
		Status  string   `json:"status" enum:"ok,warn" doc:"warn: no worker alive"`
		Alive   int      `json:"alive"`
		Stopped int      `json:"stopped"`
		Dead    int      `json:"dead"`
		Items   []Worker `json:"items" nullable:"false"`
	} `json:"workers"`
	Queue struct {
		Status  string `json:"status" enum:"ok,warn" doc:"warn: runs are queued and no worker is alive"`
		Queued  int    `json:"queued" doc:"Runs waiting for a worker"`
		Running int    `json:"running"`
	} `json:"queue"`
	Disk struct {
		Status      string  `json:"status" enum:"ok,warn,error,off" doc:"warn under 10% free, error under 2%"`
		Path        string  `json:"path" doc:"DATA_DIR"`
		TotalBytes  uint64  `json:"total_bytes"`
		FreeBytes   uint64  `json:"free_bytes"`
		UsedBytes   uint64  `json:"used_bytes"`
		UsedPercent float64 `json:"used_percent"`
		Error       string  `json:"error,omitempty"`
	} `json:"disk"`
	Logs struct {
		Status string          `json:"status" enum:"ok,warn,off" doc:"warn: records were dropped or failed"`
		Writer *logstore.Stats `json:"writer,omitempty"`
	} `json:"logs"`
	Build struct {
		Version       string    `json:"version"`
		Commit        string    `json:"commit,omitempty"`
		Date          string    `json:"date,omitempty"`
		GoVersion     string    `json:"go_version"`
		OS            string    `json:"os"`
		Arch          string    `json:"arch"`
		StartedAt     time.Time `json:"started_at"`
		UptimeSeconds int64     `json:"uptime_seconds"`
	} `json:"build"`
}

type systemHealthOutput struct {
	Body SystemHealth
}

// systemHealth checks every part; a failing part is reported in its section (200 regardless).
func (s *Server) systemHealth(ctx context.Context, _ *struct{}) (*systemHealthOutput, error) {
	now := time.Now()
	var h SystemHealth
	h.CheckedAt = now.UTC()

	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	h.Store.Dialect = string(s.store.Dialect())
	t := time.Now()
	if err := s.store.Ping(pctx); err != nil {
		s.log.WarnContext(ctx, "health: store unreachable", "error", err)
		h.Store.Status, h.Store.Error = healthDown, "metadata store unreachable"
	} else {
		h.Store.LatencyMS = time.Since(t).Milliseconds()
		h.Store.Status = healthOK
		if st, err := s.store.Status(pctx); err != nil {
			h.Store.Status, h.Store.Error = healthDown, "cannot read the schema version"
		} else {
			h.Store.SchemaVersion, h.Store.LatestSchema = st.Current, st.Latest
			if !st.UpToDate() {
				h.Store.Status, h.Store.Error = healthDown, store.ErrPendingMigrations.Error()
			}
		}
	}

	h.Redis.Status = healthOff
	if s.system.Redis != nil {
		h.Redis.Configured = true
		t := time.Now()
		if err := s.system.Redis(pctx); err != nil {
			s.log.WarnContext(ctx, "health: redis unreachable", "error", err)
			h.Redis.Status, h.Redis.Error = healthDown, "Redis unreachable"
		} else {
			h.Redis.Status, h.Redis.LatencyMS = healthOK, time.Since(t).Milliseconds()
		}
	}

	h.Workers.Items = []Worker{}
	if list, err := s.store.ListWorkers(pctx, now.Add(-workerListWindow)); err == nil {
		for _, w := range list {
			dto := workerDTO(w, now, s.workerLease)
			h.Workers.Items = append(h.Workers.Items, dto)
			switch dto.Status {
			case "alive":
				h.Workers.Alive++
			case "stopped":
				h.Workers.Stopped++
			default:
				h.Workers.Dead++
			}
		}
	}
	h.Workers.Status = healthOK
	if h.Workers.Alive == 0 {
		h.Workers.Status = healthWarn
	}
	count := func(st store.RunStatus) int {
		_, n, err := s.store.ListRuns(pctx, store.RunFilter{Status: []store.RunStatus{st}, Page: store.Page{Limit: 1}})
		if err != nil {
			return 0
		}
		return n
	}
	h.Queue.Queued, h.Queue.Running = count(store.RunQueued), count(store.RunRunning)
	h.Queue.Status = healthOK
	if h.Queue.Queued > 0 && h.Workers.Alive == 0 {
		h.Queue.Status = healthWarn
	}

	h.Disk.Status, h.Disk.Path = healthOff, s.system.DataDir
	if s.system.DataDir != "" {
		if u, err := diskusage.Of(s.system.DataDir); err != nil {
			s.log.WarnContext(ctx, "health: disk usage", "error", err)
			h.Disk.Status, h.Disk.Error = healthDown, "cannot read the disk usage of DATA_DIR"
		} else {
			h.Disk.TotalBytes, h.Disk.FreeBytes, h.Disk.UsedBytes = u.Total, u.Free, u.Used
			h.Disk.Status = healthOK
			if u.Total > 0 {
				free := float64(u.Free) / float64(u.Total)
				h.Disk.UsedPercent = float64(int(float64(u.Used)/float64(u.Total)*1000)) / 10
				switch {
				case free < 0.02:
					h.Disk.Status = healthDown
				case free < 0.10:
					h.Disk.Status = healthWarn
				}
			}
		}
	}

	h.Logs.Status = healthOff
	if s.system.LogStats != nil {
		st := s.system.LogStats()
		h.Logs.Writer = &st
		h.Logs.Status = healthOK
		if st.Dropped > 0 || st.Failed > 0 {
			h.Logs.Status = healthWarn
		}
	}

	h.Build.Version, h.Build.Commit, h.Build.Date = s.build.Version, s.build.Commit, s.build.Date
	h.Build.GoVersion, h.Build.OS, h.Build.Arch = runtime.Version(), runtime.GOOS, runtime.GOARCH
	h.Build.StartedAt = s.system.StartedAt.UTC()
	if !s.system.StartedAt.IsZero() {
		h.Build.UptimeSeconds = int64(now.Sub(s.system.StartedAt).Seconds())
	}

	h.Status = healthOK
	for _, st := range []string{h.Store.Status, h.Redis.Status, h.Workers.Status, h.Queue.Status, h.Disk.Status, h.Logs.Status} {
		h.Status = worse(h.Status, st)
	}
	return &systemHealthOutput{Body: h}, nil
}
