package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// This file holds the metrics history (docs/metrics.md): per-pipeline and per-node figures in
// 1-minute, 1-hour and 1-day buckets, and one figures row per finished run. Times of buckets are
// Unix seconds and times of runs Unix milliseconds (BIGINT on both dialects), so that every
// query is the same SQL on SQLite and PostgreSQL.

// The bucket sizes, in seconds.
const (
	MetricStepMinute = 60
	MetricStepHour   = 3600
	MetricStepDay    = 86400
)

// MetricSteps are the bucket sizes every point is rolled up to.
var MetricSteps = []int64{MetricStepMinute, MetricStepHour, MetricStepDay}

// MetricPoint is what one pipeline added in one bucket. Counts add up when points of the same
// bucket meet; StreamLag keeps the largest.
type MetricPoint struct {
	PipelineID    string
	Bucket        time.Time // any time in the bucket; stored as the bucket's start
	RowsIn        int64
	RowsOut       int64
	RowsRejected  int64
	Bytes         int64
	RunsStarted   int64
	RunsSucceeded int64
	RunsFailed    int64
	RunsCancelled int64
	DurationMsSum int64
	DurationCount int64
	DeadLetters   int64
	StreamLag     int64
}

// Add adds o's counts to p and keeps the larger stream lag.
func (p *MetricPoint) Add(o MetricPoint) {
	p.RowsIn += o.RowsIn
	p.RowsOut += o.RowsOut
	p.RowsRejected += o.RowsRejected
	p.Bytes += o.Bytes
	p.RunsStarted += o.RunsStarted
	p.RunsSucceeded += o.RunsSucceeded
	p.RunsFailed += o.RunsFailed
	p.RunsCancelled += o.RunsCancelled
	p.DurationMsSum += o.DurationMsSum
	p.DurationCount += o.DurationCount
	p.DeadLetters += o.DeadLetters
	p.StreamLag = max(p.StreamLag, o.StreamLag)
}

func (p *MetricPoint) args() []any {
	return []any{p.RowsIn, p.RowsOut, p.RowsRejected, p.Bytes, p.RunsStarted, p.RunsSucceeded, p.RunsFailed, p.RunsCancelled,
		p.DurationMsSum, p.DurationCount, p.DeadLetters, p.StreamLag}
}

// MetricNodePoint is what one node of a pipeline counted in one bucket.
type MetricNodePoint struct {
	PipelineID   string
	Node         string
	Bucket       time.Time
	RowsIn       int64
	RowsOut      int64
	RowsRejected int64
	Bytes        int64
}

// MetricRun is the figures of one finished run.
type MetricRun struct {
	RunID      string
	PipelineID string
	Status     RunStatus
	StartedAt  *time.Time
	FinishedAt time.Time
	// DurationMs is nil when the run never started (cancelled while queued).
	DurationMs   *int64
	RowsIn       int64
	RowsOut      int64
	RowsRejected int64
	Bytes        int64
	DeadLetters  int64
}

// MetricBatch is what the recorder writes at once.
type MetricBatch struct {
	Points []MetricPoint
	Nodes  []MetricNodePoint
	Runs   []MetricRun
}

// Empty reports whether the batch holds nothing.
func (b MetricBatch) Empty() bool { return len(b.Points) == 0 && len(b.Nodes) == 0 && len(b.Runs) == 0 }

const pointCols = `rows_in, rows_out, rows_rejected, bytes, runs_started, runs_succeeded, runs_failed, runs_cancelled,
	duration_ms_sum, duration_count, dead_letters, stream_lag`

var pointColList = strings.Fields(strings.ReplaceAll(pointCols, ",", " "))

// metricsChunk bounds the rows of one multi-row INSERT (15 parameters a row).
const metricsChunk = 200

// AddMetrics adds a batch in one transaction: each point to its 1-minute, 1-hour and 1-day bucket
// (upserts that add to what the bucket holds), each node point likewise, and each run's figures
// (a run recorded again replaces its row). Points of the same bucket are merged before writing,
// so each bucket is written once per step.
func (s *Store) AddMetrics(ctx context.Context, b MetricBatch) error {
	if b.Empty() {
		return nil
	}
	for _, p := range b.Points {
		if p.PipelineID == "" {
			return fmt.Errorf("add metrics: %w: a point without a pipeline id", ErrInvalid)
		}
	}
	greatest := "GREATEST"
	if s.dialect == SQLite {
		greatest = "MAX"
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, step := range MetricSteps {
			if err := s.upsertPoints(ctx, tx, step, b.Points, greatest); err != nil {
				return err
			}
			if err := s.upsertNodePoints(ctx, tx, step, b.Nodes); err != nil {
				return err
			}
		}
		for start := 0; start < len(b.Runs); start += metricsChunk {
			part := b.Runs[start:min(start+metricsChunk, len(b.Runs))]
			var q strings.Builder
			q.WriteString(`INSERT INTO metric_runs (run_id, pipeline_id, status, started_at, finished_at, duration_ms,
				rows_in, rows_out, rows_rejected, bytes, dead_letters) VALUES `)
			args := make([]any, 0, len(part)*11)
			for i, r := range part {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString(rowMarks(len(args), 11))
				var started any
				if r.StartedAt != nil {
					started = r.StartedAt.UnixMilli()
				}
				var dur any
				if r.DurationMs != nil {
					dur = *r.DurationMs
				}
				args = append(args, r.RunID, r.PipelineID, string(r.Status), started, r.FinishedAt.UnixMilli(), dur,
					r.RowsIn, r.RowsOut, r.RowsRejected, r.Bytes, r.DeadLetters)
			}
			q.WriteString(` ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, started_at = excluded.started_at,
				finished_at = excluded.finished_at, duration_ms = excluded.duration_ms, rows_in = excluded.rows_in,
				rows_out = excluded.rows_out, rows_rejected = excluded.rows_rejected, bytes = excluded.bytes,
				dead_letters = excluded.dead_letters`)
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return s.mapErr(err, "add metrics: runs")
			}
		}
		return nil
	})
}

func (s *Store) upsertPoints(ctx context.Context, tx *sql.Tx, step int64, points []MetricPoint, greatest string) error {
	type key struct {
		pipeline string
		bucket   int64
	}
	merged := map[key]*MetricPoint{}
	var keys []key
	for _, p := range points {
		k := key{p.PipelineID, bucketOf(p.Bucket, step)}
		if m, ok := merged[k]; ok {
			m.Add(p)
			continue
		}
		c := p
		merged[k] = &c
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { // a fixed order: concurrent writers lock rows alike
		if keys[i].pipeline != keys[j].pipeline {
			return keys[i].pipeline < keys[j].pipeline
		}
		return keys[i].bucket < keys[j].bucket
	})
	var set []string
	for _, c := range pointColList {
		if c == "stream_lag" {
			set = append(set, fmt.Sprintf("stream_lag = %s(metric_points.stream_lag, excluded.stream_lag)", greatest))
			continue
		}
		set = append(set, fmt.Sprintf("%s = metric_points.%s + excluded.%s", c, c, c))
	}
	for start := 0; start < len(keys); start += metricsChunk {
		part := keys[start:min(start+metricsChunk, len(keys))]
		var q strings.Builder
		q.WriteString(`INSERT INTO metric_points (step, bucket, pipeline_id, ` + pointCols + `) VALUES `)
		args := make([]any, 0, len(part)*15)
		for i, k := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(rowMarks(len(args), 15))
			args = append(append(args, step, k.bucket, k.pipeline), merged[k].args()...)
		}
		q.WriteString(` ON CONFLICT (step, pipeline_id, bucket) DO UPDATE SET ` + strings.Join(set, ", "))
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return s.mapErr(err, "add metrics: points")
		}
	}
	return nil
}

func (s *Store) upsertNodePoints(ctx context.Context, tx *sql.Tx, step int64, nodes []MetricNodePoint) error {
	type key struct {
		pipeline, node string
		bucket         int64
	}
	merged := map[key]*MetricNodePoint{}
	var keys []key
	for _, p := range nodes {
		k := key{p.PipelineID, p.Node, bucketOf(p.Bucket, step)}
		if m, ok := merged[k]; ok {
			m.RowsIn += p.RowsIn
			m.RowsOut += p.RowsOut
			m.RowsRejected += p.RowsRejected
			m.Bytes += p.Bytes
			continue
		}
		c := p
		merged[k] = &c
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.pipeline != b.pipeline {
			return a.pipeline < b.pipeline
		}
		if a.node != b.node {
			return a.node < b.node
		}
		return a.bucket < b.bucket
	})
	for start := 0; start < len(keys); start += metricsChunk {
		part := keys[start:min(start+metricsChunk, len(keys))]
		var q strings.Builder
		q.WriteString(`INSERT INTO metric_node_points (step, bucket, pipeline_id, node, rows_in, rows_out, rows_rejected, bytes) VALUES `)
		args := make([]any, 0, len(part)*8)
		for i, k := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(rowMarks(len(args), 8))
			m := merged[k]
			args = append(args, step, k.bucket, k.pipeline, k.node, m.RowsIn, m.RowsOut, m.RowsRejected, m.Bytes)
		}
		q.WriteString(` ON CONFLICT (step, pipeline_id, node, bucket) DO UPDATE SET
			rows_in = metric_node_points.rows_in + excluded.rows_in, rows_out = metric_node_points.rows_out + excluded.rows_out,
			rows_rejected = metric_node_points.rows_rejected + excluded.rows_rejected, bytes = metric_node_points.bytes + excluded.bytes`)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return s.mapErr(err, "add metrics: node points")
		}
	}
	return nil
}

// bucketOf is the start, in Unix seconds, of the bucket of size step that holds t.
// bucketsBefore is the bound of "bucket < bound" that keeps every bucket starting before t, the
// bucket holding t included: t.Unix() alone would drop the current minute while t is a fraction of
// a second into it (a run that ended at 02:14:00.1, asked for at 02:14:00.2).
func bucketsBefore(t time.Time) int64 {
	u := t.Unix()
	if t.Nanosecond() > 0 {
		u++
	}
	return u
}

func bucketOf(t time.Time, step int64) int64 {
	u := t.Unix()
	r := u % step
	if r < 0 {
		r += step
	}
	return u - r
}

// rowMarks writes "($n+1, ..., $n+k)".
func rowMarks(n, k int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := 1; i <= k; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", n+i)
	}
	b.WriteByte(')')
	return b.String()
}

// MetricColumn names a figure of metric_points a series reads.
type MetricColumn string

// The figures a series reads. Counts are summed over pipelines and buckets; StreamLag is the
// largest; DurationAvg is the mean duration of the runs that finished in the bucket.
const (
	MetricRowsIn        MetricColumn = "rows_in"
	MetricRowsOut       MetricColumn = "rows_out"
	MetricRowsRejected  MetricColumn = "rows_rejected"
	MetricBytes         MetricColumn = "bytes"
	MetricRunsStarted   MetricColumn = "runs_started"
	MetricRunsSucceeded MetricColumn = "runs_succeeded"
	MetricRunsFailed    MetricColumn = "runs_failed"
	MetricDeadLetters   MetricColumn = "dead_letters"
	MetricStreamLag     MetricColumn = "stream_lag"
	MetricDurationAvg   MetricColumn = "duration_ms_avg"
)

// metricExpr is the SQL aggregate of a column and the condition a bucket must meet to count as
// holding data.
func metricExpr(c MetricColumn) (expr, having string, ok bool) {
	switch c {
	case MetricRowsIn, MetricRowsOut, MetricRowsRejected, MetricBytes, MetricRunsStarted, MetricRunsSucceeded,
		MetricRunsFailed, MetricDeadLetters:
		return "CAST(SUM(" + string(c) + ") AS DOUBLE PRECISION)", "", true
	case MetricStreamLag:
		return "CAST(MAX(stream_lag) AS DOUBLE PRECISION)", "", true
	case MetricDurationAvg:
		return "CAST(SUM(duration_ms_sum) AS DOUBLE PRECISION) / CAST(SUM(duration_count) AS DOUBLE PRECISION)", "SUM(duration_count) > 0", true
	}
	return "", "", false
}

// nodeColumn reports whether c is counted per node too.
func nodeColumn(c MetricColumn) bool {
	return c == MetricRowsIn || c == MetricRowsOut || c == MetricRowsRejected || c == MetricBytes
}

// MetricSeriesQuery selects a series: one figure at one bucket size over [From, To).
type MetricSeriesQuery struct {
	Column MetricColumn
	Step   int64 // MetricStepMinute, MetricStepHour or MetricStepDay
	From   time.Time
	To     time.Time
	// PipelineIDs restricts the series to these pipelines (empty: every pipeline).
	PipelineIDs []string
	// Node, with one pipeline id, reads that node's counts (rows and bytes only).
	Node string
	// PerPipeline returns one point per pipeline and bucket instead of one per bucket.
	PerPipeline bool
}

// MetricValue is one bucket's value (of one pipeline when the query is per pipeline).
type MetricValue struct {
	PipelineID string
	Bucket     time.Time
	Value      float64
}

func (q MetricSeriesQuery) where() (table, cond string, args []any, err error) {
	if q.Step != MetricStepMinute && q.Step != MetricStepHour && q.Step != MetricStepDay {
		return "", "", nil, fmt.Errorf("%w: step %d is not 60, 3600 or 86400", ErrInvalid, q.Step)
	}
	table = "metric_points"
	args = []any{q.Step, bucketOf(q.From, q.Step), bucketsBefore(q.To)}
	cond = `step = $1 AND bucket >= $2 AND bucket < $3`
	if q.Node != "" {
		if len(q.PipelineIDs) != 1 || !nodeColumn(q.Column) {
			return "", "", nil, fmt.Errorf("%w: a node's series needs one pipeline and a row or byte count", ErrInvalid)
		}
		table = "metric_node_points"
		args = append(args, q.Node)
		cond += fmt.Sprintf(" AND node = $%d", len(args))
	}
	if len(q.PipelineIDs) > 0 {
		marks := make([]string, len(q.PipelineIDs))
		for i, id := range q.PipelineIDs {
			args = append(args, id)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		cond += " AND pipeline_id IN (" + strings.Join(marks, ", ") + ")"
	}
	return table, cond, args, nil
}

// MetricSeries returns the values of the buckets that hold data, in bucket order (per pipeline,
// then bucket, when PerPipeline).
func (s *Store) MetricSeries(ctx context.Context, q MetricSeriesQuery) ([]MetricValue, error) {
	expr, having, ok := metricExpr(q.Column)
	if !ok {
		return nil, fmt.Errorf("metric series: %w: unknown metric %q", ErrInvalid, q.Column)
	}
	table, cond, args, err := q.where()
	if err != nil {
		return nil, fmt.Errorf("metric series: %w", err)
	}
	group, cols := "bucket", "'' AS pipeline_id, bucket"
	if q.PerPipeline {
		group, cols = "pipeline_id, bucket", "pipeline_id, bucket"
	}
	sqlText := `SELECT ` + cols + `, ` + expr + ` FROM ` + table + ` WHERE ` + cond + ` GROUP BY ` + group
	if having != "" {
		sqlText += ` HAVING ` + having
	}
	sqlText += ` ORDER BY ` + group
	return queryAll(ctx, s, "metric series", sqlText, args, func(row scanner) (MetricValue, error) {
		var v MetricValue
		var b int64
		err := row.Scan(&v.PipelineID, &b, &v.Value)
		v.Bucket = time.Unix(b, 0).UTC()
		return v, err
	})
}

// MetricTotal is one pipeline's total of a figure over a time range.
type MetricTotal struct {
	PipelineID string
	Total      float64
}

// MetricTopPipelines returns the limit pipelines with the largest total of the query's figure
// (the largest value for stream lag, the largest mean for durations), largest first.
func (s *Store) MetricTopPipelines(ctx context.Context, q MetricSeriesQuery, limit int) ([]MetricTotal, error) {
	expr, having, ok := metricExpr(q.Column)
	if !ok {
		return nil, fmt.Errorf("metric top pipelines: %w: unknown metric %q", ErrInvalid, q.Column)
	}
	table, cond, args, err := q.where()
	if err != nil {
		return nil, fmt.Errorf("metric top pipelines: %w", err)
	}
	args = append(args, limit)
	// Grouped by the expression pipeline_id || '', not the column: SQLite would otherwise read the
	// whole step through ix_metric_points_pipeline to have the groups in order (about 10x slower
	// than the time range of the primary key and a sort of its 100 groups).
	sqlText := `SELECT pipeline_id || '' AS pipeline_id, ` + expr + ` AS total FROM ` + table + ` WHERE ` + cond + ` GROUP BY 1`
	if having != "" {
		sqlText += ` HAVING ` + having
	}
	sqlText += fmt.Sprintf(` ORDER BY total DESC, 1 LIMIT $%d`, len(args))
	return queryAll(ctx, s, "metric top pipelines", sqlText, args, func(row scanner) (MetricTotal, error) {
		var t MetricTotal
		return t, row.Scan(&t.PipelineID, &t.Total)
	})
}

// MetricSums are counts summed over every pipeline in a time range (the 1-minute buckets when the
// range is shorter than two days, else the 1-hour buckets).
type MetricSums struct {
	RowsIn, RowsOut, RowsRejected, DeadLetters int64
}

// SumMetrics sums the counts of every pipeline over [from, to) at bucket size step.
func (s *Store) SumMetrics(ctx context.Context, step int64, from, to time.Time) (MetricSums, error) {
	var m MetricSums
	err := s.db.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(rows_in), 0) AS BIGINT), CAST(COALESCE(SUM(rows_out), 0) AS BIGINT),
		CAST(COALESCE(SUM(rows_rejected), 0) AS BIGINT), CAST(COALESCE(SUM(dead_letters), 0) AS BIGINT) FROM metric_points WHERE step = $1 AND bucket >= $2 AND bucket < $3`,
		step, bucketOf(from, step), bucketsBefore(to)).Scan(&m.RowsIn, &m.RowsOut, &m.RowsRejected, &m.DeadLetters)
	if err != nil {
		return m, s.mapErr(err, "sum metrics")
	}
	return m, nil
}

// PipelineRunFigures are one pipeline's figures over the runs that finished in a time range.
type PipelineRunFigures struct {
	PipelineID string
	Runs       int64 // finished runs (succeeded, failed, cancelled)
	Succeeded  int64
	Failed     int64
	// MeanDurationMs and P95DurationMs are over the runs that started (nil: none did). P95 is the
	// nearest rank: the smallest duration at least 95% of the durations are at or below.
	MeanDurationMs *float64
	P95DurationMs  *int64
	RowsOut        int64
}

// PipelineRunFigures returns the figures of every pipeline with a run that finished in
// [from, to), by pipeline id.
func (s *Store) PipelineRunFigures(ctx context.Context, from, to time.Time) (map[string]PipelineRunFigures, error) {
	list, err := queryAll(ctx, s, "pipeline run figures", `WITH w AS (
			SELECT pipeline_id, status, duration_ms, rows_out FROM metric_runs WHERE finished_at >= $1 AND finished_at < $2),
		agg AS (
			SELECT pipeline_id, COUNT(*) AS runs,
				CAST(SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS BIGINT) AS succeeded,
				CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed,
				CAST(AVG(duration_ms) AS DOUBLE PRECISION) AS mean, CAST(SUM(rows_out) AS BIGINT) AS rows_out
			FROM w GROUP BY pipeline_id),
		ranked AS (
			SELECT pipeline_id, duration_ms,
				ROW_NUMBER() OVER (PARTITION BY pipeline_id ORDER BY duration_ms) AS rn,
				COUNT(*) OVER (PARTITION BY pipeline_id) AS n
			FROM w WHERE duration_ms IS NOT NULL)
		SELECT a.pipeline_id, a.runs, a.succeeded, a.failed, a.mean, r.duration_ms, a.rows_out
		FROM agg a LEFT JOIN ranked r ON r.pipeline_id = a.pipeline_id AND r.rn = (95 * r.n + 99) / 100`,
		[]any{from.UnixMilli(), to.UnixMilli()}, func(row scanner) (PipelineRunFigures, error) {
			var f PipelineRunFigures
			var mean sql.NullFloat64
			var p95 sql.NullInt64
			err := row.Scan(&f.PipelineID, &f.Runs, &f.Succeeded, &f.Failed, &mean, &p95, &f.RowsOut)
			if mean.Valid {
				f.MeanDurationMs = &mean.Float64
			}
			if p95.Valid {
				f.P95DurationMs = &p95.Int64
			}
			return f, err
		})
	if err != nil {
		return nil, err
	}
	out := make(map[string]PipelineRunFigures, len(list))
	for _, f := range list {
		out[f.PipelineID] = f
	}
	return out, nil
}

// LastRuns is a pipeline's latest finished run and latest success, over all recorded runs.
type LastRuns struct {
	PipelineID    string
	LastRunAt     time.Time
	LastStatus    RunStatus
	LastSuccessAt *time.Time
}

// LastRuns returns, by pipeline id, every pipeline's latest finished run and latest success.
func (s *Store) LastRuns(ctx context.Context) (map[string]LastRuns, error) {
	list, err := queryAll(ctx, s, "last runs", `SELECT l.pipeline_id, l.finished_at, l.status, ls.at FROM
		(SELECT pipeline_id, finished_at, status,
			ROW_NUMBER() OVER (PARTITION BY pipeline_id ORDER BY finished_at DESC, run_id DESC) AS rn FROM metric_runs) l
		LEFT JOIN (SELECT pipeline_id, MAX(finished_at) AS at FROM metric_runs WHERE status = 'succeeded' GROUP BY pipeline_id) ls
			ON ls.pipeline_id = l.pipeline_id
		WHERE l.rn = 1`, nil, func(row scanner) (LastRuns, error) {
		var l LastRuns
		var at int64
		var status string
		var success sql.NullInt64
		err := row.Scan(&l.PipelineID, &at, &status, &success)
		l.LastRunAt, l.LastStatus = time.UnixMilli(at).UTC(), RunStatus(status)
		if success.Valid {
			t := time.UnixMilli(success.Int64).UTC()
			l.LastSuccessAt = &t
		}
		return l, err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]LastRuns, len(list))
	for _, l := range list {
		out[l.PipelineID] = l
	}
	return out, nil
}

// CountRunsByStatus counts the runs created in [from, to) by status.
func (s *Store) CountRunsByStatus(ctx context.Context, from, to time.Time) (map[RunStatus]int64, error) {
	type kv struct {
		status string
		n      int64
	}
	list, err := queryAll(ctx, s, "count runs by status", `SELECT status, COUNT(*) FROM pipeline_runs
		WHERE created_at >= $1 AND created_at < $2 GROUP BY status`, []any{s.ts(from), s.ts(to)}, func(row scanner) (kv, error) {
		var x kv
		return x, row.Scan(&x.status, &x.n)
	})
	if err != nil {
		return nil, err
	}
	out := map[RunStatus]int64{}
	for _, x := range list {
		out[RunStatus(x.status)] = x.n
	}
	return out, nil
}

// CountRunning counts the runs running now.
func (s *Store) CountRunning(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pipeline_runs WHERE status = 'running'`).Scan(&n); err != nil {
		return 0, s.mapErr(err, "count running runs")
	}
	return n, nil
}

// DeleteMetricPointsBefore deletes up to limit points of bucket size step (pipeline and node
// points, up to limit of each) whose bucket started before cutoff, and returns how many.
func (s *Store) DeleteMetricPointsBefore(ctx context.Context, step int64, cutoff time.Time, limit int) (int, error) {
	limit, _ = Page{Limit: limit}.norm()
	res, err := s.db.ExecContext(ctx, `DELETE FROM metric_points WHERE (step, pipeline_id, bucket) IN
		(SELECT step, pipeline_id, bucket FROM metric_points WHERE step = $1 AND bucket < $2 LIMIT $3)`, step, cutoff.Unix(), limit)
	n, err := rowsAffected(s, res, err, "delete metric points")
	if err != nil {
		return n, err
	}
	res, err = s.db.ExecContext(ctx, `DELETE FROM metric_node_points WHERE (step, pipeline_id, node, bucket) IN
		(SELECT step, pipeline_id, node, bucket FROM metric_node_points WHERE step = $1 AND bucket < $2 LIMIT $3)`, step, cutoff.Unix(), limit)
	m, err := rowsAffected(s, res, err, "delete metric node points")
	return n + m, err
}

// DeleteMetricRunsBefore deletes up to limit run figures of runs that finished before cutoff and
// returns how many.
func (s *Store) DeleteMetricRunsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	limit, _ = Page{Limit: limit}.norm()
	res, err := s.db.ExecContext(ctx, `DELETE FROM metric_runs WHERE run_id IN
		(SELECT run_id FROM metric_runs WHERE finished_at < $1 LIMIT $2)`, cutoff.UnixMilli(), limit)
	return rowsAffected(s, res, err, "delete metric runs")
}
