package deploy

import (
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerfile is the root Dockerfile, parsed by BuildKit's own parser.
type dockerfile struct {
	stages []instructions.Stage
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	path := filepath.Join(repoRoot(t), "Dockerfile")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: parser warning: %s", path, w.Short)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return dockerfile{stages: stages}
}

func (d dockerfile) stage(t *testing.T, name string) instructions.Stage {
	t.Helper()
	for _, s := range d.stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("Dockerfile: no stage %q", name)
	return instructions.Stage{}
}

func (d dockerfile) runtime() instructions.Stage { return d.stages[len(d.stages)-1] }

// commands returns the commands of type C in s, in order.
func commands[C instructions.Command](s instructions.Stage) []C {
	var out []C
	for _, c := range s.Commands {
		if v, ok := c.(C); ok {
			out = append(out, v)
		}
	}
	return out
}

// image is what the runtime stage configures: the last of each setting wins, as in Docker.
type image struct {
	user       string
	env        map[string]string
	workdir    string
	entrypoint []string
	cmd        []string
	healthTest []string
	volumes    []string
	exposed    []string
	copies     []*instructions.CopyCommand
}

func (d dockerfile) image(t *testing.T) image {
	t.Helper()
	s := d.runtime()
	img := image{env: map[string]string{}}
	for _, c := range s.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			img.user = c.User
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				img.env[kv.Key] = kv.Value
			}
		case *instructions.WorkdirCommand:
			img.workdir = c.Path
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				t.Errorf("ENTRYPOINT %v: shell form; the exec form keeps the binary PID 1 so that it receives SIGTERM", c.CmdLine)
			}
			img.entrypoint = c.CmdLine
		case *instructions.CmdCommand:
			img.cmd = c.CmdLine
		case *instructions.HealthCheckCommand:
			img.healthTest = c.Health.Test
		case *instructions.VolumeCommand:
			img.volumes = append(img.volumes, c.Volumes...)
		case *instructions.ExposeCommand:
			img.exposed = append(img.exposed, c.Ports...)
		case *instructions.CopyCommand:
			img.copies = append(img.copies, c)
		case *instructions.RunCommand:
			t.Errorf("runtime stage: RUN %v: the runtime image has no shell", c.CmdLine)
		}
	}
	return img
}

// copiesTo reports whether the runtime stage copies src (from another stage) to dst.
func (img image) copiesTo(src, dst string) bool {
	for _, c := range img.copies {
		if c.From != "" && slices.Contains(c.SourcePaths, src) && strings.TrimSuffix(c.DestPath, "/") == dst {
			return true
		}
	}
	return false
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	d := parseDockerfile(t)
	if len(d.stages) != 3 {
		t.Fatalf("Dockerfile: %d stages, want 3 (Node for the web app, Go for the binary, the runtime)", len(d.stages))
	}
	web, build, rt := d.stage(t, "web"), d.stage(t, "build"), d.runtime()
	img := d.image(t)

	runs := func(s instructions.Stage) string {
		var lines []string
		for _, r := range commands[*instructions.RunCommand](s) {
			lines = append(lines, strings.Join(r.CmdLine, " "))
		}
		return strings.Join(lines, "\n")
	}
	checks := []struct {
		name string
		ok   bool
		want string
	}{
		{"web stage from node", strings.HasPrefix(web.BaseName, "node:"), "the web stage FROM node:<version>, got " + web.BaseName},
		{"web stage builds the UI", strings.Contains(runs(web), "npm ci") && strings.Contains(runs(web), "npm run build"),
			"RUN npm ci and npm run build in the web stage, got:\n" + runs(web)},
		{"go stage from golang", strings.HasPrefix(build.BaseName, "golang:"), "the build stage FROM golang:<version>, got " + build.BaseName},
		{"go stage embeds the UI", slices.ContainsFunc(commands[*instructions.CopyCommand](build), func(c *instructions.CopyCommand) bool {
			return c.From == "web" && strings.TrimSuffix(c.DestPath, "/") == "./web/dist"
		}), "COPY --from=web .../dist ./web/dist in the build stage"},
		{"go stage builds without cgo", strings.Contains(runs(build), "CGO_ENABLED=0 go build -trimpath"),
			"RUN CGO_ENABLED=0 go build -trimpath ... in the build stage, got:\n" + runs(build)},
		{"runtime is minimal", rt.BaseName == "scratch" || strings.Contains(rt.BaseName, "distroless"),
			"the runtime stage FROM scratch or a distroless image, got " + rt.BaseName},
		{"exposes 8001", slices.Contains(img.exposed, "8001") || slices.Contains(img.exposed, "8001/tcp"),
			"EXPOSE 8001, got " + strings.Join(img.exposed, " ")},
		{"non-root user", img.user != "" && !slices.Contains([]string{"0", "root", "0:0", "root:root"}, img.user) && !strings.HasPrefix(img.user, "0:"),
			"USER <non-root uid>, got " + strconv.Quote(img.user)},
		{"data dir is a volume", img.env["DATA_DIR"] != "" && slices.Contains(img.volumes, img.env["DATA_DIR"]),
			"ENV DATA_DIR=<dir> and VOLUME [<dir>], got DATA_DIR=" + img.env["DATA_DIR"] + " VOLUME " + strings.Join(img.volumes, " ")},
		{"port env matches", img.env["PORT"] == "8001", "ENV PORT=8001, got " + strconv.Quote(img.env["PORT"])},
		{"health check runs the binary", len(img.healthTest) == 3 && img.healthTest[0] == "CMD" && len(img.entrypoint) > 0 &&
			img.healthTest[1] == img.entrypoint[0] && img.healthTest[2] == "healthcheck",
			"HEALTHCHECK CMD [\"<the entrypoint binary>\", \"healthcheck\"], got " + strings.Join(img.healthTest, " ")},
		{"serves by default", slices.Equal(img.cmd, []string{"serve"}), "CMD [\"serve\"], got " + strings.Join(img.cmd, " ")},
		{"CA certificates", img.copiesTo("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt"),
			"COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt"},
		{"time zones", img.copiesTo("/usr/share/zoneinfo", "/usr/share/zoneinfo"), "COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: want %s", c.name, c.want)
		}
	}
}

// layout is the runtime stage's file system, assembled without Docker, and the image settings.
type layout struct {
	root    string
	img     image
	version string
	uid     int
	gid     int
}

var (
	layoutOnce sync.Once
	layoutDir  string
	layoutRes  layout
	layoutErr  string
)

// TestMain removes the shared layout directory, built once for the tests that need the binary.
func TestMain(m *testing.M) {
	code := m.Run()
	if layoutDir != "" {
		_ = os.RemoveAll(layoutDir)
	}
	os.Exit(code)
}

// imageLayout builds the binary the way the Dockerfile's build stage does (its RUN commands, with
// /out in a temporary directory and the repository as /src), then copies into an empty directory
// only what the runtime stage copies. Built once per test binary.
func imageLayout(t *testing.T) layout {
	t.Helper()
	layoutOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aggregator-image-")
		if err != nil {
			layoutErr = err.Error()
			return
		}
		layoutDir = dir
		// Stays if buildLayout stops the test that called it (t.Fatal), for the tests after it.
		layoutErr = "building the image layout failed: see the first test that needed it"
		layoutRes, layoutErr = buildLayout(t, dir)
	})
	if layoutErr != "" {
		t.Fatal(layoutErr)
	}
	return layoutRes
}

func buildLayout(t *testing.T, dir string) (layout, string) {
	d := parseDockerfile(t)
	build := d.stage(t, "build")
	img := d.image(t)
	repo := repoRoot(t)
	out := filepath.Join(dir, "out")
	const version = "v0.0.0-layout"

	// The build stage's ARGs with their defaults, VERSION overridden as `--build-arg` would.
	env := os.Environ()
	for _, a := range commands[*instructions.ArgCommand](build) {
		for _, kv := range a.Args {
			v := ""
			if kv.Value != nil {
				v = *kv.Value
			}
			if kv.Key == "VERSION" {
				v = version
			}
			env = append(env, kv.Key+"="+v)
		}
	}
	if w := commands[*instructions.WorkdirCommand](build); len(w) == 0 || w[len(w)-1].Path != "/src" {
		return layout{}, "build stage: want WORKDIR /src (the repository), the layout test maps it to the repository"
	}
	for _, r := range commands[*instructions.RunCommand](build) {
		line := strings.ReplaceAll(strings.Join(r.CmdLine, " "), "/out", out)
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir, cmd.Env = repo, env
		if b, err := cmd.CombinedOutput(); err != nil {
			return layout{}, "build stage: RUN " + line + ": " + err.Error() + "\n" + string(b)
		}
	}

	l := layout{root: filepath.Join(dir, "rootfs"), img: img, version: version}
	uid, gid, ok := strings.Cut(img.user, ":")
	var err error
	if l.uid, err = strconv.Atoi(uid); err != nil {
		return layout{}, "USER " + img.user + ": want a numeric uid (the image has no user database lookups to rely on)"
	}
	l.gid = l.uid
	if ok {
		if l.gid, err = strconv.Atoi(gid); err != nil {
			return layout{}, "USER " + img.user + ": want a numeric gid"
		}
	}
	for _, c := range img.copies {
		if c.From != "build" {
			return layout{}, "runtime stage: COPY " + strings.Join(c.SourcePaths, " ") + ": only copies from the build stage are expected"
		}
		for _, src := range c.SourcePaths {
			// The build stage's own outputs are under /out; everything else comes from the
			// golang (Debian) image, whose CA bundle and zoneinfo this Debian machine has too.
			from := src
			if strings.HasPrefix(src, "/out") {
				from = out + strings.TrimPrefix(src, "/out")
			}
			dst := filepath.Join(l.root, c.DestPath)
			if err := copyTree(from, dst); err != nil {
				return layout{}, "runtime stage: COPY " + src + " " + c.DestPath + ": " + err.Error()
			}
			if c.Chown != "" && os.Geteuid() == 0 {
				if err := chownTree(dst, c.Chown); err != nil {
					return layout{}, "runtime stage: COPY --chown=" + c.Chown + ": " + err.Error()
				}
			}
		}
	}
	return l, ""
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := os.Stat(p) // follows symbolic links, as COPY does
		if err != nil {
			return err
		}
		if info.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		return o.Close()
	})
}

func chownTree(dir, owner string) error {
	u, g, _ := strings.Cut(owner, ":")
	uid, err := strconv.Atoi(u)
	if err != nil {
		return err
	}
	gid := uid
	if g != "" {
		if gid, err = strconv.Atoi(g); err != nil {
			return err
		}
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// command runs argv inside the layout as the image would: as root (the test's user), chrooted
// into the layout as the image's USER; otherwise as the test's own non-root user, with the
// image's absolute paths rewritten into the layout.
func (l layout) command(env map[string]string, argv ...string) *exec.Cmd {
	chroot := os.Geteuid() == 0
	vars := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"} // Docker's default
	for k, v := range env {
		if !chroot && strings.HasPrefix(v, "/") {
			v = filepath.Join(l.root, v)
		}
		vars = append(vars, k+"="+v)
	}
	name, dir := argv[0], l.img.workdir
	if !chroot {
		name, dir = filepath.Join(l.root, name), filepath.Join(l.root, dir)
	}
	cmd := exec.Command(name, argv[1:]...)
	cmd.Env, cmd.Dir = vars, dir
	if chroot {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Chroot:     l.root,
			Credential: &syscall.Credential{Uid: uint32(l.uid), Gid: uint32(l.gid)},
		}
	}
	return cmd
}

// TestDockerfileLayoutStarts starts the binary of the build stage from a directory holding only
// what the runtime stage copies, as the image's non-root user, with the image's environment;
// checks /healthz, the HEALTHCHECK command, that the data directory is written as that user, and
// a clean stop on SIGTERM.
func TestDockerfileLayoutStarts(t *testing.T) {
	l := imageLayout(t)
	port := freePort(t)
	env := map[string]string{}
	for k, v := range l.img.env {
		env[k] = v
	}
	env["PORT"] = strconv.Itoa(port) // docker run -e PORT=...: 8001 may be taken on this machine

	argv := append(slices.Clone(l.img.entrypoint), l.img.cmd...)
	p := start(t, l.command(env, argv...))
	p.waitHTTP(t, portURL(port, "/healthz"))

	status, body := get(t, portURL(port, "/healthz"))
	if status != 200 || !strings.Contains(string(body), l.version) {
		t.Errorf("/healthz: %d %s, want 200 naming version %s (set by the build stage's ldflags)", status, body, l.version)
	}

	health := l.img.healthTest[1:] // after "CMD"
	hc := l.command(env, health...)
	if b, err := hc.CombinedOutput(); err != nil || !strings.Contains(string(b), "200 OK") {
		t.Errorf("HEALTHCHECK %s: %v, output %q; want exit 0 and 200 OK", strings.Join(health, " "), err, b)
	}

	if os.Geteuid() == 0 {
		db := filepath.Join(l.root, l.img.env["DATA_DIR"], "aggregator.db")
		info, err := os.Stat(db)
		if err != nil {
			t.Fatalf("the server as uid %d did not create its store in DATA_DIR: %v", l.uid, err)
		}
		if st := info.Sys().(*syscall.Stat_t); int(st.Uid) != l.uid {
			t.Errorf("%s is owned by uid %d, want the image's user %d", db, st.Uid, l.uid)
		}
	} else {
		t.Logf("not root: started as uid %d without chroot (the image's paths rewritten into %s)", os.Geteuid(), l.root)
	}
	p.stop(t)
}
