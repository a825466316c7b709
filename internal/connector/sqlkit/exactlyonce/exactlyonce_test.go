package exactlyonce_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // database/sql driver for the checks
	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/connector/mysql"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

const (
	sourceRows = 20_000
	kills      = 15 // killed runs per database and write mode
	childEnv   = "AGG_EXACTLYONCE_CHILD"
)

// TestMain runs the pipeline child when the test binary is started as one.
func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := child(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs dir/pipeline.yaml with its checkpoints in dir/state.json, printing "rows N" as
// destination rows are written, "saving N" when the destinations have committed N rows and the
// checkpoint naming them is about to be saved, and "done" at the end.
func child(dir string) error {
	spec, err := os.ReadFile(filepath.Join(dir, "pipeline.yaml"))
	if err != nil {
		return err
	}
	conns, err := connector.NewRegistry(csv.New(), postgres.New(), mysql.New())
	if err != nil {
		return err
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		return err
	}
	s, err := pipeline.Parse(spec)
	if err != nil {
		return err
	}
	env := connector.Env{FileRoots: []string{dir}}
	plan, err := pipeline.Validate(context.Background(), s, pipeline.Env{Connectors: conns, Transforms: trs})
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	res, err := engine.Run(context.Background(), plan, engine.Options{
		Env: env, BatchSize: 100, CommitRows: 500, CommitInterval: time.Hour, Workers: 1,
		Checkpointer:     &fileCheckpointer{path: filepath.Join(dir, "state.json"), out: out},
		ProgressInterval: time.Nanosecond,
		Progress: func(p engine.Progress) {
			fmt.Fprintf(out, "rows %d\n", p.RowsWritten)
			_ = out.Flush()
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "done resumed=%v written=%d\n", res.Resumed, res.RowsWritten)
	return out.Flush()
}

type fileCheckpointer struct {
	path string
	out  *bufio.Writer
}

func (f *fileCheckpointer) Load(context.Context) (*engine.Checkpoint, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cp engine.Checkpoint
	return &cp, json.Unmarshal(b, &cp)
}

func (f *fileCheckpointer) Save(_ context.Context, cp *engine.Checkpoint) error {
	var rows int64
	for _, n := range cp.Stats {
		if n.Kind == string(pipeline.KindDestination) {
			rows += n.Out
		}
	}
	fmt.Fprintf(f.out, "saving %d\n", rows)
	_ = f.out.Flush()
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	tmp := f.path + ".tmp"
	t, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := t.Write(b); err != nil {
		t.Close()
		return err
	}
	if err := t.Sync(); err != nil {
		t.Close()
		return err
	}
	if err := t.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, f.path)
}

// database is one database under test: the destination config, DDL for a keyed table, and a query.
type database struct {
	name   string
	typ    string
	config string // YAML flow mapping of the destination config, without table
	exec   func(t *testing.T, sql string)
	// count returns count(*), count(DISTINCT id), min(id), max(id) of the table
	count func(t *testing.T, table string) [4]int64
}

func TestKilledRunsResumeExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 90 pipeline processes")
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := 1; i <= sourceRows; i++ {
		fmt.Fprintf(&b, "%d,name %d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, db := range []func(t *testing.T) database{postgresDB, mariaDB} {
		d := db(t)
		t.Run(d.name, func(t *testing.T) {
			for _, mode := range []string{"append", "overwrite", "upsert"} {
				t.Run(mode, func(t *testing.T) {
					landed := 0
					for i := range kills {
						if killAndResume(t, d, dir, mode, i) {
							landed++
						}
					}
					// a kill that lands after the run finished proves nothing; most must land mid-run
					if landed < kills*2/3 {
						t.Errorf("only %d of %d kills landed before the run finished", landed, kills)
					}
				})
			}
		})
	}
}

// killAndResume runs the pipeline into a new table, SIGKILLs it once it has written a random number
// of rows, runs it again and checks the table. It reports whether the kill landed before the end.
func killAndResume(t *testing.T, d database, dir, mode string, i int) bool {
	t.Helper()
	table := fmt.Sprintf("%s_%d", mode, i)
	run := filepath.Join(dir, d.name+"_"+table)
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "in.csv"), filepath.Join(run, "in.csv")); err != nil {
		t.Fatal(err)
	}
	write := "{mode: " + mode + "}"
	switch mode {
	case "upsert":
		d.exec(t, "CREATE TABLE "+table+" (id bigint PRIMARY KEY, name varchar(100))")
		d.exec(t, "INSERT INTO "+table+" (id, name) VALUES (1, 'old'), (2, 'old')")
		write = "{mode: upsert, key: [id]}"
	case "overwrite":
		d.exec(t, "CREATE TABLE "+table+" (id bigint, name varchar(100))")
		d.exec(t, "INSERT INTO "+table+" (id, name) VALUES (-1, 'old'), (-2, 'old')")
	}
	spec := `version: 1
name: kill-` + table + `
sources: [{id: in, type: csv, config: {path: in.csv}}]
destinations:
  - {id: out, type: ` + d.typ + `, inputs: [in], config: {` + d.config + `, table: ` + table + `}, write: ` + write + `}
`
	if err := os.WriteFile(filepath.Join(run, "pipeline.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	// Half the kills land at a random row, half at the first checkpoint save after a random row: the
	// destination has committed, the checkpoint is not saved yet (the window that duplicated rows).
	target := int64(1000 + rand.IntN(sourceRows-2000))
	at := "rows "
	if i%2 == 1 {
		at = "saving "
	}
	landed := killAt(t, run, at, target)
	out, err := childCmd(run).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: resumed run: %v\n%s", table, err, out)
	}
	if landed && !strings.Contains(string(out), "done resumed=true") {
		t.Errorf("%s: the second run did not resume:\n%s", table, out)
	}
	got := d.count(t, table)
	if want := [4]int64{sourceRows, sourceRows, 1, sourceRows}; got != want {
		t.Errorf("%s (killed at %q%d rows written, landed %v): count, distinct ids, min, max = %v, want %v", table, at, target, landed, got, want)
	}
	return landed
}

func childCmd(dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Dir = dir
	return cmd
}

// killAt starts the pipeline and SIGKILLs it when it prints a line starting with at whose number is
// target or more; it reports whether the kill came before the run finished.
func killAt(t *testing.T, dir, at string, target int64) bool {
	t.Helper()
	cmd := childCmd(dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, at); ok {
			if v, _ := strconv.ParseInt(n, 10, 64); v >= target {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
				break
			}
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	if !killed {
		if err != nil {
			t.Fatalf("first run failed before the kill: %v\n%s", err, stderr.String())
		}
		return false
	}
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled()
}

func postgresDB(t *testing.T) database {
	pg := testutil.Postgres(t)
	conn, err := pgx.Connect(context.Background(), pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return database{
		name: "postgres", typ: "postgres",
		config: fmt.Sprintf("url: %q, schema: %s", pg.URL, pg.Schema),
		exec: func(t *testing.T, s string) {
			if _, err := conn.Exec(context.Background(), s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		},
		count: func(t *testing.T, table string) (r [4]int64) {
			err := conn.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT id), coalesce(min(id), 0), coalesce(max(id), 0) FROM "+table).Scan(&r[0], &r[1], &r[2], &r[3])
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
	}
}

func mariaDB(t *testing.T) database {
	my := testutil.MySQL(t)
	db, err := sql.Open("mysql", my.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	host, port, _ := strings.Cut(my.Config.Addr, ":")
	return database{
		name: "mariadb", typ: "mysql",
		config: fmt.Sprintf("host: %q, port: %s, user: %q, password: %q, database: %s", host, port, my.Config.User, my.Config.Passwd, my.Database),
		exec: func(t *testing.T, s string) {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		},
		count: func(t *testing.T, table string) (r [4]int64) {
			err := db.QueryRow("SELECT count(*), count(DISTINCT id), coalesce(min(id), 0), coalesce(max(id), 0) FROM "+table).Scan(&r[0], &r[1], &r[2], &r[3])
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
	}
}
