package config

import (
	"maps"
	"regexp"
	"slices"
)

// varNameRE is the flow variable syntax (package ivr): a tenant variable
// must be one a flow can reference as ${name}.
var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)

// ValidVarName reports whether name may name a tenant variable.
func ValidVarName(name string) bool { return varNameRE.MatchString(name) }

// checkVars validates a tenant's vars: names only, as any value is text.
func checkVars(t *Tenant, at func(name string) int, bad func(line int, format string, args ...any)) {
	for _, name := range slices.Sorted(maps.Keys(t.Vars)) {
		if !ValidVarName(name) {
			bad(at(name), "tenant %s: vars: invalid variable name %q (letters, digits and _, not starting with a digit; dots between parts)", t.ID, name)
		}
	}
}
