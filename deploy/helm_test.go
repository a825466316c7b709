package deploy

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const release = "agg"

// requiredValues are the three values the README's install command sets; the chart's defaults
// alone refuse to render in production.
var requiredValues = map[string]any{
	"secrets": map[string]any{
		"secretKey":     "6f1c0f4b8e2d4a7c9b3e5d1a2f4c6e8a0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a",
		"encryptionKey": "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
	},
	"database": map[string]any{"url": "postgres://aggregator:pw@db:5432/aggregator"},
}

func chartDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "deploy", "helm", "aggregator")
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// values reads a documented variant (ci/<name>-values.yaml), or returns the required values for "default".
func variantValues(t *testing.T, name string) map[string]any {
	t.Helper()
	if name == "default" {
		return requiredValues
	}
	v, err := chartutil.ReadValuesFile(filepath.Join(chartDir(t), "ci", name+"-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return v.AsMap()
}

// render renders the chart as `helm install --dry-run` would on a default cluster, in strict mode
// (a template naming a value that does not exist fails).
func render(t *testing.T, c *chart.Chart, vals map[string]any) (map[string]string, error) {
	t.Helper()
	rv, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{Name: release, Namespace: "data", IsInstall: true, Revision: 1},
		chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Engine{Strict: true}.Render(c, rv)
}

// objects are the rendered objects, each decoded strictly into its Kubernetes API type.
type objects struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	secrets     map[string]*corev1.Secret
	accounts    map[string]*corev1.ServiceAccount
	jobs        map[string]*batchv1.Job
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs        map[string]*policyv1.PodDisruptionBudget
	ingresses   map[string]*networkingv1.Ingress
	policies    map[string]*networkingv1.NetworkPolicy
}

func decodeAll(t *testing.T, rendered map[string]string) objects {
	t.Helper()
	o := objects{
		deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		secrets: map[string]*corev1.Secret{}, accounts: map[string]*corev1.ServiceAccount{},
		jobs: map[string]*batchv1.Job{}, hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{}, ingresses: map[string]*networkingv1.Ingress{},
		policies: map[string]*networkingv1.NetworkPolicy{},
	}
	for _, file := range slices.Sorted(maps.Keys(rendered)) {
		if strings.HasSuffix(file, "NOTES.txt") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(rendered[file]) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v\n%s", file, err, doc)
			}
			var obj interface{ GetName() string }
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				obj = decodeInto(t, file, doc, o.deployments)
			case "v1 Service":
				obj = decodeInto(t, file, doc, o.services)
			case "v1 Secret":
				obj = decodeInto(t, file, doc, o.secrets)
			case "v1 ServiceAccount":
				obj = decodeInto(t, file, doc, o.accounts)
			case "batch/v1 Job":
				obj = decodeInto(t, file, doc, o.jobs)
			case "autoscaling/v2 HorizontalPodAutoscaler":
				obj = decodeInto(t, file, doc, o.hpas)
			case "policy/v1 PodDisruptionBudget":
				obj = decodeInto(t, file, doc, o.pdbs)
			case "networking.k8s.io/v1 Ingress":
				obj = decodeInto(t, file, doc, o.ingresses)
			case "networking.k8s.io/v1 NetworkPolicy":
				obj = decodeInto(t, file, doc, o.policies)
			default:
				t.Fatalf("%s: unexpected object %s %s", file, tm.APIVersion, tm.Kind)
			}
			if obj.GetName() == "" {
				t.Errorf("%s: %s without a name", file, tm.Kind)
			}
		}
	}
	return o
}

// decodeInto decodes doc strictly (an unknown or duplicated field fails) into a new T, kept by name.
func decodeInto[T any, PT interface {
	*T
	GetName() string
}](t *testing.T, file, doc string, into map[string]PT) PT {
	t.Helper()
	obj := PT(new(T))
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		t.Fatalf("%s: strict decoding: %v\n%s", file, err, doc)
	}
	if _, dup := into[obj.GetName()]; dup {
		t.Fatalf("%s: two objects named %s", file, obj.GetName())
	}
	into[obj.GetName()] = obj
	return obj
}

func TestHelmChartRefusesWithoutSecretKey(t *testing.T) {
	t.Parallel()
	c := loadChart(t)
	const key32 = "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name string
		vals map[string]any
		want string
	}{
		{"defaults", nil, "set secrets.secretKey"},
		{"no encryption key", map[string]any{"secrets": map[string]any{"secretKey": key32}, "database": map[string]any{"url": "postgres://db/a"}},
			"set secrets.encryptionKey"},
		{"short secret key", map[string]any{"secrets": map[string]any{"secretKey": "short", "encryptionKey": key32}, "database": map[string]any{"url": "postgres://db/a"}},
			"secrets.secretKey must be at least 32 characters, got 5"},
		{"short encryption key", map[string]any{"secrets": map[string]any{"secretKey": key32, "encryptionKey": "e"}, "database": map[string]any{"url": "postgres://db/a"}},
			"secrets.encryptionKey must be at least 32 characters, got 1"},
		{"no database", map[string]any{"secrets": map[string]any{"secretKey": key32, "encryptionKey": key32}}, "set database.url"},
		{"redis without url", map[string]any{"secrets": requiredValues["secrets"], "database": requiredValues["database"],
			"redis": map[string]any{"enabled": true}}, "set redis.url"},
	}
	for _, tc := range cases {
		_, err := render(t, c, tc.vals)
		t.Logf("%s: %v", tc.name, err)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: render error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

func TestHelmChart(t *testing.T) {
	t.Parallel()
	c := loadChart(t)
	for _, variant := range []string{"default", "existing-secret", "ingress-tls", "fixed-workers"} {
		t.Run(variant, func(t *testing.T) {
			vals := variantValues(t, variant)
			rendered, err := render(t, c, vals)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			o := decodeAll(t, rendered)
			merged, err := chartutil.CoalesceValues(c, vals)
			if err != nil {
				t.Fatal(err)
			}
			checkChart(t, o, merged)

			// helm lint's rules (chart metadata, values, templates rendered and parsed, deprecated APIs).
			l := lint.All(chartDir(t), vals, "data", true)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
		})
	}
}

func checkChart(t *testing.T, o objects, v chartutil.Values) {
	t.Helper()
	val := func(path string) any {
		x, err := v.PathValue(path)
		if err != nil {
			return nil
		}
		return x
	}
	api, worker := o.deployments["agg-aggregator-api"], o.deployments["agg-aggregator-worker"]
	if api == nil || worker == nil {
		t.Fatalf("deployments %v, want agg-aggregator-api and agg-aggregator-worker", slices.Collect(maps.Keys(o.deployments)))
	}

	// Every Deployment's selector matches its own pods, and only them.
	for name, d := range o.deployments {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("deployment %s: selector %v does not match its pod labels %v", name, d.Spec.Selector, d.Spec.Template.Labels)
		}
	}
	for name, d := range map[string]*appsv1.Deployment{"api": api, "worker": worker} {
		checkPod(t, "deployment "+name, d.Spec.Template.Spec, o, v)
	}

	ac := api.Spec.Template.Spec.Containers[0]
	if ac.ReadinessProbe == nil || ac.ReadinessProbe.HTTPGet == nil || ac.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("api: readiness probe %+v, want GET /readyz", ac.ReadinessProbe)
	}
	if ac.LivenessProbe == nil || ac.LivenessProbe.HTTPGet == nil || ac.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("api: liveness probe %+v, want GET /healthz", ac.LivenessProbe)
	}
	if !slices.Equal(ac.Args, []string{"serve"}) || envValue(ac, "RUN_WORKERS") != "0" {
		t.Errorf("api: args %v RUN_WORKERS=%q, want serve with RUN_WORKERS=0", ac.Args, envValue(ac, "RUN_WORKERS"))
	}
	if api.Spec.Replicas == nil || int64(*api.Spec.Replicas) != toInt(val("api.replicas")) {
		t.Errorf("api: replicas %v, want api.replicas %v", api.Spec.Replicas, val("api.replicas"))
	}
	wc := worker.Spec.Template.Spec.Containers[0]
	if len(wc.Args) == 0 || wc.Args[0] != "worker" || !slices.Contains(wc.Args, fmt.Sprint(val("worker.concurrency"))) {
		t.Errorf("worker: args %v, want worker --concurrency %v", wc.Args, val("worker.concurrency"))
	}
	if len(wc.Ports) != 0 {
		t.Errorf("worker: ports %v; a worker serves no HTTP", wc.Ports)
	}

	// The PodDisruptionBudget and the Service select the API pods, and no worker pod.
	apiPods, workerPods := labels.Set(api.Spec.Template.Labels), labels.Set(worker.Spec.Template.Labels)
	pdb := o.pdbs["agg-aggregator-api"]
	if pdb == nil || pdb.Spec.MinAvailable == nil {
		t.Fatalf("no PodDisruptionBudget agg-aggregator-api with minAvailable: %+v", pdb)
	}
	if sel, _ := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); !sel.Matches(apiPods) || sel.Matches(workerPods) {
		t.Errorf("PodDisruptionBudget: selector %v must match the API pods only", pdb.Spec.Selector)
	}
	svc := o.services["agg-aggregator"]
	if svc == nil {
		t.Fatal("no Service agg-aggregator")
	}
	if sel := labels.SelectorFromSet(svc.Spec.Selector); !sel.Matches(apiPods) || sel.Matches(workerPods) {
		t.Errorf("Service: selector %v must match the API pods only", svc.Spec.Selector)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.StrVal != ac.Ports[0].Name {
		t.Errorf("Service: ports %+v, want one targeting the API container's port %q", svc.Spec.Ports, ac.Ports[0].Name)
	}

	// Workers: scaled by the HorizontalPodAutoscaler, or a fixed number.
	hpa := o.hpas["agg-aggregator-worker"]
	if val("worker.autoscaling.enabled") == true {
		if hpa == nil || hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != worker.Name {
			t.Fatalf("HorizontalPodAutoscaler %+v, want one scaling the worker Deployment", hpa)
		}
		if hpa.Spec.MinReplicas == nil || int64(*hpa.Spec.MinReplicas) != toInt(val("worker.autoscaling.minReplicas")) ||
			int64(hpa.Spec.MaxReplicas) != toInt(val("worker.autoscaling.maxReplicas")) || len(hpa.Spec.Metrics) == 0 {
			t.Errorf("HorizontalPodAutoscaler: min %v max %d metrics %d, want the values' bounds and a metric",
				hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, len(hpa.Spec.Metrics))
		}
		if worker.Spec.Replicas != nil {
			t.Error("worker: replicas set while the HorizontalPodAutoscaler owns them")
		}
	} else {
		if hpa != nil {
			t.Error("a HorizontalPodAutoscaler with autoscaling disabled")
		}
		if worker.Spec.Replicas == nil || int64(*worker.Spec.Replicas) != toInt(val("worker.replicas")) {
			t.Errorf("worker: replicas %v, want worker.replicas %v", worker.Spec.Replicas, val("worker.replicas"))
		}
	}

	// The migration Job: a pre-install/pre-upgrade hook; the pods then do not migrate themselves.
	job := o.jobs["agg-aggregator-migrate"]
	if val("migrations.enabled") == true {
		if job == nil {
			t.Fatal("no migration Job")
		}
		if hook := job.Annotations["helm.sh/hook"]; hook != "pre-install,pre-upgrade" {
			t.Errorf("migration Job: helm.sh/hook %q, want pre-install,pre-upgrade", hook)
		}
		jc := job.Spec.Template.Spec.Containers[0]
		if !slices.Equal(jc.Args, []string{"migrate", "up"}) || job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("migration Job: args %v restartPolicy %q, want migrate up, Never", jc.Args, job.Spec.Template.Spec.RestartPolicy)
		}
		checkPod(t, "migration Job", job.Spec.Template.Spec, o, v)
		if envValue(ac, "AUTO_INIT_DB") != "false" || envValue(wc, "AUTO_INIT_DB") != "false" {
			t.Error("pods: want AUTO_INIT_DB=false when the Job migrates")
		}
		// A Secret made by the chart must exist before the Job that reads it.
		for _, s := range o.secrets {
			sw, err1 := strconv.Atoi(s.Annotations["helm.sh/hook-weight"])
			jw, err2 := strconv.Atoi(job.Annotations["helm.sh/hook-weight"])
			if s.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" || err1 != nil || err2 != nil || sw >= jw {
				t.Errorf("Secret %s: hook %q weight %q, want a pre-install,pre-upgrade hook weighted before the Job's %q",
					s.Name, s.Annotations["helm.sh/hook"], s.Annotations["helm.sh/hook-weight"], job.Annotations["helm.sh/hook-weight"])
			}
		}
	} else if job != nil || envValue(ac, "AUTO_INIT_DB") != "true" {
		t.Errorf("migrations disabled: Job %v, AUTO_INIT_DB=%q; want no Job and the pods migrating", job != nil, envValue(ac, "AUTO_INIT_DB"))
	}

	// Secrets: the chart's own, or none when an existing Secret is named.
	if existing, _ := val("secrets.existingSecret").(string); existing != "" {
		if len(o.secrets) != 0 {
			t.Errorf("secrets.existingSecret set, yet the chart made %d Secret(s)", len(o.secrets))
		}
	} else if len(o.secrets) != 1 {
		t.Errorf("%d Secrets, want the chart's one", len(o.secrets))
	}

	// Ingress with TLS for the host, to the Service.
	if val("ingress.enabled") == true {
		ing := o.ingresses["agg-aggregator"]
		if ing == nil || len(ing.Spec.Rules) != 1 {
			t.Fatalf("Ingress %+v, want one with one rule", ing)
		}
		host := val("ingress.host").(string)
		if r := ing.Spec.Rules[0]; r.Host != host || r.HTTP.Paths[0].Backend.Service.Name != svc.Name ||
			r.HTTP.Paths[0].Backend.Service.Port.Name != svc.Spec.Ports[0].Name {
			t.Errorf("Ingress rule %+v, want host %s to the Service's port", r, host)
		}
		if len(ing.Spec.TLS) != 1 || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{host}) || ing.Spec.TLS[0].SecretName != val("ingress.tls.secretName") {
			t.Errorf("Ingress TLS %+v, want %s with the secret %v", ing.Spec.TLS, host, val("ingress.tls.secretName"))
		}
		if envValue(ac, "PUBLIC_URL") != "https://"+host {
			t.Errorf("api: PUBLIC_URL %q, want https://%s", envValue(ac, "PUBLIC_URL"), host)
		}
	} else if len(o.ingresses) != 0 {
		t.Error("an Ingress with ingress.enabled false")
	}

	// NetworkPolicy: the API admits the release and the configured peers on its port; workers admit nothing.
	if val("networkPolicy.enabled") == true {
		np := o.policies["agg-aggregator-api"]
		if np == nil {
			t.Fatal("no NetworkPolicy for the API")
		}
		if sel, _ := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); !sel.Matches(apiPods) || sel.Matches(workerPods) {
			t.Errorf("API NetworkPolicy: pod selector %v must match the API pods only", np.Spec.PodSelector)
		}
		if len(np.Spec.Ingress) != 1 || np.Spec.Ingress[0].Ports[0].Port.StrVal != "http" || len(np.Spec.Ingress[0].From) < 2 {
			t.Errorf("API NetworkPolicy: ingress %+v, want the http port from the release and the configured peers", np.Spec.Ingress)
		}
		deny := o.policies["agg-aggregator-no-ingress"]
		if deny == nil || len(deny.Spec.Ingress) != 0 || !slices.Contains(deny.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			t.Fatalf("NetworkPolicy agg-aggregator-no-ingress %+v, want one admitting nothing", deny)
		}
		if sel, _ := metav1.LabelSelectorAsSelector(&deny.Spec.PodSelector); !sel.Matches(workerPods) || sel.Matches(apiPods) {
			t.Errorf("worker NetworkPolicy: pod selector %v must match the worker pods only", deny.Spec.PodSelector)
		}
	} else if len(o.policies) != 0 {
		t.Error("NetworkPolicies with networkPolicy.enabled false")
	}
}

// checkPod checks what every aggregator pod needs: non-root, read-only root file system, no
// privilege escalation, resources, writable /data and /tmp, and secrets that exist.
func checkPod(t *testing.T, what string, pod corev1.PodSpec, o objects, v chartutil.Values) {
	t.Helper()
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod security context %+v, want runAsNonRoot and a non-zero runAsUser", what, psc)
	}
	if pod.ServiceAccountName != "" && pod.ServiceAccountName != "default" && o.accounts[pod.ServiceAccountName] == nil {
		t.Errorf("%s: service account %s is not rendered", what, pod.ServiceAccountName)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", what, len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
		!slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("%s: container security context %+v, want readOnlyRootFilesystem, no privilege escalation, all capabilities dropped", what, sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: resources %+v, want CPU and memory requests and a memory limit", what, c.Resources)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	for _, path := range []string{"/data", "/tmp"} {
		if mounts[path] == "" || !slices.ContainsFunc(pod.Volumes, func(vol corev1.Volume) bool { return vol.Name == mounts[path] }) {
			t.Errorf("%s: %s is not a mounted volume (the root file system is read-only)", what, path)
		}
	}
	if envValue(c, "DATA_DIR") != "/data" {
		t.Errorf("%s: DATA_DIR %q, want /data", what, envValue(c, "DATA_DIR"))
	}
	existing, _ := v["secrets"].(map[string]any)["existingSecret"].(string)
	for _, key := range []string{"SECRET_KEY", "ENCRYPTION_KEY", "DATABASE_URL"} {
		ref := envSecretRef(c, key)
		if ref == nil {
			t.Errorf("%s: %s is not read from a Secret", what, key)
			continue
		}
		if existing != "" {
			if ref.Name != existing {
				t.Errorf("%s: %s from Secret %s, want secrets.existingSecret %s", what, key, ref.Name, existing)
			}
			continue
		}
		s := o.secrets[ref.Name]
		if s == nil {
			t.Errorf("%s: %s from Secret %s, which the chart does not render", what, key, ref.Name)
		} else if s.StringData[ref.Key] == "" {
			t.Errorf("%s: %s from Secret %s key %s, which is empty or missing", what, key, ref.Name, ref.Key)
		}
	}
	redis, _ := v["redis"].(map[string]any)["enabled"].(bool)
	if (envSecretRef(c, "REDIS_URL") != nil) != redis {
		t.Errorf("%s: REDIS_URL present=%v, redis.enabled=%v", what, envSecretRef(c, "REDIS_URL") != nil, redis)
	}
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func envSecretRef(c corev1.Container, name string) *corev1.SecretKeySelector {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil {
			return e.ValueFrom.SecretKeyRef
		}
	}
	return nil
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return -1
}
