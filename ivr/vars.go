package ivr

import (
	"fmt"
	"strings"
)

// checkTemplate validates the ${var} references in a set value.
func checkTemplate(s string) error {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return nil
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return fmt.Errorf("unterminated ${ in %q", s)
		}
		if name := s[i+2 : i+end]; !varNameRE.MatchString(name) {
			return fmt.Errorf("invalid variable name %q in ${...}", name)
		}
		s = s[i+end+1:]
	}
}

// expand replaces ${var} with the variable's value; unset variables expand
// to "" like in a shell, since callers often lack optional headers.
func expand(s string, vars map[string]string) string {
	return expandWith(s, vars, nil)
}

// expandWith is expand with each value passed through esc (nil: as is).
func expandWith(s string, vars map[string]string, esc func(string) string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			break
		}
		b.WriteString(s[:i])
		v := vars[s[i+2:i+end]]
		if esc != nil {
			v = esc(v)
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
	b.WriteString(s)
	return b.String()
}
