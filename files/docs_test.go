package files

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// README.md is the front door: what medqa is, the two commands, the picture, the tables and an
// index of docs/. Everything else belongs in docs/, so the README has a size limit.
const readmeMaxLines = 250

func TestReadmeIsShort(t *testing.T) {
	lines := mdLines(t, filepath.Join(RepoRoot(t), "README.md"))
	if len(lines) > readmeMaxLines {
		t.Errorf("README.md has %d lines; keep it at most %d and move the rest into docs/", len(lines), readmeMaxLines)
	}
}

// Every relative link of README.md and docs/*.md must reach an existing file and, when it names
// an anchor in a Markdown file, an existing heading there (as GitHub spells heading anchors).
func TestDocLinks(t *testing.T) {
	root := RepoRoot(t)
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{filepath.Join(root, "README.md")}, pages...)
	if len(pages) < 2 {
		t.Fatal("no docs/*.md pages")
	}
	anchors := map[string]map[string]bool{} // Markdown file → its heading anchors
	anchorsOf := func(path string) map[string]bool {
		if _, ok := anchors[path]; !ok {
			anchors[path] = headingAnchors(t, path)
		}
		return anchors[path]
	}
	checked := 0
	for _, page := range pages {
		rel, _ := filepath.Rel(root, page)
		for n, line := range mdLines(t, page) {
			for _, target := range links(line) {
				checked++
				where := fmt.Sprintf("%s:%d: link %q", rel, n+1, target)
				if err := checkLink(page, target, anchorsOf); err != nil {
					t.Errorf("%s: %v", where, err)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no links at all: the link scanner is broken")
	}
}

// checkLink resolves target relative to page.
func checkLink(page, target string, anchorsOf func(string) map[string]bool) error {
	if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return nil // not a relative link
	}
	file, anchor, _ := strings.Cut(target, "#")
	path := page
	if file != "" {
		if strings.HasPrefix(file, "/") {
			return fmt.Errorf("absolute path; use a path relative to the page")
		}
		path = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no such file or directory %s", path)
		}
	}
	if anchor == "" || !strings.HasSuffix(path, ".md") {
		return nil
	}
	if !anchorsOf(path)[anchor] {
		return fmt.Errorf("no heading with anchor #%s in %s", anchor, filepath.Base(path))
	}
	return nil
}

// mdLines reads a Markdown file with the contents of fenced code blocks blanked out, so that
// neither links nor "# comment" lines inside code count.
func mdLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	fence := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:3]
			line = ""
		case fence != "":
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			line = ""
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

var (
	codeSpan = regexp.MustCompile("`[^`]*`")
	mdLink   = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	heading  = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	linkText = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// links are the targets of the inline links and images on a line, outside code spans.
func links(line string) []string {
	var out []string
	for _, m := range mdLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
		out = append(out, m[1])
	}
	return out
}

// headingAnchors are the anchors GitHub gives the headings of a Markdown file: the text
// lowercased, punctuation dropped, spaces turned into hyphens, and -1, -2, ... on repeats.
func headingAnchors(t *testing.T, path string) map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, line := range mdLines(t, path) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		a := slug(m[1])
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func slug(text string) string {
	text = linkText.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"BLEU flavours: evaluate's `bleu` (nmt) vs sacreBLEU":   "bleu-flavours-evaluates-bleu-nmt-vs-sacrebleu",
		"Pointing medqa at Qwen2.5-0.5B":                        "pointing-medqa-at-qwen25-05b",
		"Format (format_version 1)":                             "format-format_version-1",
		"Long tests and `-short`":                               "long-tests-and--short",
		"The browser module (`wasm/cmd/medqa-wasm`)":            "the-browser-module-wasmcmdmedqa-wasm",
		"See [the guide](x.md) — fast":                          "see-the-guide--fast",
		"Cleaning (every drop counted by reason)":               "cleaning-every-drop-counted-by-reason",
		"`trainer export`: GGUF for llama.cpp and Ollama":       "trainer-export-gguf-for-llamacpp-and-ollama",
		"Split: stratified by qtype, leak-free, reproducible":   "split-stratified-by-qtype-leak-free-reproducible",
		"Rebuilding it: `make default-model`":                   "rebuilding-it-make-default-model",
		"Chat websocket: `GET /ws/chat`":                        "chat-websocket-get-wschat",
		"Adapters in the PEFT layout":                           "adapters-in-the-peft-layout",
		"Qwen2 decode and prefill":                              "qwen2-decode-and-prefill",
		"Measurements behind the choices (2-core machine, λ≤1)": "measurements-behind-the-choices-2-core-machine-λ1",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}
