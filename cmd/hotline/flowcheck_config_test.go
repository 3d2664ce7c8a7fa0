package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `hotline flow check` given a server configuration checks its surveys
// (the file's own lines) and what ties them to the tenant's prompts and
// flows; the demo configuration passes.
func TestFlowCheckConfigSurveys(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"flow", "check", "--speech-dict", "none", "../../configs/hotline.yaml"}, &out, &errb); code != 0 {
		t.Fatalf("demo configuration: exit %d\n%s%s", code, out.String(), errb.String())
	}

	dir := t.TempDir()
	flow := filepath.Join(dir, "main.yaml")
	if err := os.WriteFile(flow, []byte("start: agree\nsteps:\n  agree:\n    set: {survey: nope}\n    next: q\n  q:\n    queue: {name: general}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prompts, _ := filepath.Abs("../../configs/prompts/demo")
	cfg := `speech: {synthesizer: none}
tenants:
  - id: demo
    trunks: {allow: ["127.0.0.1"]}
    prompts: ` + prompts + `
    flows: {main: main.yaml}
    numbers: [{number: "+15550100", flow: main}]
    surveys:
      csat:
        questions:
          - {id: q1, kind: score, say: "How was it?"}
          - {id: q2, kind: stars, prompt: missing_prompt}
    queues:
      - {name: general, survey: csat}
`
	path := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"flow", "check", "--speech-dict", "none", path}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	for _, want := range []string{
		path + `:11: tenant demo: survey csat: question q1 says text but speech.synthesizer is none`,
		path + `:12: tenant demo: survey csat: question q2: kind "stars": want score (1-5) or yesno`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}

	// Once the file is right, the load finds the missing prompt and the
	// flow's unknown survey.
	fixed := strings.NewReplacer("synthesizer: none", "synthesizer: espeak", "kind: stars", "kind: yesno").Replace(cfg)
	if err := os.WriteFile(path, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"flow", "check", "--speech-dict", "none", path}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	for _, want := range []string{
		`tenant demo: survey csat: question q2: prompt "missing_prompt" is not among the tenant's prompts`,
		flow + `:3: step agree: survey "nope" is not among tenant demo's surveys`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}
