package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/openclaw-vca/openclaw-vca/internal/collector"
	"github.com/openclaw-vca/openclaw-vca/internal/config"
)

// k8sDir holds the manifests, relative to this package.
const k8sDir = "../../deploy/kubernetes"

// userSecrets are the Secrets the manifests reference but do not contain
// (the user creates them, deploy/kubernetes/README.md says how), with the
// keys the pod reads from them.
var userSecrets = map[string][]string{
	"vca-collector-tls":        {"tls.crt", "tls.key"},
	"vca-collector-clickhouse": {"password"},
}

// The pod's identity: the image's non-root user, and the label every
// object carries.
const (
	podUID       = 65532
	nameLabel    = "app.kubernetes.io/name"
	appName      = "vca-collector"
	monitoringNS = "monitoring"
)

// Decoding. The apimachinery JSON serializer in strict mode is what the API
// server and kubectl --validate=strict use: it matches field names
// case-sensitively (sigs.k8s.io/json) and refuses unknown and duplicate
// fields. sigs.k8s.io/yaml.UnmarshalStrict alone would not do: it ends in
// encoding/json, which matches "livenessprobe" to livenessProbe silently.

func strictDecoder(add func(*runtime.Scheme) error) *kjson.Serializer {
	s := runtime.NewScheme()
	if err := add(s); err != nil {
		panic(err)
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s,
		kjson.SerializerOptions{Yaml: true, Strict: true})
}

var manifestDecoder = strictDecoder(func(s *runtime.Scheme) error {
	return errors.Join(corev1.AddToScheme(s), appsv1.AddToScheme(s),
		policyv1.AddToScheme(s), networkingv1.AddToScheme(s))
})

// kustomization is the part of kustomize's Kustomization these manifests
// use; a field it does not list fails the strict decoding (add it here
// when kustomization.yaml needs it).
type kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Namespace       string           `json:"namespace,omitempty"`
	Resources       []string         `json:"resources"`
	Images          []kustomizeImage `json:"images,omitempty"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

func (k *kustomization) DeepCopyObject() runtime.Object {
	c := *k
	c.Resources = slices.Clone(k.Resources)
	c.Images = slices.Clone(k.Images)
	return &c
}

var kustomizationDecoder = strictDecoder(func(s *runtime.Scheme) error {
	s.AddKnownTypeWithName(schema.GroupVersionKind{Group: "kustomize.config.k8s.io", Version: "v1beta1", Kind: "Kustomization"}, &kustomization{})
	return nil
})

// splitDocuments splits a YAML stream at "---" lines, dropping documents
// that hold only comments.
func splitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(d)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(j)); s == "null" || s == "" {
			continue
		}
		docs = append(docs, d)
	}
}

// manifests is every object of the kustomization, by kind.
type manifests struct {
	kust     kustomization
	files    map[string][]runtime.Object
	sts      []*appsv1.StatefulSet
	services []*corev1.Service
	cms      []*corev1.ConfigMap
	pdbs     []*policyv1.PodDisruptionBudget
	netpols  []*networkingv1.NetworkPolicy
}

func readKustomization(t *testing.T) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	obj, _, err := kustomizationDecoder.Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	return *obj.(*kustomization)
}

// decodeManifest decodes one document into its typed object; a kind this
// test does not check is an error.
func decodeManifest(doc []byte) (runtime.Object, error) {
	obj, gvk, err := manifestDecoder.Decode(doc, nil, nil)
	if err != nil {
		return nil, err
	}
	switch obj.(type) {
	case *appsv1.StatefulSet, *corev1.Service, *corev1.ConfigMap, *policyv1.PodDisruptionBudget, *networkingv1.NetworkPolicy:
		return obj, nil
	}
	return nil, fmt.Errorf("kind %s is not one this test checks (StatefulSet, Service, ConfigMap, PodDisruptionBudget, NetworkPolicy); Secrets are created by the user", gvk)
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{kust: readKustomization(t), files: map[string][]runtime.Object{}}
	for _, res := range m.kust.Resources {
		data, err := os.ReadFile(filepath.Join(k8sDir, res))
		if err != nil {
			t.Fatalf("kustomization.yaml resource %s: %v", res, err)
		}
		docs, err := splitDocuments(data)
		if err != nil {
			t.Fatalf("%s: %v", res, err)
		}
		if len(docs) == 0 {
			t.Fatalf("%s holds no document", res)
		}
		for i, d := range docs {
			obj, err := decodeManifest(d)
			if err != nil {
				t.Fatalf("%s, document %d: %v", res, i+1, err)
			}
			m.files[res] = append(m.files[res], obj)
			switch o := obj.(type) {
			case *appsv1.StatefulSet:
				m.sts = append(m.sts, o)
			case *corev1.Service:
				m.services = append(m.services, o)
			case *corev1.ConfigMap:
				m.cms = append(m.cms, o)
			case *policyv1.PodDisruptionBudget:
				m.pdbs = append(m.pdbs, o)
			case *networkingv1.NetworkPolicy:
				m.netpols = append(m.netpols, o)
			}
		}
	}
	return m
}

// collector returns the StatefulSet and its collector container.
func (m *manifests) collector(t *testing.T) (*appsv1.StatefulSet, *corev1.Container) {
	t.Helper()
	if len(m.sts) != 1 {
		t.Fatalf("want one StatefulSet, found %d", len(m.sts))
	}
	s := m.sts[0]
	for i := range s.Spec.Template.Spec.Containers {
		if c := &s.Spec.Template.Spec.Containers[i]; c.Name == appName {
			return s, c
		}
	}
	t.Fatalf("StatefulSet %s has no container named %s", s.Name, appName)
	return nil, nil
}

func (m *manifests) configMap(name string) *corev1.ConfigMap {
	for _, c := range m.cms {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (m *manifests) service(name string) *corev1.Service {
	for _, s := range m.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	k := readKustomization(t)
	listed := map[string]bool{}
	for _, r := range k.Resources {
		if listed[r] {
			t.Errorf("kustomization.yaml lists %s twice", r)
		}
		listed[r] = true
		if _, err := os.Stat(filepath.Join(k8sDir, r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		f, err := filepath.Glob(filepath.Join(k8sDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f...)
	}
	if len(files) < 2 {
		t.Fatalf("found only %v in %s", files, k8sDir)
	}
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !listed[b] {
			t.Errorf("%s is not in kustomization.yaml's resources %v", b, k.Resources)
		}
	}
	if k.Namespace != "" {
		t.Logf("kustomization.yaml sets namespace %q", k.Namespace)
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	seen := map[string]string{}
	for _, file := range slices.Sorted(maps.Keys(m.files)) {
		for i, obj := range m.files[file] {
			meta, err := metaOf(obj)
			if err != nil {
				t.Fatal(err)
			}
			kind := fmt.Sprintf("%T", obj)
			id := kind + "/" + meta.GetName()
			if meta.GetName() == "" {
				t.Errorf("%s document %d (%s) has no metadata.name", file, i+1, kind)
			}
			if prev, ok := seen[id]; ok {
				t.Errorf("%s %q is defined in %s and in %s document %d", kind, meta.GetName(), prev, file, i+1)
			}
			seen[id] = fmt.Sprintf("%s document %d", file, i+1)
			if ns := meta.GetNamespace(); ns != "" {
				t.Errorf("%s %q sets metadata.namespace %q; leave it to kustomization.yaml's namespace", kind, meta.GetName(), ns)
			}
			if v := meta.GetLabels()[nameLabel]; v != appName {
				t.Errorf("%s %q: label %s is %q, want %q", kind, meta.GetName(), nameLabel, v, appName)
			}
		}
	}
	for _, want := range []struct {
		kind string
		n    int
	}{{"StatefulSet", len(m.sts)}, {"Service", len(m.services)}, {"ConfigMap", len(m.cms)}, {"PodDisruptionBudget", len(m.pdbs)}, {"NetworkPolicy", len(m.netpols)}} {
		if want.n == 0 {
			t.Errorf("no %s among the manifests", want.kind)
		}
	}
}

// TestStrictDecoderRejectsTypos shows that a typo in a manifest fails this
// test: each case changes the StatefulSet in memory and requires the
// decoder to refuse it, naming the field.
func TestStrictDecoderRejectsTypos(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(k8sDir, "statefulset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitDocuments(raw)
	if err != nil || len(docs) != 1 {
		t.Fatalf("statefulset.yaml: want one document, found %d (%v)", len(docs), err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(docs[0], &tree); err != nil {
		t.Fatal(err)
	}
	container := func(m map[string]any) map[string]any {
		return dig(m, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
	}
	cases := []struct {
		name    string
		edit    func(map[string]any) // on a copy of the document's tree
		text    func(string) string  // or on its text
		wantErr string
	}{
		{
			name:    "lower-case livenessprobe",
			edit:    func(m map[string]any) { c := container(m); c["livenessprobe"] = c["livenessProbe"] },
			wantErr: `unknown field "spec.template.spec.containers[0].livenessprobe"`,
		},
		{
			name:    "misspelt pod field",
			edit:    func(m map[string]any) { dig(m, "spec", "template", "spec")["securityContxt"] = map[string]any{} },
			wantErr: `unknown field "spec.template.spec.securityContxt"`,
		},
		{
			name:    "field at the wrong level",
			edit:    func(m map[string]any) { dig(m, "spec")["containers"] = []any{} },
			wantErr: `unknown field "spec.containers"`,
		},
		{
			name:    "wrong type",
			edit:    func(m map[string]any) { dig(m, "spec")["replicas"] = "one" },
			wantErr: "replicas",
		},
		{
			name: "duplicate key",
			text: func(s string) string {
				return strings.Replace(s, "\n  replicas: 1\n", "\n  replicas: 1\n  replicas: 2\n", 1)
			},
			wantErr: `"replicas" already set`,
		},
		{
			name:    "unknown kind",
			edit:    func(m map[string]any) { m["kind"] = "StatefullSet" },
			wantErr: `no kind "StatefullSet" is registered`,
		},
	}
	// The unchanged document, through the same round trip, decodes: the
	// failures below are the edits'.
	if _, err := decodeManifest(mustYAML(t, tree)); err != nil {
		t.Fatalf("the unchanged StatefulSet, re-encoded, does not decode: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var doc []byte
			if tc.text != nil {
				s := tc.text(string(docs[0]))
				if s == string(docs[0]) {
					t.Fatal("the edit changed nothing: statefulset.yaml no longer has the line it replaces")
				}
				doc = []byte(s)
			} else {
				var cp map[string]any
				if err := yaml.Unmarshal(docs[0], &cp); err != nil {
					t.Fatal(err)
				}
				tc.edit(cp)
				doc = mustYAML(t, cp)
			}
			_, err := decodeManifest(doc)
			if err == nil {
				t.Fatalf("the strict decoder accepted the StatefulSet with a %s", tc.name)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
	// Why not sigs.k8s.io/yaml.UnmarshalStrict: record what it does with
	// the case typo (encoding/json matches field names without case).
	var cp map[string]any
	if err := yaml.Unmarshal(docs[0], &cp); err == nil {
		c := container(cp)
		c["livenessprobe"] = c["livenessProbe"]
		var s appsv1.StatefulSet
		t.Logf("for comparison, sigs.k8s.io/yaml.UnmarshalStrict on the lower-case livenessprobe: error %v", yaml.UnmarshalStrict(mustYAML(t, cp), &s))
	}
}

func TestStatefulSet(t *testing.T) {
	m := loadManifests(t)
	s, c := m.collector(t)
	pod := &s.Spec.Template.Spec
	tmplLabels := labels.Set(s.Spec.Template.Labels)

	t.Run("selector", func(t *testing.T) {
		if s.Spec.Selector == nil || len(s.Spec.Selector.MatchLabels)+len(s.Spec.Selector.MatchExpressions) == 0 {
			t.Fatalf("StatefulSet %s has an empty selector", s.Name)
		}
		sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(tmplLabels) {
			t.Errorf("selector %s does not match the pod template's labels %v", sel, tmplLabels)
		}
	})
	t.Run("replicas", func(t *testing.T) {
		if s.Spec.Replicas == nil || *s.Spec.Replicas != 1 {
			t.Errorf("replicas: want 1, found %s", ptrString(s.Spec.Replicas))
		}
	})
	t.Run("serviceName", func(t *testing.T) {
		svc := m.service(s.Spec.ServiceName)
		switch {
		case s.Spec.ServiceName == "":
			t.Error("serviceName is empty")
		case svc == nil:
			t.Errorf("serviceName %q names no Service of the manifests", s.Spec.ServiceName)
		case svc.Spec.ClusterIP != corev1.ClusterIPNone:
			t.Errorf("serviceName %q names a Service with clusterIP %q, want a headless one (None)", s.Spec.ServiceName, svc.Spec.ClusterIP)
		}
	})
	t.Run("image", func(t *testing.T) {
		name := imageName(c.Image)
		if c.Image == "" {
			t.Fatal("the container has no image")
		}
		var names []string
		for _, im := range m.kust.Images {
			names = append(names, im.Name)
		}
		if !slices.Contains(names, name) {
			t.Errorf("image %q: kustomization.yaml's images %v do not name %q, so they do not override it", c.Image, names, name)
		}
	})
	t.Run("args", func(t *testing.T) {
		if len(c.Args) < 1 || c.Args[0] != "run" {
			t.Errorf("args %q: want run --config FILE", c.Args)
		}
		if _, err := configPath(c); err != nil {
			t.Error(err)
		}
	})
	t.Run("probes", func(t *testing.T) {
		for _, p := range []struct {
			name     string
			probe    *corev1.Probe
			path     string
			required bool
		}{
			{"livenessProbe", c.LivenessProbe, "/healthz", true},
			{"readinessProbe", c.ReadinessProbe, "/readyz", true},
			{"startupProbe", c.StartupProbe, "/healthz", false},
		} {
			if p.probe == nil {
				if p.required {
					t.Errorf("%s is missing", p.name)
				}
				continue
			}
			h := p.probe.HTTPGet
			if h == nil {
				t.Errorf("%s is not an httpGet probe: %+v", p.name, p.probe.ProbeHandler)
				continue
			}
			if h.Path != p.path {
				t.Errorf("%s path %q, want %q", p.name, h.Path, p.path)
			}
			if h.Scheme != "" && h.Scheme != corev1.URISchemeHTTP {
				t.Errorf("%s scheme %s: the admin endpoint speaks HTTP", p.name, h.Scheme)
			}
			cp, ok := resolvePort(c, h.Port, corev1.ProtocolTCP)
			if !ok {
				t.Errorf("%s port %s is not a TCP port of the container (%s)", p.name, h.Port.String(), describePorts(c.Ports))
			} else if cp.Name != "metrics" {
				t.Errorf("%s uses container port %q (%d), want the admin port named metrics", p.name, cp.Name, cp.ContainerPort)
			}
		}
	})
	t.Run("ports", func(t *testing.T) {
		names := map[string]bool{}
		for _, p := range c.Ports {
			if p.Name == "" {
				t.Errorf("container port %d/%s has no name", p.ContainerPort, protocol(p.Protocol))
			}
			if names[p.Name] {
				t.Errorf("container port name %q is used twice", p.Name)
			}
			names[p.Name] = true
			// No NET_BIND_SERVICE: every capability is dropped.
			if p.ContainerPort < 1024 {
				t.Errorf("container port %s %d is privileged, and the container drops every capability", p.Name, p.ContainerPort)
			}
		}
		if !names["metrics"] {
			t.Errorf("no container port named metrics (%s)", describePorts(c.Ports))
		}
	})
	t.Run("volumes", func(t *testing.T) {
		vols := map[string]string{}
		for _, v := range pod.Volumes {
			vols[v.Name] = "volume"
		}
		for _, v := range s.Spec.VolumeClaimTemplates {
			if _, dup := vols[v.Name]; dup {
				t.Errorf("%q is both a volume and a volumeClaimTemplate", v.Name)
			}
			vols[v.Name] = "volumeClaimTemplate"
		}
		used := map[string]bool{}
		paths := map[string]string{}
		for _, vm := range c.VolumeMounts {
			if _, ok := vols[vm.Name]; !ok {
				t.Errorf("volumeMount %q (%s) names no volume or volumeClaimTemplate (have %v)", vm.Name, vm.MountPath, slices.Sorted(maps.Keys(vols)))
			}
			if prev, dup := paths[path.Clean(vm.MountPath)]; dup {
				t.Errorf("mountPath %s is used by %q and %q", vm.MountPath, prev, vm.Name)
			}
			paths[path.Clean(vm.MountPath)] = vm.Name
			used[vm.Name] = true
		}
		for name, what := range vols {
			if !used[name] {
				t.Errorf("%s %q is mounted nowhere", what, name)
			}
		}
		for _, v := range pod.Volumes {
			switch {
			case v.ConfigMap != nil:
				if m.configMap(v.ConfigMap.Name) == nil {
					t.Errorf("volume %q: ConfigMap %q is not among the manifests", v.Name, v.ConfigMap.Name)
				}
				if mnt := mountOf(c, v.Name); mnt != nil && !mnt.ReadOnly {
					t.Errorf("ConfigMap volume %q is mounted read-write at %s", v.Name, mnt.MountPath)
				}
			case v.Secret != nil:
				if _, ok := userSecrets[v.Secret.SecretName]; !ok {
					t.Errorf("volume %q: Secret %q is not one of the Secrets README.md tells the user to create %v", v.Name, v.Secret.SecretName, slices.Sorted(maps.Keys(userSecrets)))
				}
				if mnt := mountOf(c, v.Name); mnt != nil && !mnt.ReadOnly {
					t.Errorf("Secret volume %q is mounted read-write at %s", v.Name, mnt.MountPath)
				}
				if mode := v.Secret.DefaultMode; mode != nil && *mode&0o007 != 0 {
					t.Errorf("Secret volume %q: defaultMode %#o lets every user read the TLS key", v.Name, *mode)
				}
			case v.PersistentVolumeClaim != nil, v.EmptyDir != nil:
			default:
				t.Errorf("volume %q has a source this test does not know", v.Name)
			}
		}
	})
	t.Run("volumeClaimTemplate", func(t *testing.T) {
		if len(s.Spec.VolumeClaimTemplates) == 0 {
			t.Fatal("no volumeClaimTemplates: the spool needs a disk that follows the pod")
		}
		for _, v := range s.Spec.VolumeClaimTemplates {
			if !slices.Contains(v.Spec.AccessModes, corev1.ReadWriteOnce) {
				t.Errorf("volumeClaimTemplate %q: access modes %v, want ReadWriteOnce", v.Name, v.Spec.AccessModes)
			}
			if q, ok := v.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.IsZero() {
				t.Errorf("volumeClaimTemplate %q requests no storage", v.Name)
			}
			if mnt := mountOf(c, v.Name); mnt != nil && mnt.ReadOnly {
				t.Errorf("volumeClaimTemplate %q is mounted read-only", v.Name)
			}
		}
	})
	t.Run("secrets", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join(k8sDir, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		referenced := map[string]bool{}
		for _, v := range pod.Volumes {
			if v.Secret != nil {
				referenced[v.Secret.SecretName] = true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				referenced[ref.Name] = true
				if keys, ok := userSecrets[ref.Name]; !ok {
					t.Errorf("env %s: Secret %q is not one of %v", e.Name, ref.Name, slices.Sorted(maps.Keys(userSecrets)))
				} else if !slices.Contains(keys, ref.Key) {
					t.Errorf("env %s: key %q of Secret %q is not among its documented keys %v", e.Name, ref.Key, ref.Name, keys)
				}
			}
		}
		for _, e := range c.EnvFrom {
			t.Errorf("envFrom %+v: this test cannot tell which variables it sets (the collector refuses unknown VCA_ variables)", e)
		}
		for name, keys := range userSecrets {
			if !referenced[name] {
				t.Errorf("Secret %q is expected but nothing in the StatefulSet uses it", name)
			}
			for _, w := range append([]string{name}, keys...) {
				if !bytes.Contains(readme, []byte(w)) {
					t.Errorf("README.md does not mention %q (Secret %s, keys %v)", w, name, keys)
				}
			}
		}
		if !bytes.Contains(readme, []byte("kubectl apply -k deploy/kubernetes")) {
			t.Error("README.md does not say kubectl apply -k deploy/kubernetes")
		}
	})
	t.Run("securityContext", func(t *testing.T) {
		psc := pod.SecurityContext
		if psc == nil {
			t.Fatal("the pod has no securityContext")
		}
		csc := c.SecurityContext
		if csc == nil {
			t.Fatal("the container has no securityContext")
		}
		seccomp := "nil"
		if psc.SeccompProfile != nil {
			seccomp = string(psc.SeccompProfile.Type)
		}
		var drop, add []string
		if csc.Capabilities != nil {
			for _, c := range csc.Capabilities.Drop {
				drop = append(drop, string(c))
			}
			for _, c := range csc.Capabilities.Add {
				add = append(add, string(c))
			}
		}
		for _, r := range []struct {
			what  string
			found string
			ok    bool
		}{
			{"pod runAsNonRoot true", ptrString(psc.RunAsNonRoot), isTrue(psc.RunAsNonRoot)},
			{"pod runAsUser 65532", ptrString(psc.RunAsUser), psc.RunAsUser != nil && *psc.RunAsUser == podUID},
			{"pod runAsGroup 65532", ptrString(psc.RunAsGroup), psc.RunAsGroup != nil && *psc.RunAsGroup == podUID},
			{"pod fsGroup 65532", ptrString(psc.FSGroup), psc.FSGroup != nil && *psc.FSGroup == podUID},
			{"pod seccompProfile RuntimeDefault", seccomp, seccomp == string(corev1.SeccompProfileTypeRuntimeDefault)},
			{"container readOnlyRootFilesystem true", ptrString(csc.ReadOnlyRootFilesystem), isTrue(csc.ReadOnlyRootFilesystem)},
			{"container allowPrivilegeEscalation false", ptrString(csc.AllowPrivilegeEscalation), isFalse(csc.AllowPrivilegeEscalation)},
			{"container privileged false", ptrString(csc.Privileged), !isTrue(csc.Privileged)},
			{"container capabilities drop ALL", fmt.Sprint(drop), slices.Contains(drop, "ALL")},
			{"container capabilities add none", fmt.Sprint(add), len(add) == 0},
			{"container runAsNonRoot not false", ptrString(csc.RunAsNonRoot), !isFalse(csc.RunAsNonRoot)},
			{"container runAsUser unset or 65532", ptrString(csc.RunAsUser), csc.RunAsUser == nil || *csc.RunAsUser == podUID},
			{"container seccompProfile unset or RuntimeDefault", fmt.Sprint(csc.SeccompProfile), csc.SeccompProfile == nil || csc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
			{"automountServiceAccountToken false (the collector does not talk to the API)", ptrString(pod.AutomountServiceAccountToken), isFalse(pod.AutomountServiceAccountToken)},
			{"hostNetwork false", strconv.FormatBool(pod.HostNetwork), !pod.HostNetwork},
		} {
			if !r.ok {
				t.Errorf("want %s, found %s", r.what, r.found)
			}
		}
	})
	t.Run("resources", func(t *testing.T) {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := c.Resources.Requests[name]
			lim, okLim := c.Resources.Limits[name]
			if !okReq || !okLim {
				t.Errorf("%s: want a request and a limit, found request %v limit %v", name, quantityString(req, okReq), quantityString(lim, okLim))
				continue
			}
			if req.Cmp(lim) > 0 {
				t.Errorf("%s: request %s is above the limit %s", name, req.String(), lim.String())
			}
		}
	})
	t.Run("GOMEMLIMIT", func(t *testing.T) {
		var found []corev1.EnvVar
		for _, e := range c.Env {
			if e.Name == "GOMEMLIMIT" {
				found = append(found, e)
			}
		}
		if len(found) != 1 {
			t.Fatalf("want one GOMEMLIMIT variable, found %d", len(found))
		}
		e := found[0]
		if e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil {
			t.Fatalf("GOMEMLIMIT is %q, want valueFrom.resourceFieldRef limits.memory", e.Value)
		}
		ref := e.ValueFrom.ResourceFieldRef
		if ref.Resource != "limits.memory" {
			t.Errorf("GOMEMLIMIT refers to %q, want limits.memory", ref.Resource)
		}
		if ref.ContainerName != "" && ref.ContainerName != c.Name {
			t.Errorf("GOMEMLIMIT refers to container %q, not %q", ref.ContainerName, c.Name)
		}
		v, err := resourceFieldValue(c, ref)
		if err != nil {
			t.Fatal(err)
		}
		// Go reads a plain number as bytes: the divisor must be 1, else
		// "512" (divisor 1Mi) would be a limit of 512 bytes.
		lim := c.Resources.Limits[corev1.ResourceMemory]
		if v != strconv.FormatInt(lim.Value(), 10) {
			t.Errorf("GOMEMLIMIT would be %q, which Go reads as %s bytes; want the limit in bytes, %d (divisor 1)", v, v, lim.Value())
		}
	})
	t.Run("serviceLinks", func(t *testing.T) {
		if !isFalse(pod.EnableServiceLinks) {
			t.Errorf("enableServiceLinks is %s, want false: Kubernetes would set %v, and the collector refuses VCA_ variables that name no key",
				ptrString(pod.EnableServiceLinks), serviceLinkEnv(m.services))
		}
	})
}

func TestServices(t *testing.T) {
	m := loadManifests(t)
	s, c := m.collector(t)
	tmplLabels := labels.Set(s.Spec.Template.Labels)
	exposed := map[portKey]bool{}
	metrics := false
	for _, svc := range m.services {
		if len(svc.Spec.Selector) == 0 {
			t.Errorf("Service %s has no selector", svc.Name)
		} else if sel := labels.SelectorFromSet(svc.Spec.Selector); !sel.Matches(tmplLabels) {
			t.Errorf("Service %s: selector %s does not match the pod template's labels %v", svc.Name, sel, tmplLabels)
		}
		names := map[string]bool{}
		for _, p := range svc.Spec.Ports {
			if names[p.Name] {
				t.Errorf("Service %s: port name %q is used twice", svc.Name, p.Name)
			}
			names[p.Name] = true
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			if target.Type == intstr.Int {
				t.Errorf("Service %s port %s targets port number %d: name the container port instead", svc.Name, p.Name, target.IntVal)
			}
			cp, ok := resolvePort(c, target, protocol(p.Protocol))
			if !ok {
				t.Errorf("Service %s port %s (%d/%s): targetPort %s is not a %s port of the container (%s)",
					svc.Name, p.Name, p.Port, protocol(p.Protocol), target.String(), protocol(p.Protocol), describePorts(c.Ports))
				continue
			}
			exposed[portKey{protocol(cp.Protocol), cp.ContainerPort}] = true
			if p.Name == "metrics" && cp.Name == "metrics" {
				metrics = true
			}
		}
	}
	if !metrics {
		t.Error("no Service has a port named metrics that targets the container's metrics port (for a ServiceMonitor)")
	}
	if svc := m.service("vca-collector-metrics"); svc == nil {
		t.Error("no Service vca-collector-metrics")
	}
	for _, p := range c.Ports {
		if !exposed[portKey{protocol(p.Protocol), p.ContainerPort}] {
			t.Errorf("container port %s (%d/%s) is exposed by no Service", p.Name, p.ContainerPort, protocol(p.Protocol))
		}
	}
}

func TestPodDisruptionBudget(t *testing.T) {
	m := loadManifests(t)
	s, _ := m.collector(t)
	if len(m.pdbs) != 1 {
		t.Fatalf("want one PodDisruptionBudget, found %d", len(m.pdbs))
	}
	pdb := m.pdbs[0]
	if pdb.Spec.Selector == nil || len(pdb.Spec.Selector.MatchLabels)+len(pdb.Spec.Selector.MatchExpressions) == 0 {
		t.Fatalf("PodDisruptionBudget %s has an empty selector", pdb.Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(s.Spec.Template.Labels)) {
		t.Errorf("PodDisruptionBudget %s: selector %s does not match the pod template's labels %v", pdb.Name, sel, s.Spec.Template.Labels)
	}
	// With the default replica count a node drain must still be possible.
	replicas := 1
	if s.Spec.Replicas != nil {
		replicas = int(*s.Spec.Replicas)
	}
	switch {
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MaxUnavailable != nil:
		t.Error("PodDisruptionBudget sets both minAvailable and maxUnavailable")
	case pdb.Spec.MinAvailable != nil:
		if n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, replicas, true); err != nil || n >= replicas {
			t.Errorf("minAvailable %s with %d replicas allows no voluntary disruption: node drains would hang", pdb.Spec.MinAvailable.String(), replicas)
		}
	case pdb.Spec.MaxUnavailable != nil:
		if n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, replicas, true); err != nil || n < 1 {
			t.Errorf("maxUnavailable %s with %d replicas allows no voluntary disruption: node drains would hang", pdb.Spec.MaxUnavailable.String(), replicas)
		}
	default:
		t.Error("PodDisruptionBudget sets neither minAvailable nor maxUnavailable")
	}
}

// TestCollectorConfig loads the ConfigMap's collector.yaml as
// `vca-collector run` does (config.Load, which applies the VCA_ variables,
// then every SetDefaults and Validate), with the environment the container
// gets, and checks it against the pod.
func TestCollectorConfig(t *testing.T) {
	m := loadManifests(t)
	s, c := m.collector(t)
	pod := &s.Spec.Template.Spec
	data := configData(t, m, c)
	env := containerEnv(t, m, c)
	if !isFalse(pod.EnableServiceLinks) {
		env = append(env, serviceLinkEnv(m.services)...)
	}
	var cfg collector.Config
	if err := config.Load(data, env, &cfg); err != nil {
		t.Fatalf("the ConfigMap's collector.yaml, with the container's environment %q: %v", envNames(env), err)
	}

	// The ports the configuration listens on are the container's ports.
	want := map[portKey]string{}
	var syslog []portKey
	add := func(k portKey, what string) {
		if prev, dup := want[k]; dup {
			t.Errorf("%s and %s both use %d/%s", prev, what, k.port, k.proto)
		}
		want[k] = what
	}
	for i, l := range cfg.Listeners.UDP {
		k := portKey{corev1.ProtocolUDP, listenPort(t, fmt.Sprintf("listeners.udp[%d].address", i), l.Address)}
		add(k, fmt.Sprintf("listeners.udp[%d] (%s)", i, l.Name))
		syslog = append(syslog, k)
	}
	for i, l := range cfg.Listeners.TCP {
		k := portKey{corev1.ProtocolTCP, listenPort(t, fmt.Sprintf("listeners.tcp[%d].address", i), l.Address)}
		add(k, fmt.Sprintf("listeners.tcp[%d] (%s)", i, l.Name))
		syslog = append(syslog, k)
	}
	if cfg.Admin.Address == "" {
		t.Fatal("admin.address is empty: no /healthz, /readyz or /metrics for the probes")
	}
	admin := portKey{corev1.ProtocolTCP, listenPort(t, "admin.address", cfg.Admin.Address)}
	add(admin, "admin.address")
	got := map[portKey]string{}
	for _, p := range c.Ports {
		got[portKey{protocol(p.Protocol), p.ContainerPort}] = p.Name
	}
	for _, k := range slices.SortedFunc(maps.Keys(want), portKey.compare) {
		if _, ok := got[k]; !ok {
			t.Errorf("%s listens on %d/%s, which is not a container port (%s)", want[k], k.port, k.proto, describePorts(c.Ports))
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(got), portKey.compare) {
		if _, ok := want[k]; !ok {
			t.Errorf("container port %s (%d/%s) is not a port the configuration listens on", got[k], k.port, k.proto)
		}
	}
	t.Run("admin port is the probes' port", func(t *testing.T) {
		for name, p := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
			if p == nil || p.HTTPGet == nil {
				continue
			}
			cp, ok := resolvePort(c, p.HTTPGet.Port, corev1.ProtocolTCP)
			if !ok || cp.ContainerPort != admin.port {
				t.Errorf("%s probes port %s, but admin.address %s listens on %d", name, p.HTTPGet.Port.String(), cfg.Admin.Address, admin.port)
			}
		}
	})

	t.Run("written paths on the volume", func(t *testing.T) {
		// The root file system is read-only: everything the collector
		// writes must be on a writable volume, the spool on the PVC.
		writes := []struct{ key, path string }{
			{"spool.dir", cfg.Spool.Dir},
		}
		if ch := cfg.Sinks.ClickHouse; ch != nil {
			writes = append(writes, struct{ key, path string }{"sinks.clickhouse.dead_letter_dir", ch.DeadLetterDir})
		}
		if f := cfg.Sinks.File; f != nil {
			writes = append(writes, struct{ key, path string }{"sinks.file.path", f.Path})
		}
		for _, w := range writes {
			mnt, err := mountFor(c, w.path)
			switch {
			case err != nil:
				t.Errorf("%s: %v", w.key, err)
			case mnt.ReadOnly:
				t.Errorf("%s %s lies on %q, mounted read-only at %s", w.key, w.path, mnt.Name, mnt.MountPath)
			case !isClaimTemplate(s, mnt.Name):
				t.Errorf("%s %s lies on volume %q at %s, which is no volumeClaimTemplate: it would not survive the pod", w.key, w.path, mnt.Name, mnt.MountPath)
			}
		}
		mnt, err := mountFor(c, cfg.Spool.Dir)
		if err != nil {
			return
		}
		for _, v := range s.Spec.VolumeClaimTemplates {
			if v.Name != mnt.Name {
				continue
			}
			size := v.Spec.Resources.Requests[corev1.ResourceStorage]
			if int64(cfg.Spool.MaxSize) >= size.Value() {
				t.Errorf("spool.max_size %d bytes does not fit in volumeClaimTemplate %q of %s", int64(cfg.Spool.MaxSize), v.Name, size.String())
			}
		}
	})

	t.Run("read files from their volumes", func(t *testing.T) {
		type file struct {
			key, path string
			secret    bool // must come from a Secret
		}
		var files []file
		tls := 0
		for i, l := range cfg.Listeners.TCP {
			if l.TLS == nil {
				continue
			}
			tls++
			p := fmt.Sprintf("listeners.tcp[%d].tls.", i)
			files = append(files, file{p + "cert_file", l.TLS.CertFile, true}, file{p + "key_file", l.TLS.KeyFile, true})
			if l.TLS.ClientCAFile != "" {
				files = append(files, file{p + "client_ca_file", l.TLS.ClientCAFile, true})
			}
		}
		if tls == 0 {
			t.Error("no TLS listener in the configuration")
		}
		if cfg.Catalog.File != "" {
			files = append(files, file{"catalog.file", cfg.Catalog.File, false})
		}
		if ch := cfg.Sinks.ClickHouse; ch != nil {
			if ch.PasswordFile != "" {
				files = append(files, file{"sinks.clickhouse.password_file", ch.PasswordFile, true})
			}
			if ch.TLS != nil {
				for _, f := range []file{{"sinks.clickhouse.tls.ca_file", ch.TLS.CAFile, true}, {"sinks.clickhouse.tls.cert_file", ch.TLS.CertFile, true}, {"sinks.clickhouse.tls.key_file", ch.TLS.KeyFile, true}} {
					if f.path != "" {
						files = append(files, f)
					}
				}
			}
		}
		for _, f := range files {
			kind, name, key, err := fileSource(s, c, f.path)
			switch {
			case err != nil:
				t.Errorf("%s: %v", f.key, err)
			case f.secret && kind != "Secret":
				t.Errorf("%s %s comes from %s %q, want a Secret", f.key, f.path, kind, name)
			case kind == "Secret":
				if keys, ok := userSecrets[name]; !ok {
					t.Errorf("%s %s: Secret %q is not one of %v", f.key, f.path, name, slices.Sorted(maps.Keys(userSecrets)))
				} else if !slices.Contains(keys, key) {
					t.Errorf("%s %s is key %q of Secret %q, which is not among its documented keys %v", f.key, f.path, key, name, keys)
				}
			case kind == "ConfigMap":
				if cm := m.configMap(name); cm == nil || !hasKey(cm, key) {
					t.Errorf("%s %s is key %q of ConfigMap %q, which has no such key", f.key, f.path, key, name)
				}
			}
		}
	})

	t.Run("clickhouse", func(t *testing.T) {
		ch := cfg.Sinks.ClickHouse
		if ch == nil {
			t.Fatal("no sinks.clickhouse")
		}
		for i, a := range ch.Addresses {
			host, _, err := net.SplitHostPort(a)
			if err != nil {
				t.Errorf("sinks.clickhouse.addresses[%d] %q: %v", i, a, err)
				continue
			}
			if ip, err := netip.ParseAddr(host); host == "localhost" || (err == nil && ip.IsLoopback()) {
				t.Errorf("sinks.clickhouse.addresses[%d] %q is the pod itself, not a ClickHouse Service", i, a)
			}
		}
		// The password comes from a Secret: the variable set from the
		// Secret, or a password_file on a Secret volume (checked above).
		var fromEnv string
		for _, e := range c.Env {
			if e.Name == "VCA_SINKS_CLICKHOUSE_PASSWORD" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				fromEnv = secretPlaceholder(e.ValueFrom.SecretKeyRef)
			}
		}
		switch {
		case fromEnv != "" && ch.Password != fromEnv:
			t.Errorf("sinks.clickhouse.password is %q after loading, not the Secret's value %q", ch.Password, fromEnv)
		case fromEnv == "" && ch.PasswordFile == "":
			t.Errorf("the ClickHouse password comes from no Secret (password %q in the ConfigMap)", ch.Password)
		}
		var raw collector.Config
		if err := config.Load(data, nil, &raw); err == nil && raw.Sinks.ClickHouse != nil && raw.Sinks.ClickHouse.Password != "" {
			t.Error("the ConfigMap holds a ClickHouse password in clear text")
		}
	})

	t.Run("listen on every interface", func(t *testing.T) {
		addrs := map[string]string{"admin.address": cfg.Admin.Address}
		for i, l := range cfg.Listeners.UDP {
			addrs[fmt.Sprintf("listeners.udp[%d].address", i)] = l.Address
		}
		for i, l := range cfg.Listeners.TCP {
			addrs[fmt.Sprintf("listeners.tcp[%d].address", i)] = l.Address
		}
		for _, k := range slices.Sorted(maps.Keys(addrs)) {
			host, _, _ := net.SplitHostPort(addrs[k])
			if ip, err := netip.ParseAddr(host); host != "" && (err != nil || !ip.IsUnspecified()) {
				t.Errorf("%s %s: the Services and the kubelet reach the pod IP; listen on 0.0.0.0", k, addrs[k])
			}
		}
	})

	t.Run("shutdown within the grace period", func(t *testing.T) {
		grace := 30 * time.Second // Kubernetes' default
		if pod.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
		}
		if st := time.Duration(cfg.ShutdownTimeout); st+5*time.Second > grace {
			t.Errorf("shutdown_timeout %v leaves less than 5s of terminationGracePeriodSeconds (%v): the kubelet kills the drain", st, grace)
		}
	})

	t.Run("network policy admits the ports", func(t *testing.T) {
		checkNetworkPolicy(t, m, c, syslog, admin)
	})

	t.Run("service links would break start-up", func(t *testing.T) {
		// Why enableServiceLinks must be false: with the variables
		// Kubernetes would add, the same configuration does not load.
		links := serviceLinkEnv(m.services)
		if len(links) == 0 {
			t.Skip("no Service would add VCA_ variables")
		}
		var cfg collector.Config
		err := config.Load(data, append(containerEnv(t, m, c), links...), &cfg)
		if err == nil {
			t.Fatalf("config.Load accepted the service-link variables %v", links)
		}
		t.Logf("with service links: %v", err)
	})
}

// checkNetworkPolicy: each syslog port admitted from ipBlocks only, the
// admin port from the monitoring namespace only, and no rule open to every
// source or port.
func checkNetworkPolicy(t *testing.T, m *manifests, c *corev1.Container, syslog []portKey, admin portKey) {
	s, _ := m.collector(t)
	if len(m.netpols) == 0 {
		t.Fatal("no NetworkPolicy")
	}
	admitted := map[portKey]bool{}
	for _, np := range m.netpols {
		if len(np.Spec.PodSelector.MatchLabels)+len(np.Spec.PodSelector.MatchExpressions) == 0 {
			t.Errorf("NetworkPolicy %s selects every pod of the namespace", np.Name)
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(s.Spec.Template.Labels)) {
			t.Errorf("NetworkPolicy %s: podSelector %s does not match the pod template's labels %v", np.Name, sel, s.Spec.Template.Labels)
			continue
		}
		if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			t.Errorf("NetworkPolicy %s: policyTypes %v lack Ingress", np.Name, np.Spec.PolicyTypes)
		}
		for i, rule := range np.Spec.Ingress {
			where := fmt.Sprintf("NetworkPolicy %s ingress[%d]", np.Name, i)
			if len(rule.From) == 0 {
				t.Errorf("%s admits every source", where)
			}
			if len(rule.Ports) == 0 {
				t.Errorf("%s admits every port", where)
			}
			var ipBlocks, monitoring, other int
			for j, peer := range rule.From {
				switch {
				case peer.IPBlock != nil && peer.NamespaceSelector == nil && peer.PodSelector == nil:
					if _, err := netip.ParsePrefix(peer.IPBlock.CIDR); err != nil {
						t.Errorf("%s from[%d]: ipBlock cidr %q: %v", where, j, peer.IPBlock.CIDR, err)
					}
					ipBlocks++
				case peer.NamespaceSelector != nil && peer.IPBlock == nil && isMonitoring(peer.NamespaceSelector):
					monitoring++
				default:
					other++
				}
			}
			for _, k := range portsOf(c, rule.Ports) {
				admitted[k] = true
				isAdmin := k == admin
				switch {
				case isAdmin && (ipBlocks > 0 || other > 0):
					t.Errorf("%s admits the admin port %d from peers other than the %s namespace", where, k.port, monitoringNS)
				case !isAdmin && (monitoring > 0 || other > 0):
					t.Errorf("%s admits syslog port %d/%s from peers other than ipBlocks", where, k.port, k.proto)
				}
			}
		}
	}
	for _, k := range append(slices.Clone(syslog), admin) {
		if !admitted[k] {
			t.Errorf("no NetworkPolicy rule admits %d/%s", k.port, k.proto)
		}
	}
}

func isMonitoring(sel *metav1.LabelSelector) bool {
	return len(sel.MatchExpressions) == 0 && len(sel.MatchLabels) == 1 &&
		sel.MatchLabels["kubernetes.io/metadata.name"] == monitoringNS
}

// portsOf lists the container ports a NetworkPolicy rule's ports admit.
func portsOf(c *corev1.Container, ports []networkingv1.NetworkPolicyPort) []portKey {
	var out []portKey
	for _, np := range ports {
		proto := corev1.ProtocolTCP
		if np.Protocol != nil {
			proto = *np.Protocol
		}
		for _, cp := range c.Ports {
			if protocol(cp.Protocol) != proto {
				continue
			}
			switch {
			case np.Port == nil:
				out = append(out, portKey{proto, cp.ContainerPort})
			case np.Port.Type == intstr.String && np.Port.StrVal == cp.Name:
				out = append(out, portKey{proto, cp.ContainerPort})
			case np.Port.Type == intstr.Int && np.EndPort != nil && cp.ContainerPort >= np.Port.IntVal && cp.ContainerPort <= *np.EndPort:
				out = append(out, portKey{proto, cp.ContainerPort})
			case np.Port.Type == intstr.Int && np.Port.IntVal == cp.ContainerPort:
				out = append(out, portKey{proto, cp.ContainerPort})
			}
		}
	}
	return out
}

// configPath is the --config argument.
func configPath(c *corev1.Container) (string, error) {
	for i, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v, nil
		}
		if a == "--config" && i+1 < len(c.Args) {
			return c.Args[i+1], nil
		}
	}
	return "", fmt.Errorf("args %q have no --config FILE (the collector would read examples/collector.yaml)", c.Args)
}

// configData is the collector.yaml the pod reads: the --config file,
// through its volume mount, in its ConfigMap.
func configData(t *testing.T, m *manifests, c *corev1.Container) []byte {
	t.Helper()
	s, _ := m.collector(t)
	p, err := configPath(c)
	if err != nil {
		t.Fatal(err)
	}
	kind, name, key, err := fileSource(s, c, p)
	if err != nil {
		t.Fatalf("--config %s: %v", p, err)
	}
	if kind != "ConfigMap" {
		t.Fatalf("--config %s comes from %s %q, want a ConfigMap of the manifests", p, kind, name)
	}
	cm := m.configMap(name)
	if cm == nil {
		t.Fatalf("--config %s: ConfigMap %q is not among the manifests", p, name)
	}
	data, ok := cm.Data[key]
	if !ok {
		t.Fatalf("--config %s: ConfigMap %q has no key %q (has %v)", p, name, key, slices.Sorted(maps.Keys(cm.Data)))
	}
	return []byte(data)
}

// mountFor is the volume mount that holds the absolute path p.
func mountFor(c *corev1.Container, p string) (*corev1.VolumeMount, error) {
	if !path.IsAbs(p) {
		return nil, fmt.Errorf("%q is relative: it would be resolved in the image's working directory, on the read-only root file system", p)
	}
	p = path.Clean(p)
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		vm := &c.VolumeMounts[i]
		mp := path.Clean(vm.MountPath)
		if (p == mp || strings.HasPrefix(p, mp+"/")) && (best == nil || len(mp) > len(path.Clean(best.MountPath))) {
			best = vm
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%s lies on no volume mount (%s)", p, describeMounts(c.VolumeMounts))
	}
	return best, nil
}

// fileSource says where the file p comes from: ("ConfigMap"|"Secret",
// name, key), through its mount and the volume's items.
func fileSource(s *appsv1.StatefulSet, c *corev1.Container, p string) (kind, name, key string, err error) {
	vm, err := mountFor(c, p)
	if err != nil {
		return "", "", "", err
	}
	rel := strings.TrimPrefix(path.Clean(p), path.Clean(vm.MountPath)+"/")
	if vm.SubPath != "" {
		rel = path.Join(vm.SubPath, rel)
	}
	for _, v := range s.Spec.Template.Spec.Volumes {
		if v.Name != vm.Name {
			continue
		}
		var items []corev1.KeyToPath
		switch {
		case v.ConfigMap != nil:
			kind, name, items = "ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items
		case v.Secret != nil:
			kind, name, items = "Secret", v.Secret.SecretName, v.Secret.Items
		default:
			return "", "", "", fmt.Errorf("%s lies on volume %q at %s, which is no ConfigMap or Secret", p, v.Name, vm.MountPath)
		}
		if len(items) == 0 {
			return kind, name, rel, nil
		}
		for _, it := range items {
			if path.Clean(it.Path) == rel {
				return kind, name, it.Key, nil
			}
		}
		return "", "", "", fmt.Errorf("%s: %s %q volume %q maps no key to %q", p, kind, name, v.Name, rel)
	}
	return "", "", "", fmt.Errorf("%s lies on %q at %s, which is no pod volume (a volumeClaimTemplate holds no configuration)", p, vm.Name, vm.MountPath)
}

func isClaimTemplate(s *appsv1.StatefulSet, name string) bool {
	for _, v := range s.Spec.VolumeClaimTemplates {
		if v.Name == name {
			return true
		}
	}
	return false
}

func mountOf(c *corev1.Container, volume string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == volume {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func hasKey(cm *corev1.ConfigMap, key string) bool {
	_, a := cm.Data[key]
	_, b := cm.BinaryData[key]
	return a || b
}

// containerEnv is the container's environment as the kubelet would set
// it: literal values, a placeholder for each Secret key, resource fields
// computed from the container's resources.
func containerEnv(t *testing.T, m *manifests, c *corev1.Container) []string {
	t.Helper()
	var env []string
	for _, e := range c.Env {
		v := e.Value
		if f := e.ValueFrom; f != nil {
			switch {
			case f.SecretKeyRef != nil:
				v = secretPlaceholder(f.SecretKeyRef)
			case f.ConfigMapKeyRef != nil:
				cm := m.configMap(f.ConfigMapKeyRef.Name)
				if cm == nil || !hasKey(cm, f.ConfigMapKeyRef.Key) {
					t.Fatalf("env %s: ConfigMap %q key %q is not among the manifests", e.Name, f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key)
				}
				v = cm.Data[f.ConfigMapKeyRef.Key]
			case f.ResourceFieldRef != nil:
				var err error
				if v, err = resourceFieldValue(c, f.ResourceFieldRef); err != nil {
					t.Fatalf("env %s: %v", e.Name, err)
				}
			case f.FieldRef != nil:
				v = "field:" + f.FieldRef.FieldPath
			}
		}
		env = append(env, e.Name+"="+v)
	}
	return env
}

func secretPlaceholder(ref *corev1.SecretKeySelector) string {
	return "secret:" + ref.Name + "/" + ref.Key
}

// resourceFieldValue is what the kubelet puts in a resourceFieldRef
// variable: the quantity divided by the divisor (default 1), rounded up.
func resourceFieldValue(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	var q resource.Quantity
	var ok bool
	switch ref.Resource {
	case "limits.memory":
		q, ok = c.Resources.Limits[corev1.ResourceMemory]
	case "requests.memory":
		q, ok = c.Resources.Requests[corev1.ResourceMemory]
	default:
		return "", fmt.Errorf("resourceFieldRef %q: this test computes only memory", ref.Resource)
	}
	if !ok {
		return "", fmt.Errorf("resourceFieldRef %s: the container sets no such value (the kubelet would use the node's allocatable memory)", ref.Resource)
	}
	div := int64(1)
	if !ref.Divisor.IsZero() {
		div = ref.Divisor.Value()
	}
	return strconv.FormatInt((q.Value()+div-1)/div, 10), nil
}

// serviceLinkEnv is the part of the service-link variables Kubernetes
// sets for the manifests' Services (headless ones get none) that starts
// with VCA_.
func serviceLinkEnv(services []*corev1.Service) []string {
	var env []string
	for _, s := range services {
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		n := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		if !strings.HasPrefix(n, config.EnvPrefix) || len(s.Spec.Ports) == 0 {
			continue
		}
		p := s.Spec.Ports[0]
		env = append(env, n+"_SERVICE_HOST=10.96.0.10", fmt.Sprintf("%s_SERVICE_PORT=%d", n, p.Port),
			fmt.Sprintf("%s_PORT=%s://10.96.0.10:%d", n, strings.ToLower(string(protocol(p.Protocol))), p.Port))
	}
	return env
}

func envNames(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		out = append(out, k)
	}
	return out
}

type portKey struct {
	proto corev1.Protocol
	port  int32
}

func (a portKey) compare(b portKey) int {
	if a.port != b.port {
		return int(a.port - b.port)
	}
	return strings.Compare(string(a.proto), string(b.proto))
}

func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP // the API's default
	}
	return p
}

// resolvePort finds the container port a probe or Service names, by name
// or number, with the protocol given.
func resolvePort(c *corev1.Container, p intstr.IntOrString, proto corev1.Protocol) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if protocol(cp.Protocol) != proto {
			continue
		}
		if (p.Type == intstr.String && p.StrVal == cp.Name) || (p.Type == intstr.Int && p.IntVal == cp.ContainerPort) {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

func listenPort(t *testing.T, key, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s %q: %v", key, addr, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		t.Fatalf("%s %q: the port must be a fixed number for the container's ports", key, addr)
	}
	return int32(n)
}

func describePorts(ports []corev1.ContainerPort) string {
	var s []string
	for _, p := range ports {
		s = append(s, fmt.Sprintf("%s=%d/%s", p.Name, p.ContainerPort, protocol(p.Protocol)))
	}
	return strings.Join(s, ", ")
}

func describeMounts(mounts []corev1.VolumeMount) string {
	var s []string
	for _, m := range mounts {
		s = append(s, m.Name+"="+m.MountPath)
	}
	return strings.Join(s, ", ")
}

// imageName is an image reference without its tag or digest.
func imageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	return o, nil
}

func dig(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

func mustYAML(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func isTrue(p *bool) bool  { return p != nil && *p }
func isFalse(p *bool) bool { return p != nil && !*p }

func quantityString(q resource.Quantity, ok bool) string {
	if !ok {
		return "unset"
	}
	return q.String()
}
