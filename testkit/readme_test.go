package testkit_test

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the repository root, seen from this package's folder.
const repoRoot = ".."

// readmeLimit is the most README.md may weigh: a newcomer reads it in five minutes.
const readmeLimit = 10 << 10

// layoutRow is one row of the README's layout table.
type layoutRow struct{ path, kind string }

var layoutCell = regexp.MustCompile("^`([^`]+)`$")

// layoutRows reads the table under the README's "## Layout" heading.
func layoutRows(t *testing.T, readme string) []layoutRow {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []layoutRow
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 3 {
			continue
		}
		m := layoutCell.FindStringSubmatch(strings.TrimSpace(cells[0]))
		if m == nil {
			continue // the header and its rule
		}
		rows = append(rows, layoutRow{path: m[1], kind: strings.TrimSpace(cells[1])})
	}
	if len(rows) == 0 {
		t.Fatal("the README's layout table has no rows")
	}
	return rows
}

// matches reports whether dir is what the row names; a segment in angle brackets
// (functions/<action>) stands for any one folder.
func (r layoutRow) matches(dir string) bool {
	ok, _ := path.Match(r.glob(), dir)
	return ok
}

// glob is the row's path with each segment in angle brackets as a *.
func (r layoutRow) glob() string { return placeholder.ReplaceAllString(r.path, "*") }

var placeholder = regexp.MustCompile(`<[^>]+>`)

// packageDirs lists the folders of the module's packages, relative to the root.
func packageDirs(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.Dir}}", "./...")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, d := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.ToSlash(rel))
	}
	return dirs
}

// TestReadmeLayoutMatchesTree holds the README's layout table to the tree: every row names
// something that exists and says truly whether it ships (shared/ and functions/ do, testkit/ and
// cmd/ do not); every package under shared/, testkit/, functions/ and cmd/ has a row, where a
// package two or more folders down (cmd/localapi/internal/gateway) may be covered by a row of
// a folder above it.
func TestReadmeLayoutMatchesTree(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := layoutRows(t, string(readme))
	for _, r := range rows {
		matched, err := filepath.Glob(filepath.Join(repoRoot, r.glob()))
		if err != nil || len(matched) == 0 {
			t.Errorf("layout row %s: nothing of that name in the tree", r.path)
		}
		want := ""
		switch top, _, _ := strings.Cut(r.path, "/"); top {
		case "shared", "functions":
			want = "product"
		case "testkit", "cmd":
			want = "harness"
		}
		if want != "" && r.kind != want {
			t.Errorf("layout row %s says %q, want %q", r.path, r.kind, want)
		}
	}
	checked := 0
	for _, dir := range packageDirs(t) {
		top, rest, _ := strings.Cut(dir, "/")
		switch top {
		case "shared", "functions", "testkit", "cmd":
		default:
			continue
		}
		checked++
		covered := false
		for _, r := range rows {
			nested := strings.Contains(rest, "/") && strings.HasPrefix(dir, r.path+"/")
			if r.matches(dir) || nested {
				covered = true
				break
			}
		}
		if !covered {
			t.Errorf("package %s has no row in the README's layout table", dir)
		}
	}
	if checked == 0 {
		t.Error("go list named no package under shared/, testkit/, functions/ or cmd/")
	}
}

func TestReadmeIsShort(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(readme) > readmeLimit {
		t.Errorf("README.md is %d bytes, want at most %d: move detail into docs/", len(readme), readmeLimit)
	}
	head := strings.Join(strings.SplitN(string(readme), "\n", 8)[:7], "\n")
	for _, cmd := range []string{"make run", "make test"} {
		if !strings.Contains(head, cmd) {
			t.Errorf("README.md does not begin with %q", cmd)
		}
	}
}

// mdLink finds the target of an inline Markdown link or image: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinksResolve follows every relative link of README.md and docs/*.md: the file or
// folder it names exists, and an #anchor names a heading of the Markdown file it points into.
func TestDocLinksResolve(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{filepath.Join(repoRoot, "README.md")}, docs...)
	links := 0
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(withoutCode(string(text)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			name, anchor, _ := strings.Cut(target, "#")
			dest := file
			if name != "" {
				dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(name))
			}
			if _, err := os.Stat(dest); err != nil {
				t.Errorf("%s: link %s: %v", rel(file), target, err)
				continue
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				t.Errorf("%s: link %s: an anchor into a file that is not Markdown", rel(file), target)
				continue
			}
			heads, err := headingAnchors(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !heads[anchor] {
				t.Errorf("%s: link %s: %s has no heading #%s", rel(file), target, rel(dest), anchor)
			}
		}
	}
	if links == 0 {
		t.Error("found no relative link in README.md and docs/*.md")
	}
}

func TestHeadingAnchors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.md")
	if err := os.WriteFile(file, []byte("# Running it locally\n## Docker users: `sam local start-api`\n```\n# not a heading\n```\n## Keys\n## Keys\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := headingAnchors(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"running-it-locally", "docker-users-sam-local-start-api", "keys", "keys-1"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a line in a code block became a heading")
	}
}

// headingAnchors returns the anchors GitHub gives the headings of a Markdown file: lower case,
// punctuation dropped, spaces as hyphens, a repeated one suffixed -1, -2, ….
func headingAnchors(file string) (map[string]bool, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range strings.Split(withoutCode(string(text)), "\n") {
		title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(title)) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out, nil
}

// withoutCode blanks fenced code blocks, whose lines are neither links nor headings.
func withoutCode(text string) string {
	lines := strings.Split(text, "\n")
	fenced := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			lines[i] = ""
			continue
		}
		if fenced {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

func rel(file string) string {
	r, err := filepath.Rel(repoRoot, file)
	if err != nil {
		return file
	}
	return filepath.ToSlash(r)
}
