// Command installcheck proves that the published jwtguard modules install the
// way a user installs them, before anything is tagged.
//
// It serves the root module and the adapter modules, built from the files git
// tracks, from a file-based module proxy in a temporary directory, then in a
// fresh module (no replace, no go.work, an empty module cache) runs go get for
// all of them at -version, builds, vets and runs a program that mounts a guard
// on net/http, gin, echo v4 and echo v5, and checks with go list -m that every
// jwtguard module came from the proxy at -version. Third-party modules come
// from the usual GOPROXY.
//
// Usage (see the installcheck target of the Makefile):
//
//	cd .ci/installcheck && go run . -repo ../..
//
// It prints one PASS or FAIL line at the end and exits 1 on failure.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

// published lists the modules users install, by directory in the
// repository (slash-separated, "." for the root) and module path. The root
// comes first.
var published = []struct{ dir, path string }{
	{".", "github.com/jwtguard/jwtguard"},
	{"adapters/gin", "github.com/jwtguard/jwtguard/adapters/gin"},
	{"adapters/echo", "github.com/jwtguard/jwtguard/adapters/echo"},
	{"adapters/echov5", "github.com/jwtguard/jwtguard/adapters/echov5"},
	{"redis", "github.com/jwtguard/jwtguard/redis"},
	{"otel", "github.com/jwtguard/jwtguard/otel"},
}

func main() {
	repo := flag.String("repo", "../..", "root of the jwtguard repository (a git checkout)")
	version := flag.String("version", "", "version to publish every module at, e.g. v0.1.0 (default: v + the root package's Version constant)")
	keep := flag.Bool("keep", false, "keep the temporary directory (proxy, module cache, user module) for debugging")
	flag.Parse()

	start := time.Now()
	v, err := check(*repo, *version, *keep)
	elapsed := time.Since(start).Round(100 * time.Millisecond)
	if err != nil {
		fmt.Printf("installcheck: FAIL after %s: %v\n", elapsed, err)
		os.Exit(1)
	}
	fmt.Printf("installcheck: PASS: %d modules at %s install from a module proxy and build, vet and run with net/http, gin, echo v4 and echo v5 (%s)\n",
		len(published), v, elapsed)
}

func check(repo, version string, keep bool) (string, error) {
	repo, err := filepath.Abs(repo)
	if err != nil {
		return "", err
	}
	constant, err := versionConstant(repo)
	if err != nil {
		return "", err
	}
	if version == "" {
		version = "v" + constant
	}
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return version, fmt.Errorf("-version %q is not a canonical semantic version like v0.1.0", version)
	}
	if version != "v"+constant {
		return version, fmt.Errorf("-version is %s but the root package's Version is %q: they must agree (RELEASING.md)", version, constant)
	}

	tmp, err := os.MkdirTemp("", "jwtguard-installcheck-")
	if err != nil {
		return version, err
	}
	if keep {
		fmt.Printf("installcheck: keeping %s\n", tmp)
	} else {
		defer removeAll(tmp)
	}

	proxyDir := filepath.Join(tmp, "proxy")
	step := time.Now()
	if err := buildProxy(repo, version, proxyDir); err != nil {
		return version, err
	}
	fmt.Printf("installcheck: module proxy with %d modules at %s built in %s\n", len(published), version, since(step))

	return version, installAsUser(tmp, proxyDir, version)
}

// versionConstant returns the value of the Version constant in the root
// package's version.go.
func versionConstant(repo string) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repo, "version.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name != "Version" || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					return strconv.Unquote(lit.Value)
				}
			}
		}
	}
	return "", errors.New("version.go declares no Version string constant")
}

// buildProxy writes a GOPROXY=file:// tree for every published module:
// <escaped path>/@v/list, <version>.info, .mod (the module's go.mod as it
// is, replace directives included: Go ignores them in dependencies) and .zip.
func buildProxy(repo, version, proxyDir string) error {
	tracked, err := gitFiles(repo, "--cached")
	if err != nil {
		return err
	}
	untracked, err := gitFiles(repo, "--others", "--exclude-standard")
	if err != nil {
		return err
	}
	if changed, err := output(exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no")); err != nil {
		return fmt.Errorf("git status: %v", err)
	} else if n := strings.Count(changed, "\n"); n > 0 {
		fmt.Printf("installcheck: note: %d tracked file(s) differ from HEAD: the zips hold the working tree, a tag will hold the commit\n", n)
	}
	// Every directory with a go.mod is a module boundary, published or not.
	moduleDirs := map[string]bool{".": true}
	for _, f := range slices.Concat(tracked, untracked) {
		if path.Base(f) == "go.mod" {
			moduleDirs[path.Dir(f)] = true
		}
	}

	rootPath := published[0].path
	for _, m := range published {
		gomod, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(m.dir), "go.mod"))
		if err != nil {
			return err
		}
		mf, err := modfile.Parse(m.dir+"/go.mod", gomod, nil)
		if err != nil {
			return err
		}
		if mf.Module == nil || mf.Module.Mod.Path != m.path {
			return fmt.Errorf("%s/go.mod: module path is not %s", m.dir, m.path)
		}
		if m.path != rootPath {
			// A user's build takes this requirement, not the replace.
			req := requirement(mf, rootPath)
			if req != version {
				return fmt.Errorf("%s/go.mod requires %s %s, want %s: bump it before tagging (RELEASING.md)", m.dir, rootPath, orNone(req), version)
			}
		}

		var files []modzip.File
		for _, f := range tracked {
			if owner(f, moduleDirs) != m.dir {
				continue
			}
			abs := filepath.Join(repo, filepath.FromSlash(f))
			if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) {
				continue // deleted in the working tree: not part of the next commit
			}
			files = append(files, repoFile{rel: relTo(m.dir, f), abs: abs})
		}
		var left []string
		for _, f := range untracked {
			if owner(f, moduleDirs) == m.dir {
				left = append(left, f)
			}
		}
		if len(left) > 0 {
			fmt.Printf("installcheck: note: %d untracked file(s) of %s left out of its zip (git add them if they belong to the release): %s\n",
				len(left), m.path, strings.Join(left[:min(len(left), 5)], ", "))
		}

		if err := writeModule(proxyDir, module.Version{Path: m.path, Version: version}, gomod, files); err != nil {
			return fmt.Errorf("%s: %v", m.path, err)
		}
	}
	return nil
}

func writeModule(proxyDir string, mv module.Version, gomod []byte, files []modzip.File) error {
	escPath, err := module.EscapePath(mv.Path)
	if err != nil {
		return err
	}
	escVersion, err := module.EscapeVersion(mv.Version)
	if err != nil {
		return err
	}
	dir := filepath.Join(proxyDir, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var zipped bytes.Buffer
	// Create leaves out what never belongs in a module zip (files of nested
	// modules, vendor directories, symlinks) and rejects invalid file names
	// and oversized modules, exactly as the real proxy would.
	if err := modzip.Create(&zipped, mv, files); err != nil {
		return fmt.Errorf("zip: %v", err)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{mv.Version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"list":               []byte(mv.Version + "\n"),
		escVersion + ".info": info,
		escVersion + ".mod":  gomod,
		escVersion + ".zip":  zipped.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// installAsUser runs, in a fresh module, what a user runs, and checks the
// outcome.
func installAsUser(tmp, proxyDir, version string) error {
	goenv, err := output(exec.Command("go", "env", "GOPROXY", "GOMODCACHE"))
	if err != nil {
		return err
	}
	goproxy, sharedCache, _ := strings.Cut(strings.TrimSpace(goenv), "\n")
	if goproxy == "" || goproxy == "off" {
		return fmt.Errorf("GOPROXY is %q: third-party modules (gin, echo, jwx) need a proxy or direct", goproxy)
	}
	// Our proxy first, so the jwtguard modules always come from it. Then the
	// download cache of the usual module cache, itself a valid proxy tree:
	// third-party modules already downloaded need no network (and are still
	// checked against go.sum's checksum database). Then the usual GOPROXY.
	proxies := "file://" + filepath.ToSlash(proxyDir)
	if dl := filepath.Join(strings.TrimSpace(sharedCache), "cache", "download"); sharedCache != "" {
		if fi, err := os.Stat(dl); err == nil && fi.IsDir() {
			proxies += ",file://" + filepath.ToSlash(dl)
		}
	}
	proxies += "," + goproxy
	modcache := filepath.Join(tmp, "modcache")
	userDir := filepath.Join(tmp, "user")
	if err := os.MkdirAll(userDir, 0o755); err != nil {
		return err
	}
	// A fresh module cache: otherwise a first run would leave this version of
	// the jwtguard modules in the shared cache, and later runs would build
	// that stale copy instead of the current code.
	env := append(withoutEnv(os.Environ(),
		"GOPROXY", "GOMODCACHE", "GOFLAGS", "GOWORK", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE"),
		"GOPROXY="+proxies,
		"GOMODCACHE="+modcache,
		"GOFLAGS=-mod=mod -modcacherw -trimpath",
		"GOWORK=off",
		"GOPRIVATE=",
		"GONOPROXY=",
		"GONOSUMDB=github.com/jwtguard", // not in the checksum database before it is published
		"GOINSECURE=",
	)
	run := func(name string, args ...string) (string, error) {
		step := time.Now()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = userDir, env
		out, err := output(cmd)
		if err != nil {
			return out, fmt.Errorf("%s: %v", strings.Join(args, " "), err)
		}
		fmt.Printf("installcheck: %s: ok (%s)\n", name, since(step))
		return out, nil
	}

	if _, err := run("go mod init", "go", "mod", "init", "example.com/installcheck"); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(userDir, "main.go"), []byte(userProgram), 0o644); err != nil {
		return err
	}
	get := []string{"go", "get"}
	for _, m := range published {
		get = append(get, m.path+"@"+version)
	}
	if _, err := run("go get (downloads into a fresh module cache)", get...); err != nil {
		return err
	}
	if _, err := run("go mod tidy", "go", "mod", "tidy"); err != nil {
		return err
	}
	if _, err := run("go build", "go", "build", "-o", "app", "."); err != nil {
		return err
	}
	if _, err := run("go vet", "go", "vet", "./..."); err != nil {
		return err
	}
	if _, err := run("run the program", filepath.Join(userDir, "app")); err != nil {
		return err
	}
	list, err := run("go list -m all", "go", "list", "-m", "-json", "all")
	if err != nil {
		return err
	}
	return checkResolved(list, version, modcache)
}

// checkResolved checks that every published module is in the build list at
// version, unreplaced, and extracted into the fresh module cache (so it came
// from the proxy, not from the repository).
func checkResolved(list, version, modcache string) error {
	type mod struct {
		Path, Version, Dir string
		Replace            *struct{ Path, Version string }
	}
	got := map[string]mod{}
	dec := json.NewDecoder(strings.NewReader(list))
	for {
		var m mod
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("go list -m -json all: %v", err)
		}
		got[m.Path] = m
	}
	var problems []string
	for _, p := range published {
		m, ok := got[p.path]
		switch {
		case !ok:
			problems = append(problems, p.path+" is not in the build list")
		case m.Replace != nil:
			problems = append(problems, fmt.Sprintf("%s is replaced by %s %s", p.path, m.Replace.Path, m.Replace.Version))
		case m.Version != version:
			problems = append(problems, fmt.Sprintf("%s resolved to %s, want %s", p.path, m.Version, version))
		case !strings.HasPrefix(m.Dir, modcache+string(filepath.Separator)):
			problems = append(problems, fmt.Sprintf("%s was loaded from %s, not from the fresh module cache", p.path, m.Dir))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	fmt.Printf("installcheck: go list -m all: every jwtguard module at %s, from the proxy, no replace\n", version)
	return nil
}

// repoFile is a file of the working tree, named by its path in the module.
type repoFile struct{ rel, abs string }

func (f repoFile) Path() string                 { return f.rel }
func (f repoFile) Lstat() (fs.FileInfo, error)  { return os.Lstat(f.abs) }
func (f repoFile) Open() (io.ReadCloser, error) { return os.Open(f.abs) }

// gitFiles lists files with git ls-files, relative to repo, slash-separated.
func gitFiles(repo string, args ...string) ([]string, error) {
	out, err := output(exec.Command("git", append([]string{"-C", repo, "ls-files", "-z"}, args...)...))
	if err != nil {
		return nil, fmt.Errorf("git ls-files %s: %v", strings.Join(args, " "), err)
	}
	var files []string
	for f := range strings.SplitSeq(out, "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return files, nil
}

// owner returns the innermost module directory holding file f.
func owner(f string, moduleDirs map[string]bool) string {
	for dir := path.Dir(f); ; dir = path.Dir(dir) {
		if moduleDirs[dir] {
			return dir
		}
		if dir == "." || dir == "/" {
			return "."
		}
	}
}

func relTo(dir, f string) string {
	if dir == "." {
		return f
	}
	return strings.TrimPrefix(f, dir+"/")
}

func requirement(mf *modfile.File, modPath string) string {
	for _, r := range mf.Require {
		if r.Mod.Path == modPath {
			return r.Mod.Version
		}
	}
	return ""
}

func orNone(v string) string {
	if v == "" {
		return "(not at all)"
	}
	return v
}

// output runs cmd and returns its standard output; on failure the error
// carries the end of its combined output.
func output(cmd *exec.Cmd) (string, error) {
	var stdout, both bytes.Buffer
	cmd.Stdout = io.MultiWriter(&stdout, &both)
	cmd.Stderr = &both
	if err := cmd.Run(); err != nil {
		text := strings.TrimSpace(both.String())
		if lines := strings.Split(text, "\n"); len(lines) > 30 {
			text = "…\n" + strings.Join(lines[len(lines)-30:], "\n")
		}
		return stdout.String(), fmt.Errorf("%v\n%s", err, text)
	}
	return stdout.String(), nil
}

func withoutEnv(env []string, keys ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(keys, k)
	})
}

// removeAll removes dir, making read-only module cache files writable first
// if a plain RemoveAll fails.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		fmt.Printf("installcheck: could not remove %s: %v\n", dir, err)
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
