package dashboards

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestProvisioningFiles checks that the provisioning files parse and agree
// with the dashboards: the data source has the plugin type and the UID the
// dashboards select first, and the dashboard provider loads files.
func TestProvisioningFiles(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			JSONData map[string]any `yaml:"jsonData"`
			Secure   map[string]any `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, "provisioning/datasources/clickhouse.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasource file: apiVersion %d, %d data sources", ds.APIVersion, len(ds.Datasources))
	}
	d := ds.Datasources[0]
	if d.UID != DefaultDatasourceUID || d.Type != DatasourceType || d.JSONData["protocol"] != "native" ||
		d.JSONData["host"] == nil || d.JSONData["defaultDatabase"] != "vca" || d.Secure["password"] == nil {
		t.Errorf("data source %+v", d)
	}
	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Type    string            `yaml:"type"`
			Options map[string]string `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "provisioning/dashboards/openclaw-vca.yaml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 || dp.Providers[0].Type != "file" || !filepath.IsAbs(dp.Providers[0].Options["path"]) {
		t.Errorf("dashboard provider %+v", dp)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestPluginRequirementStated keeps the plugin release the dashboards need
// the same wherever it is written for whoever installs them.
func TestPluginRequirementStated(t *testing.T) {
	for _, f := range []string{"provisioning/datasources/clickhouse.yaml", "README.md", "../docs/dashboards.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "grafana-clickhouse-datasource") || !strings.Contains(string(b), "≥ "+MinPluginVersion) {
			t.Errorf("%s does not say grafana-clickhouse-datasource ≥ %s", f, MinPluginVersion)
		}
	}
	for _, f := range []string{"provisioning/datasources/clickhouse.yaml", "README.md"} {
		if b, _ := os.ReadFile(f); !strings.Contains(string(b), "install grafana-clickhouse-datasource "+PluginVersion) {
			t.Errorf("%s does not install plugin %s, the release the tests reproduce", f, PluginVersion)
		}
	}
}
