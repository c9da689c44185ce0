package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	agentconfig "github.com/ninesmon/nines/agent/config"
	collectorconfig "github.com/ninesmon/nines/collector/config"
)

// TestKubernetesManifests decodes every manifest in kubernetes/ strictly
// into the Kubernetes API types (an unknown or misplaced field fails, as
// kubectl's server-side validation would), loads the configurations the
// ConfigMaps carry with the binaries' own loaders, and checks what ties
// the objects together: the config path each container is given is
// mounted, secrets are mounted private (the binaries refuse token files
// others can read), and selectors match their pods.
func TestKubernetesManifests(t *testing.T) {
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	kinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(data), "\n---\n") {
			where := fmt.Sprintf("%s document %d", f, i+1)
			var meta struct{ Kind string }
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			kinds[meta.Kind]++
			switch meta.Kind {
			case "Namespace":
				var o corev1.Namespace
				strict(t, where, doc, &o)
			case "Service":
				var o corev1.Service
				strict(t, where, doc, &o)
			case "ConfigMap":
				var o corev1.ConfigMap
				strict(t, where, doc, &o)
				for name, body := range o.Data {
					var err error
					switch name {
					case "agent.yml":
						_, err = agentconfig.Load(where+" "+name, []byte(body))
					case "collector.yml":
						_, err = collectorconfig.Load(where+" "+name, []byte(body))
					default:
						err = fmt.Errorf("unknown configuration %q", name)
					}
					if err != nil {
						t.Errorf("%s: %v", where, err)
					}
				}
			case "DaemonSet":
				var o appsv1.DaemonSet
				strict(t, where, doc, &o)
				checkPod(t, where, o.Spec.Selector.MatchLabels, o.Spec.Template)
			case "StatefulSet":
				var o appsv1.StatefulSet
				strict(t, where, doc, &o)
				checkPod(t, where, o.Spec.Selector.MatchLabels, o.Spec.Template)
				claims := map[string]bool{}
				for _, c := range o.Spec.VolumeClaimTemplates {
					claims[c.Name] = true
				}
				for _, m := range o.Spec.Template.Spec.Containers[0].VolumeMounts {
					if m.Name == "data" && !claims["data"] {
						t.Errorf("%s: the data mount has no volume claim", where)
					}
				}
			default:
				t.Errorf("%s: unexpected kind %q", where, meta.Kind)
			}
		}
	}
	for _, k := range []string{"DaemonSet", "StatefulSet", "Service", "ConfigMap"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the manifests", k)
		}
	}
}

func strict(t *testing.T, where, doc string, o any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), o); err != nil {
		t.Errorf("%s: %v", where, err)
	}
}

// checkPod: the selector matches the pod's labels, the --config path is
// mounted, and every secret volume is private.
func checkPod(t *testing.T, where string, selector map[string]string, tpl corev1.PodTemplateSpec) {
	t.Helper()
	for k, v := range selector {
		if tpl.Labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod's labels %v", where, k, v, tpl.Labels)
		}
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range tpl.Spec.Volumes {
		volumes[v.Name] = v
		if s := v.Secret; s != nil && (s.DefaultMode == nil || *s.DefaultMode&0o077 != 0) {
			mode := int32(0o644) // Kubernetes' default
			if s.DefaultMode != nil {
				mode = *s.DefaultMode
			}
			t.Errorf("%s: secret volume %s is not private (defaultMode %#o): the binaries refuse token files others can read", where, v.Name, mode)
		}
	}
	// Secrets mounted 0400 belong to root: only root reads them (fsGroup
	// would make them group-readable, which the binaries refuse).
	hasSecret := false
	for _, v := range tpl.Spec.Volumes {
		hasSecret = hasSecret || v.Secret != nil
	}
	if sc := tpl.Spec.SecurityContext; hasSecret && sc != nil && (sc.FSGroup != nil || sc.RunAsUser != nil && *sc.RunAsUser != 0) {
		t.Errorf("%s: the pod reads 0400 secrets but runs as another user or with fsGroup (group-readable token files are refused)", where)
	}
	for _, c := range tpl.Spec.Containers {
		if sc := c.SecurityContext; hasSecret && sc != nil && sc.RunAsUser != nil && *sc.RunAsUser != 0 {
			t.Errorf("%s: container %s reads 0400 secrets but runs as user %d", where, c.Name, *sc.RunAsUser)
		}
		mounted := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok && m.Name != "data" {
				t.Errorf("%s: container %s mounts %s, which is no volume", where, c.Name, m.Name)
			}
			mounted[m.MountPath] = true
		}
		for i, a := range c.Args {
			if a == "--config" && i+1 < len(c.Args) && !mounted[c.Args[i+1]] {
				t.Errorf("%s: container %s reads %s, which is not mounted", where, c.Name, c.Args[i+1])
			}
		}
	}
}
