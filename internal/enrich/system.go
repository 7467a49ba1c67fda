package enrich

import "github.com/openclaw-vca/openclaw-vca/internal/parse"

// DefaultRuleUUID is the controller's default-action rule in the
// POST_RULES list: every flow no rule matched is logged with it.
const DefaultRuleUUID = "defa11a1-0000-0000-0000-000000000000"

// DefaultRuleName labels default-action hits.
const DefaultRuleName = "POST_RULES default"

// systemRules are rule UUIDs every controller uses, known without a catalog.
var systemRules = map[parse.UUID]string{
	mustUUID(DefaultRuleUUID): DefaultRuleName,
}

// SystemObjects names the controller's built-in objects by UUID, the same
// on every controller: SmartGroups and WebGroups a rule may reference, and
// the TLS and log profiles rules carry.
var SystemObjects = map[string]string{
	"def000ad-0000-0000-0000-000000000000": "Anywhere",
	"def000ad-0000-0000-0000-000000000001": "Public Internet",
	"def000ad-0000-0000-0000-000000000002": "All-Web",
	"def000ad-6000-0000-0000-000000000001": "default TLS profile",
	"def000ad-7000-0000-0000-000000000001": "log profile START",
	"def000ad-7000-0000-0000-000000000002": "log profile END",
	"def000ad-7000-0000-0000-000000000003": "log profile ALL",
	"defa11a1-3000-5000-0000-000000000000": "POST_RULES",
	DefaultRuleUUID:                        DefaultRuleName,
}

// isSystemGroup reports whether a rule may reference name without the
// catalog defining it ("Any-Web" is All-Web's name before 7.1.3006).
func isSystemGroup(name string) bool {
	switch name {
	case "Anywhere", "Public Internet", "All-Web", "Any-Web":
		return true
	}
	return false
}
