package assist

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a problem in a knowledge-base file, at a line.
type Error struct {
	File string
	Line int // 1-based; 0: the file as a whole
	Msg  string
}

// Error formats like a compiler, so editors jump to it.
func (e Error) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errors are all the problems found, one per line.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// knownFields are the keys an article entry may have.
var knownFields = map[string]bool{"id": true, "title": true, "body": true, "phrases": true, "keywords": true, "intents": true, "tags": true}

// ParseFile reads one knowledge-base file: a YAML list of articles. It
// returns the valid articles and every problem, each at its line.
func ParseFile(path string, data []byte) ([]Article, Errors) {
	var errs Errors
	bad := func(line int, format string, args ...any) {
		errs = append(errs, Error{File: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg := yamlError(err)
		bad(line, "%s", msg)
		return nil, errs
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		bad(0, "no articles: want a list of articles (- id: ..., title: ..., phrases: [...])")
		return nil, errs
	}
	doc := root.Content[0]
	if doc.Kind != yaml.SequenceNode {
		bad(doc.Line, "want a list of articles (- id: ..., title: ..., phrases: [...]), found %s", kindName(doc))
		return nil, errs
	}
	var out []Article
	for _, item := range doc.Content {
		a, ok := parseArticle(item, bad)
		if ok {
			a.File, a.Line, a.Origin = path, item.Line, OriginFile
			out = append(out, a)
		}
	}
	return out, errs
}

func parseArticle(n *yaml.Node, bad func(int, string, ...any)) (Article, bool) {
	var a Article
	if n.Kind != yaml.MappingNode {
		bad(n.Line, "an article must be a mapping (id, title, body, phrases, keywords, intents, tags), found %s", kindName(n))
		return a, false
	}
	keys := map[string]*yaml.Node{}   // key nodes, for the line of a field
	values := map[string]*yaml.Node{} // value nodes
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !knownFields[k.Value]:
			bad(k.Line, "unknown field %q (want id, title, body, phrases, keywords, intents or tags)", k.Value)
			ok = false
			continue
		case keys[k.Value] != nil:
			bad(k.Line, "field %q given twice (first at line %d)", k.Value, keys[k.Value].Line)
			ok = false
			continue
		}
		keys[k.Value], values[k.Value] = k, v
	}
	scalar := func(name string, dst *string) {
		v := values[name]
		if v == nil {
			return
		}
		if v.Kind != yaml.ScalarNode {
			bad(v.Line, "%s must be text, found %s", name, kindName(v))
			ok = false
			return
		}
		*dst = v.Value
	}
	list := func(name string, dst *[]string) {
		v := values[name]
		if v == nil {
			return
		}
		if v.Kind != yaml.SequenceNode {
			bad(v.Line, "%s must be a list of text ([a, b] or - lines), found %s", name, kindName(v))
			ok = false
			return
		}
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				bad(it.Line, "%s: each entry must be text, found %s", name, kindName(it))
				ok = false
				continue
			}
			*dst = append(*dst, it.Value)
		}
	}
	scalar("id", &a.ID)
	scalar("title", &a.Title)
	scalar("body", &a.Body)
	list("phrases", &a.Phrases)
	list("keywords", &a.Keywords)
	list("intents", &a.Intents)
	list("tags", &a.Tags)
	if !ok {
		return a, false
	}
	for _, p := range Check(&a) {
		line := n.Line
		if k := keys[p.Field]; k != nil {
			line = k.Line
			if v := values[p.Field]; p.Index >= 0 && v.Kind == yaml.SequenceNode && p.Index < len(v.Content) {
				line = v.Content[p.Index].Line
			}
		}
		bad(line, "%s", p.Msg)
		ok = false
	}
	return a, ok
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// yamlError splits yaml.v3's "yaml: line N: msg" into N and msg.
func yamlError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				return n, "bad YAML: " + rest[i+2:]
			}
		}
	}
	return 0, "bad YAML: " + msg
}

// dupCheck reports ids seen before, at the later entry.
type dupCheck map[string]Article

func (d dupCheck) check(arts []Article) (kept []Article, errs Errors) {
	for _, a := range arts {
		if first, dup := d[a.ID]; dup {
			errs = append(errs, Error{File: a.File, Line: a.Line,
				Msg: fmt.Sprintf("duplicate article id %q (first at %s:%d)", a.ID, first.File, first.Line)})
			continue
		}
		d[a.ID] = a
		kept = append(kept, a)
	}
	return kept, errs
}

// LoadDir reads a tenant's knowledge base: every *.yaml and *.yml file of
// dir, in name order. Article ids are unique across the files. Any
// problem fails the load (like a flow's), with every problem listed.
func LoadDir(dir string) ([]Article, error) {
	paths, err := kbFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []Article
	var errs Errors
	seen := dupCheck{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("knowledge base: %w", err)
		}
		if IsChecklistFile(data) {
			continue // LoadChecklists reads it
		}
		arts, perrs := ParseFile(p, data)
		errs = append(errs, perrs...)
		kept, derrs := seen.check(arts)
		errs = append(errs, derrs...)
		out = append(out, kept...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func kbFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	var paths []string
	for _, e := range ents {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(paths)
	return paths, nil
}

// IsKnowledgeFile tells a knowledge-base file from a flow for `hotline
// flow check`: it lies under a directory named kb, or its YAML is a list
// whose first entry has phrases (a flow is a mapping; other lists, such
// as other features' files, are not ours).
func IsKnowledgeFile(path string, data []byte) bool {
	for _, part := range strings.Split(filepath.ToSlash(filepath.Dir(path)), "/") {
		if part == "kb" {
			return true
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.SequenceNode || len(root.Content[0].Content) == 0 {
		return false
	}
	first := root.Content[0].Content[0]
	for i := 0; first.Kind == yaml.MappingNode && i+1 < len(first.Content); i += 2 {
		if first.Content[i].Value == "phrases" {
			return true
		}
	}
	return false
}

// Vocabulary is the speech recognizer's dictionary (speech.Vocabulary):
// Missing returns the words of a phrase it cannot recognize.
type Vocabulary interface {
	Missing(phrase string) []string
}

// CheckFiles checks knowledge-base files, printing each problem as
// FILE:LINE: message, and returns how many there were. Ids must be unique
// among the files of one directory (one tenant's base). With a
// recognizer's vocabulary, phrases and keywords holding words it cannot
// recognize are warnings ("FILE:LINE: warning: ..."): a caller saying them
// is transcribed as other words, so they match only typed text (chat,
// search). Warnings are not counted.
func CheckFiles(paths []string, w io.Writer, vocab ...Vocabulary) int {
	n := 0
	seen := map[string]dupCheck{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			fmt.Fprintf(w, "%s: %v\n", p, err)
			n++
			continue
		}
		arts, errs := ParseFile(p, data)
		dir := filepath.Dir(p)
		if seen[dir] == nil {
			seen[dir] = dupCheck{}
		}
		_, derrs := seen[dir].check(arts)
		errs = append(errs, derrs...)
		for _, e := range errs {
			fmt.Fprintln(w, e.Error())
		}
		n += len(errs)
		for _, v := range vocab {
			for _, e := range unknownWords(arts, v) {
				fmt.Fprintln(w, e.Error())
			}
		}
	}
	return n
}

// unknownWords warns about phrases and keywords with words the recognizer
// lacks, at the article's line.
func unknownWords(arts []Article, v Vocabulary) Errors {
	var out Errors
	for _, a := range arts {
		for _, list := range [][]string{a.Phrases, a.Keywords} {
			for _, p := range list {
				if missing := v.Missing(p); len(missing) > 0 {
					out = append(out, Error{File: a.File, Line: a.Line, Msg: fmt.Sprintf(
						"warning: article %s: the recognizer does not know %s in %q: callers saying it will not match",
						a.ID, strings.Join(quoteAll(missing), ", "), p)})
				}
			}
		}
	}
	return out
}

func quoteAll(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strconv.Quote(s)
	}
	return out
}
