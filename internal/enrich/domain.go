package enrich

import "strings"

// maxLabel is the longest DNS label (RFC 1035); a longer one matches nothing.
const maxLabel = 63

// domainIndex matches a host name against WebGroup domains, exact and
// "*." wildcard, case-insensitively, a trailing dot ignored. It is a trie
// of labels read right to left ("com" → "github" → "api"); every node
// carries the precomputed answer for a name ending there and for a name
// going deeper than the trie, so a lookup walks the labels once and
// returns a shared slice: no allocation.
type domainIndex struct{ root *domainNode }

type domainNode struct {
	children map[string]*domainNode
	exact    []int // groups listing this name exactly
	wildcard []int // groups listing "*." + this name

	// Answers, most specific first, each group once.
	atNode []string // for this very name: exact, then wildcards above
	below  []string // for a name below it with no deeper node: wildcards here and above
}

func newDomainIndex() domainIndex { return domainIndex{root: &domainNode{}} }

// add registers pattern ("api.example.com" or "*.example.com") for group.
func (d *domainIndex) add(pattern string, group int) {
	pattern = strings.TrimSuffix(strings.ToLower(pattern), ".")
	wild := strings.HasPrefix(pattern, "*.")
	if wild {
		pattern = pattern[2:]
	}
	n := d.root
	for rest := pattern; rest != ""; {
		var label string
		if i := strings.LastIndexByte(rest, '.'); i >= 0 {
			label, rest = rest[i+1:], rest[:i]
		} else {
			label, rest = rest, ""
		}
		c := n.children[label]
		if c == nil {
			if n.children == nil {
				n.children = map[string]*domainNode{}
			}
			c = &domainNode{}
			n.children[label] = c
		}
		n = c
	}
	if wild {
		n.wildcard = append(n.wildcard, group)
	} else {
		n.exact = append(n.exact, group)
	}
}

// finish computes every node's answers.
func (d *domainIndex) finish(names []string) {
	var walk func(n *domainNode, above []int)
	walk = func(n *domainNode, above []int) {
		// Wildcards here come before those above: more specific first.
		here := appendUnique(append([]int(nil), n.wildcard...), above...)
		n.atNode = namesOf(appendUnique(append([]int(nil), n.exact...), above...), names)
		n.below = namesOf(here, names)
		for _, c := range n.children {
			walk(c, here)
		}
	}
	walk(d.root, nil)
}

func appendUnique(dst []int, src ...int) []int {
	for _, g := range src {
		dup := false
		for _, h := range dst {
			if h == g {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, g)
		}
	}
	return dst
}

func namesOf(groups []int, names []string) []string {
	if len(groups) == 0 {
		return nil
	}
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = names[g]
	}
	return out
}

// lookup returns the WebGroups matching host, most specific first, or nil.
func (d *domainIndex) lookup(host []byte) []string {
	if len(host) > 0 && host[len(host)-1] == '.' {
		host = host[:len(host)-1]
	}
	if len(host) == 0 || d.root == nil {
		return nil
	}
	var buf [maxLabel]byte
	n := d.root
	end := len(host)
	for end > 0 {
		start := end - 1
		for start >= 0 && host[start] != '.' {
			start--
		}
		label := host[start+1 : end]
		if len(label) == 0 || len(label) > maxLabel {
			return nil // an empty or oversized label: not a name
		}
		for i, c := range label {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		c := n.children[string(buf[:len(label)])]
		if c == nil {
			if n == d.root || !validLabels(host[:end]) {
				return nil
			}
			return n.below
		}
		n = c
		end = start
	}
	return n.atNode
}

// validLabels reports whether every label of name is 1 to 63 bytes long.
func validLabels(name []byte) bool {
	n := 0
	for _, c := range name {
		if c == '.' {
			if n == 0 {
				return false
			}
			n = 0
			continue
		}
		if n++; n > maxLabel {
			return false
		}
	}
	return n > 0
}
