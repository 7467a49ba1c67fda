package dashboards

import (
	"os"
	"path/filepath"
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
