package schedules_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/schedules"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// clock is the store's fake clock: it stamps schedule_since at save and resume.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// idleQueue accepts runs and leaves them queued.
type idleQueue struct{}

func (idleQueue) Enqueue(context.Context, *store.Tx, store.Run) error { return nil }
func (idleQueue) Cancel(string)                                       {}

type backend struct {
	dialect store.Dialect
	dsn     string
}

func backends(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, backend{dialect: store.SQLite, dsn: filepath.Join(t.TempDir(), "aggregator.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, backend{dialect: store.Postgres, dsn: testutil.Postgres(t).URL})
	})
}

func sqliteOnly() backend {
	return backend{dialect: store.SQLite}
}

// proc is one process: its own store connection, run service and schedules service.
type proc struct {
	st    *store.Store
	sched *schedules.Service
}

type env struct {
	t     *testing.T
	b     backend
	clock *clock
	proc
}

func setup(t *testing.T, b backend, start time.Time) *env {
	t.Helper()
	if b.dsn == "" {
		b.dsn = filepath.Join(t.TempDir(), "aggregator.db")
	}
	storetest.Open(t, store.Options{Dialect: b.dialect, DSN: b.dsn}) // migrated (SQLite: a copy of the template)
	e := &env{t: t, b: b, clock: &clock{t: start}}
	e.proc = e.newProc()
	return e
}

// newProc opens another connection to the same store, as another server process would.
func (e *env) newProc() proc {
	t := e.t
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Dialect: e.b.dialect, DSN: e.b.dsn, MaxOpenConns: 4, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	conns, err := connector.NewRegistry(csv.New())
	if err != nil {
		t.Fatal(err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := runs.New(runs.Options{Store: st, Connectors: conns, Transforms: trs})
	if err != nil {
		t.Fatal(err)
	}
	rs.SetQueue(idleQueue{})
	sched, err := schedules.New(schedules.Options{Store: st, Runs: rs})
	if err != nil {
		t.Fatal(err)
	}
	return proc{st: st, sched: sched}
}

// pipeline saves a scheduled pipeline (the spec text is not read by the scheduler).
func (e *env) pipeline(name, cron, tz, misfire string) store.Pipeline {
	e.t.Helper()
	p, err := e.st.CreatePipeline(context.Background(), store.Pipeline{Name: name, Spec: "name: " + name,
		Schedule: cron, Timezone: tz, Enabled: true, Misfire: misfire})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) tick(now time.Time) schedules.Report {
	e.t.Helper()
	rep, err := e.sched.Tick(context.Background(), now)
	if err != nil {
		e.t.Fatalf("tick at %s: %v", now, err)
	}
	return rep
}

// ticks are the ticks of the pipeline's schedule that started runs, as RFC 3339 UTC times.
func (e *env) ticks(id string) []string {
	e.t.Helper()
	list, err := e.st.ListScheduleTicks(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	out := []string{}
	for _, k := range list {
		run, err := e.st.GetRun(context.Background(), k.RunID)
		if err != nil {
			e.t.Fatalf("run of tick %s: %v", k.Tick, err)
		}
		if run.Trigger != schedules.Trigger || run.PipelineID != id {
			e.t.Errorf("run %s of tick %s: trigger %q pipeline %s", run.ID, k.Tick, run.Trigger, run.PipelineID)
		}
		// The run says which tick started it, and whether it was the catch-up of missed ones.
		if d := runs.DecodeTriggerDetail(run.TriggerDetail); d.Tick == nil || !d.Tick.Equal(k.Tick) || d.CatchUp != k.CatchUp {
			e.t.Errorf("run %s of tick %s (catch-up %v): trigger detail %s", run.ID, k.Tick, k.CatchUp, run.TriggerDetail)
		}
		s := k.Tick.UTC().Format(time.RFC3339)
		if k.CatchUp {
			s += " catch-up"
		}
		out = append(out, s)
	}
	return out
}

// scheduledRuns counts the pipeline's runs with trigger "schedule".
func (e *env) scheduledRuns(id string) int {
	e.t.Helper()
	list, _, err := e.st.ListRuns(context.Background(), store.RunFilter{PipelineID: id, Page: store.Page{Limit: 1000}})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, r := range list {
		if r.Trigger == schedules.Trigger {
			n++
		}
	}
	return n
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: got %q, want %q", what, got, want)
		}
	}
}

func TestTickStartsOneRunPerTick(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, at("2026-12-05T10:00:10Z"))
		p := e.pipeline("quarter", "*/15 * * * *", "", "")
		if rep := e.tick(at("2026-12-05T10:14:59Z")); len(rep.Fired) != 0 {
			t.Fatalf("fired before the first tick: %+v", rep)
		}
		rep := e.tick(at("2026-12-05T10:15:20Z"))
		if len(rep.Fired) != 1 || rep.Fired[0].Run.Trigger != "schedule" || rep.Fired[0].Run.Status != store.RunQueued {
			t.Fatalf("at 10:15:20: %+v", rep)
		}
		// The same minute again, and the next one: nothing new.
		e.tick(at("2026-12-05T10:15:50Z"))
		e.tick(at("2026-12-05T10:16:20Z"))
		e.tick(at("2026-12-05T10:30:05Z"))
		equal(t, "ticks", e.ticks(p.ID), []string{"2026-12-05T10:15:00Z", "2026-12-05T10:30:00Z"})
		if n := e.scheduledRuns(p.ID); n != 2 {
			t.Fatalf("%d scheduled runs, want 2", n)
		}
	})
}

// Eight processes handle the same ticks at once: each tick starts exactly one run.
func TestConcurrentProcessesStartOneRunPerTick(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, b backend) {
		e := setup(t, b, at("2026-12-05T10:00:00Z"))
		var ids []string
		for _, name := range []string{"a", "b", "c"} {
			ids = append(ids, e.pipeline(name, "* * * * *", "Europe/Berlin", "").ID)
		}
		procs := []proc{e.proc}
		for range 7 {
			procs = append(procs, e.newProc())
		}
		// Two rounds; in each, every process handles the same due ticks (10:01 and 10:02, then 10:03).
		for _, now := range []time.Time{at("2026-12-05T10:02:30Z"), at("2026-12-05T10:03:10Z")} {
			var wg sync.WaitGroup
			reps := make([]schedules.Report, len(procs))
			errs := make([]error, len(procs))
			for i, pr := range procs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					reps[i], errs[i] = pr.sched.Tick(context.Background(), now)
				}()
			}
			wg.Wait()
			fired := 0
			for i := range procs {
				if errs[i] != nil {
					t.Fatalf("process %d: %v", i, errs[i])
				}
				fired += len(reps[i].Fired)
			}
			want := 3 * 2
			if now.Minute() == 3 {
				want = 3
			}
			if fired != want {
				t.Fatalf("at %s: %d runs started across processes, want %d", now.Format(time.TimeOnly), fired, want)
			}
		}
		for _, id := range ids {
			equal(t, "ticks", e.ticks(id), []string{"2026-12-05T10:01:00Z", "2026-12-05T10:02:00Z", "2026-12-05T10:03:00Z"})
			if n := e.scheduledRuns(id); n != 3 {
				t.Fatalf("pipeline %s: %d scheduled runs, want 3", id, n)
			}
		}
	})
}

func TestMisfire(t *testing.T) {
	t.Parallel()
	// Hourly, saved at 00:30; the server comes back at now.
	for _, tc := range []struct {
		name, misfire, now string
		want               []string
		skipped            int
	}{
		{"skip drops every missed tick", "skip", "2026-12-05T05:10:00Z", []string{}, 1},
		{"default is skip", "", "2026-12-05T05:10:00Z", []string{}, 1},
		{"skip still runs the tick on time", "skip", "2026-12-05T05:01:00Z", []string{"2026-12-05T05:00:00Z"}, 1},
		{"run_once: one catch-up run", "run_once", "2026-12-05T05:10:00Z", []string{"2026-12-05T05:00:00Z catch-up"}, 0},
		{"run_once: catch-up and the tick on time", "run_once", "2026-12-05T05:01:00Z",
			[]string{"2026-12-05T04:00:00Z catch-up", "2026-12-05T05:00:00Z"}, 0},
		{"nothing missed", "run_once", "2026-12-05T01:00:30Z", []string{"2026-12-05T01:00:00Z"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, sqliteOnly(), at("2026-12-05T00:30:00Z"))
			p := e.pipeline("hourly", "0 * * * *", "", tc.misfire)
			rep := e.tick(at(tc.now))
			if rep.Skipped != tc.skipped {
				t.Errorf("skipped %d, want %d", rep.Skipped, tc.skipped)
			}
			equal(t, "ticks", e.ticks(p.ID), tc.want)
			// Handled: the same time again starts nothing, the next hour runs on time.
			e.tick(at(tc.now))
			next := at(tc.now).Truncate(time.Hour).Add(time.Hour + 20*time.Second)
			e.tick(next)
			want := append(tc.want, next.Truncate(time.Minute).Format(time.RFC3339))
			equal(t, "ticks after the next hour", e.ticks(p.ID), want)
		})
	}
}

// A year of missed minutes costs one catch-up run (and finishes quickly).
func TestMisfireAfterLongDowntime(t *testing.T) {
	t.Parallel()
	e := setup(t, sqliteOnly(), at("2025-12-05T00:00:00Z"))
	p := e.pipeline("minutely", "* * * * *", "", "run_once")
	start := time.Now()
	e.tick(at("2026-12-05T00:00:30Z"))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("tick after a year took %s", d)
	}
	equal(t, "ticks", e.ticks(p.ID), []string{"2026-12-04T23:58:00Z catch-up", "2026-12-04T23:59:00Z", "2026-12-05T00:00:00Z"})
}

func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		e := setup(t, b, at("2026-12-05T10:00:00Z"))
		p := e.pipeline("paused", "*/5 * * * *", "", "run_once")
		if _, err := e.st.SetSchedulePaused(ctx, p.ID, true, "alice"); err != nil {
			t.Fatal(err)
		}
		got, err := e.st.GetPipeline(ctx, p.ID)
		if err != nil || !got.SchedulePaused || got.Version != 1 {
			t.Fatalf("after pause: %+v, %v", got, err)
		}
		e.tick(at("2026-12-05T10:05:30Z"))
		e.tick(at("2026-12-05T10:20:30Z"))
		equal(t, "ticks while paused", e.ticks(p.ID), []string{})
		// Resume at 10:21: the ticks of the pause are not caught up, even with run_once.
		e.clock.Set(at("2026-12-05T10:21:00Z"))
		got, err = e.st.SetSchedulePaused(ctx, p.ID, false, "alice")
		if err != nil || got.SchedulePaused || got.Version != 1 {
			t.Fatalf("after resume: %+v, %v", got, err)
		}
		e.tick(at("2026-12-05T10:25:10Z"))
		equal(t, "ticks after resume", e.ticks(p.ID), []string{"2026-12-05T10:25:00Z"})
		// A save keeps the pause.
		if _, err := e.st.SetSchedulePaused(ctx, p.ID, true, "alice"); err != nil {
			t.Fatal(err)
		}
		got, err = e.st.UpdatePipeline(ctx, p.ID, store.PipelineUpdate{Name: "paused", Spec: "name: paused", Schedule: "*/5 * * * *",
			Enabled: true, Misfire: "skip", Actor: "bob"})
		if err != nil || !got.SchedulePaused || got.Misfire != "skip" {
			t.Fatalf("after a save: %+v, %v", got, err)
		}
		// No schedule: nothing to pause.
		plain, err := e.st.CreatePipeline(ctx, store.Pipeline{Name: "plain", Spec: "name: plain"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.SetSchedulePaused(ctx, plain.ID, true, "alice"); err == nil {
			t.Fatal("paused a pipeline without a schedule")
		}
	})
}

// A changed schedule counts its ticks from the save: the old schedule's missed ticks are not caught up.
func TestChangedScheduleStartsFromTheSave(t *testing.T) {
	t.Parallel()
	e := setup(t, sqliteOnly(), at("2026-12-05T00:00:00Z"))
	p := e.pipeline("changed", "0 * * * *", "", "run_once")
	e.clock.Set(at("2026-12-05T06:30:00Z"))
	if _, err := e.st.UpdatePipeline(context.Background(), p.ID, store.PipelineUpdate{Name: "changed", Spec: "name: changed",
		Schedule: "*/10 * * * *", Enabled: true, Misfire: "run_once", Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	e.tick(at("2026-12-05T06:40:30Z"))
	equal(t, "ticks", e.ticks(p.ID), []string{"2026-12-05T06:40:00Z"})
}

// DST: robfig/cron in the pipeline's time zone. A tick in the hour skipped when clocks go forward
// does not happen (not moved, not run at the transition); a tick in the hour repeated when
// they go back happens twice, once in each offset. The service is ticked every minute across
// the night, as the periodic job does.
func TestDaylightSavingTransitions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, tz, cron, from, to string
		want                     []string // local times
	}{
		{"Berlin spring forward, daily 02:30 skipped", "Europe/Berlin", "30 2 * * *",
			"2026-03-28T23:00:00Z", "2026-03-29T05:00:00Z", []string{}},
		{"Berlin spring forward, hourly skips 02:00", "Europe/Berlin", "0 * * * *",
			"2026-03-28T23:30:00Z", "2026-03-29T02:30:00Z", []string{"01:00 CET", "03:00 CEST", "04:00 CEST"}},
		{"Berlin fall back, daily 02:30 twice", "Europe/Berlin", "30 2 * * *",
			"2026-10-24T22:00:00Z", "2026-10-25T04:00:00Z", []string{"02:30 CEST", "02:30 CET"}},
		{"Berlin fall back, hourly 02:00 twice", "Europe/Berlin", "0 * * * *",
			"2026-10-24T22:30:00Z", "2026-10-25T02:30:00Z", []string{"01:00 CEST", "02:00 CEST", "02:00 CET", "03:00 CET"}},
		{"New York spring forward, daily 02:30 skipped", "America/New_York", "30 2 * * *",
			"2026-03-08T05:00:00Z", "2026-03-08T10:00:00Z", []string{}},
		{"New York spring forward, 03:30 still runs", "America/New_York", "30 3 * * *",
			"2026-03-08T05:00:00Z", "2026-03-08T10:00:00Z", []string{"03:30 EDT"}},
		{"New York fall back, daily 01:30 twice", "America/New_York", "30 1 * * *",
			"2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z", []string{"01:30 EDT", "01:30 EST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, sqliteOnly(), at(tc.from))
			p := e.pipeline("dst", tc.cron, tc.tz, "")
			loc, err := time.LoadLocation(tc.tz)
			if err != nil {
				t.Fatal(err)
			}
			for now := at(tc.from).Add(20 * time.Second); now.Before(at(tc.to)); now = now.Add(time.Minute) {
				e.tick(now)
			}
			got := []string{}
			for _, k := range e.ticks(p.ID) {
				got = append(got, at(k).In(loc).Format("15:04 MST"))
			}
			equal(t, "local ticks", got, tc.want)
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	_, err := schedules.New(schedules.Options{Grace: -time.Second})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"Store is required", "Runs is required", "Grace must not be negative"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}
