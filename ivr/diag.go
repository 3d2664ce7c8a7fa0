package ivr

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"hotline/speech"
)

// Diagnostic is one problem found in a flow file.
type Diagnostic struct {
	File    string
	Line    int // 1-based; 0 when the problem is not tied to a line
	Msg     string
	Warning bool // warnings do not stop the flow from loading
}

// String formats the diagnostic the way compilers do, so editors can jump
// to it: "file:line: message", or "file:line: warning: message".
func (d Diagnostic) String() string {
	msg := d.Msg
	if d.Warning {
		msg = "warning: " + msg
	}
	if d.Line <= 0 {
		return fmt.Sprintf("%s: %s", d.File, msg)
	}
	return fmt.Sprintf("%s:%d: %s", d.File, d.Line, msg)
}

// CheckOptions tunes validation.
type CheckOptions struct {
	// PromptExists reports whether a prompt is available to the flow's
	// tenant; nil skips the check, e.g. when the prompts are recorded after
	// the flow is written. Music classes are not checked.
	PromptExists func(name string) bool
	// Vocabulary is the speech engine's dictionary: menu phrases with words
	// it lacks are errors. nil skips the check, so flows can be checked
	// without the engine (and without cgo).
	Vocabulary speech.Vocabulary
}

// LoadFlow reads and validates a flow file. The error lists every
// diagnostic, one per line; warnings are kept in Flow.Warnings.
func LoadFlow(path string, opts CheckOptions) (*Flow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load flow: %w", err)
	}
	f, diags := ParseFlow(path, data, opts)
	if f == nil {
		var lines []string
		for _, d := range diags {
			if !d.Warning {
				lines = append(lines, d.String())
			}
		}
		return nil, fmt.Errorf("load flow %s: %d error(s):\n%s", path, len(lines), strings.Join(lines, "\n"))
	}
	return f, nil
}

// CheckFiles validates flow files for `hotline flow check`, writing every
// diagnostic (warnings included) to w, one per line. It returns the number
// of errors; warnings are not counted so they never fail a CI check.
func CheckFiles(paths []string, opts CheckOptions, w io.Writer) (errs int) {
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			fmt.Fprintf(w, "%s: %v\n", path, err)
			errs++
			continue
		}
		_, diags := ParseFlow(path, data, opts)
		for _, d := range diags {
			fmt.Fprintln(w, d.String())
			if !d.Warning {
				errs++
			}
		}
	}
	return errs
}
