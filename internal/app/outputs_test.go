package app

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// snapshot lists every file under dir with its size and modification time.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = info.ModTime().String() + " " + info.Mode().String()
		if !d.IsDir() {
			out[p] += " " + strconv.FormatInt(info.Size(), 10)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Done when: an API run of examples/customers-clean.yaml, served with the examples as a file root
// (as `aggregator serve` from the checkout does), leaves nothing new in examples/: its output goes to
// DATA_DIR/files and downloads through the API with the same bytes; a viewer may download it, an
// unauthenticated caller may not.
func TestAPIRunOfExampleWritesUnderDataDir(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.FileRoots = []string{cfg.OutputDir(), examples}
	cfg.AdminPassword = "Outputs-Wiring-Passw0rd-1"
	before := snapshot(t, examples)
	spec, err := os.ReadFile(filepath.Join(examples, "customers-clean.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	r := start(t, cfg, Options{})
	s := signIn(t, r, cfg.AdminPassword)
	var p struct{ ID string }
	if st := s.call(http.MethodPost, "/api/v1/pipelines", string(spec), &p); st != http.StatusCreated {
		t.Fatalf("create pipeline: %d", st)
	}
	var run struct{ ID, Status, Error string }
	if st := s.call(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", nil, &run); st != http.StatusAccepted {
		t.Fatalf("run: %d", st)
	}
	deadline := time.Now().Add(60 * time.Second)
	for run.Status != "succeeded" && run.Status != "failed" && run.Status != "cancelled" {
		if time.Now().After(deadline) {
			t.Fatalf("run still %s after 60s", run.Status)
		}
		time.Sleep(20 * time.Millisecond) // bounded poll of the run's status
		s.call(http.MethodGet, "/api/v1/runs/"+run.ID, nil, &run)
	}
	if run.Status != "succeeded" {
		t.Fatalf("run %s: %s", run.Status, run.Error)
	}
	if diff := cmp.Diff(before, snapshot(t, examples)); diff != "" {
		t.Errorf("the run changed examples/ (-before +after):\n%s", diff)
	}
	written, err := os.ReadFile(filepath.Join(cfg.DataDir, "files", "out", "customers-clean.ndjson"))
	if err != nil {
		t.Fatalf("output not under DATA_DIR/files: %v", err)
	}

	var outputs []struct {
		Node, Name, Path string
		Bytes, Rows      int64
	}
	s.call(http.MethodGet, "/api/v1/runs/"+run.ID+"/outputs", nil, &outputs)
	if len(outputs) != 1 || outputs[0].Node != "clean" || outputs[0].Path != "out/customers-clean.ndjson" || outputs[0].Bytes != int64(len(written)) {
		t.Fatalf("outputs = %+v", outputs)
	}
	viewer := createUser(t, s, "vera", "viewer")
	download := func(token string) (int, []byte, string) {
		req, _ := http.NewRequest(http.MethodGet, r.base+"/api/v1/runs/"+run.ID+"/outputs/clean", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b, res.Header.Get("Content-Disposition")
	}
	if st, b, cd := download(viewer); st != http.StatusOK || string(b) != string(written) || cd != "attachment; filename=customers-clean.ndjson" {
		t.Errorf("viewer download: %d, %d bytes (want %d), %q", st, len(b), len(written), cd)
	}
	if st, _, _ := download(""); st != http.StatusUnauthorized {
		t.Errorf("unauthenticated download: %d, want 401", st)
	}
}

// createUser creates a user with role through the API and signs them in; it returns their token.
func createUser(t *testing.T, admin *session, name, role string) string {
	t.Helper()
	const pw = "Viewer-Passw0rd-Long-1"
	if st := admin.call(http.MethodPost, "/api/v1/users", map[string]any{"username": name, "email": name + "@example.com",
		"role": role, "password": pw}, nil); st != http.StatusCreated {
		t.Fatalf("create user %s: %d", name, st)
	}
	u := &session{t: t, base: admin.base}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := u.call(http.MethodPost, "/api/v1/auth/login", map[string]any{"login": name, "password": pw}, &login); st != http.StatusOK {
		t.Fatalf("login %s: %d", name, st)
	}
	return login.AccessToken
}
