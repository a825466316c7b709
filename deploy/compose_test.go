package deploy

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeEnv is what an operator exports before `docker compose up` (see the files' headers).
var composeEnv = []string{
	"SECRET_KEY=0123456789abcdef0123456789abcdef",
	"ENCRYPTION_KEY=fedcba9876543210fedcba9876543210",
	"POSTGRES_PASSWORD=pw",
}

// loadCompose loads a compose file as `docker compose config` would: interpolation, the compose
// specification's JSON schema (unknown keys fail), merge keys, normalization and consistency checks.
func loadCompose(t *testing.T, name string, env []string) (*types.Project, error) {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "deploy", "compose")
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, name)},
		cli.WithWorkingDirectory(dir), cli.WithEnv(env), cli.WithConsistency(true))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func mustLoadCompose(t *testing.T, name string) *types.Project {
	t.Helper()
	p, err := loadCompose(t, name, composeEnv)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// checkRunning checks what every long-running service needs: a health check and a restart policy.
func checkRunning(t *testing.T, file string, s types.ServiceConfig) {
	t.Helper()
	if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 || s.HealthCheck.Test[0] != "CMD" {
		t.Errorf("%s: service %s: want a health check in exec form (test: [CMD, ...]), got %+v", file, s.Name, s.HealthCheck)
	}
	if s.HealthCheck != nil && (s.HealthCheck.Interval == nil || s.HealthCheck.Timeout == nil || s.HealthCheck.Retries == nil) {
		t.Errorf("%s: service %s: health check without interval, timeout or retries", file, s.Name)
	}
	if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
		t.Errorf("%s: service %s: restart %q, want unless-stopped or always", file, s.Name, s.Restart)
	}
}

// aggregatorHealth is the image's own probe: the binary, which has no shell or curl beside it.
func isAggregatorProbe(test []string) bool {
	return len(test) >= 3 && test[1] == "/usr/local/bin/aggregator"
}

func TestComposeEmbedded(t *testing.T) {
	t.Parallel()
	p := mustLoadCompose(t, "embedded.yaml")
	if len(p.Services) != 1 {
		t.Fatalf("embedded.yaml: %d services, want one", len(p.Services))
	}
	s, err := p.GetService("aggregator")
	if err != nil {
		t.Fatalf("embedded.yaml: %v", err)
	}
	checkRunning(t, "embedded.yaml", s)
	if !isAggregatorProbe(s.HealthCheck.Test) || s.HealthCheck.Test[2] != "healthcheck" {
		t.Errorf("embedded.yaml: health check %v, want the binary's healthcheck", s.HealthCheck.Test)
	}
	if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeVolume && v.Source == "data" && v.Target == "/data"
	}) {
		t.Errorf("embedded.yaml: want the named volume data mounted at /data (DATA_DIR), got %+v", s.Volumes)
	}
	if _, ok := p.Volumes["data"]; !ok {
		t.Error("embedded.yaml: the volume data is not declared")
	}
	if len(s.Ports) != 1 || s.Ports[0].Target != 8001 || s.Ports[0].Published != "8001" {
		t.Errorf("embedded.yaml: ports %+v, want 8001:8001", s.Ports)
	}
	if got := deref(s.Environment["SECRET_KEY"]); got != "0123456789abcdef0123456789abcdef" {
		t.Errorf("embedded.yaml: SECRET_KEY = %q, want the exported value", got)
	}
	if !s.ReadOnly {
		t.Error("embedded.yaml: want read_only: true (the binary writes only to /data)")
	}
}

func TestComposeScaled(t *testing.T) {
	t.Parallel()
	p := mustLoadCompose(t, "scaled.yaml")
	const file = "scaled.yaml"
	svc := func(name string) types.ServiceConfig {
		t.Helper()
		s, err := p.GetService(name)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return s
	}
	wantNames := []string{"api-1", "api-2", "migrate", "postgres", "proxy", "redis", "worker"}
	if got := p.ServiceNames(); !slices.Equal(slices.Sorted(slices.Values(got)), wantNames) {
		t.Fatalf("%s: services %v, want %v", file, got, wantNames)
	}
	for _, name := range []string{"postgres", "redis", "api-1", "api-2", "worker", "proxy"} {
		checkRunning(t, file, svc(name))
	}

	afterMigrate := map[string]string{
		"postgres": types.ServiceConditionHealthy,
		"redis":    types.ServiceConditionHealthy,
		"migrate":  types.ServiceConditionCompletedSuccessfully,
	}
	for _, name := range []string{"api-1", "api-2", "worker"} {
		s := svc(name)
		for dep, cond := range afterMigrate {
			if got := s.DependsOn[dep].Condition; got != cond {
				t.Errorf("%s: %s depends_on %s: condition %q, want %q", file, name, dep, got, cond)
			}
		}
		env := s.Environment
		for k, want := range map[string]string{
			"ENVIRONMENT":    "production",
			"SECRET_KEY":     "0123456789abcdef0123456789abcdef",
			"ENCRYPTION_KEY": "fedcba9876543210fedcba9876543210",
			"DATABASE_URL":   "postgres://aggregator:pw@postgres:5432/aggregator?sslmode=disable",
			"REDIS_URL":      "redis://redis:6379/0",
			"AUTO_INIT_DB":   "false",
		} {
			if got := deref(env[k]); got != want {
				t.Errorf("%s: %s: %s = %q, want %q", file, name, k, got, want)
			}
		}
		if !isAggregatorProbe(s.HealthCheck.Test) {
			t.Errorf("%s: %s: health check %v, want the binary's own probe", file, name, s.HealthCheck.Test)
		}
	}
	for _, name := range []string{"api-1", "api-2"} {
		s := svc(name)
		if !slices.Equal(s.Command, types.ShellCommand{"serve"}) || deref(s.Environment["RUN_WORKERS"]) != "0" {
			t.Errorf("%s: %s: command %v RUN_WORKERS=%q, want serve with RUN_WORKERS=0 (runs go to the workers)",
				file, name, s.Command, deref(s.Environment["RUN_WORKERS"]))
		}
		if !slices.Contains(s.HealthCheck.Test, "http://127.0.0.1:8001/readyz") {
			t.Errorf("%s: %s: health check %v, want /readyz (the store is reachable)", file, name, s.HealthCheck.Test)
		}
	}
	if got := svc("api-2").DependsOn["api-1"].Condition; got != types.ServiceConditionHealthy {
		t.Errorf("%s: api-2 depends_on api-1: condition %q, want service_healthy (the first start creates the admin user once)", file, got)
	}
	w := svc("worker")
	if !slices.Equal(w.Command, types.ShellCommand{"worker"}) || w.Deploy == nil || w.Deploy.Replicas == nil || *w.Deploy.Replicas != 2 {
		t.Errorf("%s: worker: want command [worker] with deploy.replicas 2, got %v %+v", file, w.Command, w.Deploy)
	}
	if !slices.Equal(w.HealthCheck.Test[1:], []string{"/usr/local/bin/aggregator", "migrate", "status"}) {
		t.Errorf("%s: worker: health check %v, want aggregator migrate status (it serves no HTTP)", file, w.HealthCheck.Test)
	}
	m := svc("migrate")
	if !slices.Equal(m.Command, types.ShellCommand{"migrate", "up"}) || m.Restart != types.RestartPolicyNo {
		t.Errorf("%s: migrate: command %v restart %q, want [migrate up] run once", file, m.Command, m.Restart)
	}

	proxy := svc("proxy")
	for _, api := range []string{"api-1", "api-2"} {
		if got := proxy.DependsOn[api].Condition; got != types.ServiceConditionHealthy {
			t.Errorf("%s: proxy depends_on %s: condition %q, want service_healthy", file, api, got)
		}
	}
	if len(proxy.Ports) != 1 || proxy.Ports[0].Published != "8001" {
		t.Errorf("%s: proxy: ports %+v, want 8001 published", file, proxy.Ports)
	}
	// The proxy's configuration, mounted from the file next to scaled.yaml, names both API nodes.
	var caddyfile string
	for _, v := range proxy.Volumes {
		if v.Target == "/etc/caddy/Caddyfile" {
			caddyfile = v.Source
		}
	}
	if caddyfile == "" {
		t.Fatalf("%s: proxy: no Caddyfile mounted at /etc/caddy/Caddyfile", file)
	}
	b, err := os.ReadFile(caddyfile)
	if err != nil {
		t.Fatalf("%s: proxy: %v", file, err)
	}
	m2 := regexp.MustCompile(`(?m)^\s*reverse_proxy\s+(.+?)\s*\{`).FindStringSubmatch(string(b))
	if m2 == nil || !slices.Equal(strings.Fields(m2[1]), []string{"api-1:8001", "api-2:8001"}) {
		t.Errorf("%s: reverse_proxy upstreams %q, want api-1:8001 api-2:8001", caddyfile, m2)
	}
	if !strings.Contains(string(b), "health_uri /readyz") {
		t.Errorf("%s: want health_uri /readyz so that a node whose store is unreachable leaves the pool", caddyfile)
	}
}

// TestComposeRequiresSecrets: without the keys, loading fails and says which variable to set.
func TestComposeRequiresSecrets(t *testing.T) {
	t.Parallel()
	for file, required := range map[string][]string{
		"embedded.yaml": {"SECRET_KEY", "ENCRYPTION_KEY"},
		"scaled.yaml":   {"SECRET_KEY", "ENCRYPTION_KEY", "POSTGRES_PASSWORD"},
	} {
		for _, missing := range required {
			var env []string
			for _, kv := range composeEnv {
				if !strings.HasPrefix(kv, missing+"=") {
					env = append(env, kv)
				}
			}
			_, err := loadCompose(t, file, env)
			if err == nil || !strings.Contains(err.Error(), "set "+missing) {
				t.Errorf("%s without %s: error %v, want one saying set %s", file, missing, err, missing)
			}
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
