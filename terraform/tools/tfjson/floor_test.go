package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLowerBound(t *testing.T) {
	for _, tc := range []struct{ constraint, want string }{
		{"~> 8.2", "8.2.0"},
		{"~> 8.2.10", "8.2.10"},
		{">= 8.2.10, < 8.3.0", "8.2.10"},
		{"8.2.20", "8.2.20"},
		{"> 8.2.9", "8.2.10"},
		{">= 8.1, >= 8.2.10", "8.2.10"},
	} {
		got, err := lowerBound(tc.constraint)
		if err != nil || got.String() != tc.want {
			t.Errorf("lowerBound(%q) = %s, %v; want %s", tc.constraint, got, err, tc.want)
		}
	}
	if _, err := lowerBound("< 9.0.0"); err == nil {
		t.Error("a constraint without a lower bound was accepted")
	}
}

// A module that uses what its constraint's oldest release lacks fails
// the check, by name; with the bound raised it passes.
func TestCheckFloor(t *testing.T) {
	floor := filepath.Join(t.TempDir(), "floor.json")
	if err := os.WriteFile(floor, []byte(`{"provider":"aviatrix","since":{
		"resource.aviatrix_config_feature":"8.2.10",
		"data.aviatrix_dcf_log_profile":"8.2.0",
		"resource.aviatrix_distributed_firewalling_policy_list":"8.0.0",
		"aviatrix_distributed_firewalling_policy_list.policies.log_profile":"8.2.0"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	module := func(constraint, body string) string {
		dir := t.TempDir()
		tf := `terraform {
  required_providers {
    aviatrix = {
      source  = "AviatrixSystems/aviatrix"
      version = "` + constraint + `"
    }
  }
}
` + body
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tf), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	const feature = `resource "aviatrix_config_feature" "dcf" {
  feature_name = "microseg"
  is_enabled   = true
}
`
	const logProfile = `resource "aviatrix_distributed_firewalling_policy_list" "this" {
  policies {
    log_profile = "x"
  }
}
`
	for _, tc := range []struct {
		name, constraint, body string
		fails                  []string
	}{
		{"config_feature under ~> 8.2", "~> 8.2", feature, []string{"resource.aviatrix_config_feature needs aviatrix provider 8.2.10 or later, but the constraint \"~> 8.2\" admits 8.2.0"}},
		{"config_feature under >= 8.2.10", ">= 8.2.10, < 8.3.0", feature, nil},
		{"log_profile under ~> 8.1", "~> 8.1", logProfile, []string{"log_profile needs aviatrix provider 8.2.0"}},
		{"log_profile under ~> 8.2", "~> 8.2", logProfile, nil},
		{"policy list without log_profile under ~> 8.1", "~> 8.1", `resource "aviatrix_distributed_firewalling_policy_list" "this" {}`, nil},
		{"no lower bound", "< 9.0.0", feature, []string{"has no lower bound"}},
		{"a resource the table does not know", ">= 8.2.10", `resource "aviatrix_spoke_gateway" "s" {}`, []string{"resource.aviatrix_spoke_gateway is not in floor.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFloor(floor, []string{module(tc.constraint, tc.body)})
			if len(tc.fails) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("passed, want a failure")
			}
			for _, want := range tc.fails {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}
