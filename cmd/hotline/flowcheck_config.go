package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"hotline/config"
	"hotline/speech"
	"hotline/tenant"
)

// splitConfigFiles takes the server configurations out of `hotline flow
// check`'s files (YAML with a top-level tenants: list) and checks each as
// `hotline serve` would load it: the file itself (tenants, queues,
// surveys, ...), then every tenant's prompts and flows, and what ties them
// together (a flow's queue or survey the tenant lacks, a survey's prompt
// that is missing). Each problem is printed as FILE:LINE: message; it
// returns the other files and the number of problems.
func splitConfigFiles(paths []string, vocab speech.Vocabulary, w io.Writer) (rest []string, problems int) {
	for _, path := range paths {
		if !isServerConfig(path) {
			rest = append(rest, path)
			continue
		}
		cfg, err := config.Load(path)
		if err == nil {
			_, err = tenant.Load(cfg, tenant.Options{Vocabulary: vocab})
		}
		if err == nil {
			continue
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				fmt.Fprintln(w, line)
				problems++
			}
		}
	}
	return rest, problems
}

func isServerConfig(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, ok := top["tenants"]
	return ok
}
