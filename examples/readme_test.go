// Package examples holds no code: its test compiles the complete programs
// shown in the repository's README.md, so that they cannot fall behind the
// library.
package examples

import (
	"encoding/json"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goBlock matches a fenced Go code block of a Markdown file.
var goBlock = regexp.MustCompile("(?ms)^```go\n(.*?)^```\n")

// TestREADMEProgramsBuild builds each Go block of README.md that is a
// whole program (it starts with a package clause) inside this module, as
// if it were a package of its own, and checks that it is gofmt-clean. It
// also checks that the Quick start's server sets ReadHeaderTimeout.
func TestREADMEProgramsBuild(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command builds the README's programs")
	here, err := os.Getwd()
	require.NoError(t, err)

	var programs []string
	for _, m := range goBlock.FindAllStringSubmatch(string(readme), -1) {
		if strings.HasPrefix(m[1], "package ") {
			programs = append(programs, m[1])
		}
	}
	require.GreaterOrEqual(t, len(programs), 2, "the Quick start server and the Go client")
	assert.Contains(t, programs[0], "ReadHeaderTimeout:", "the Quick start's server bounds slow request headers")
	assert.NotContains(t, strings.Join(programs, "\n"), "http.ListenAndServe(", "a server without timeouts")

	for i, src := range programs {
		t.Run("program"+strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			formatted, err := format.Source([]byte(src))
			require.NoError(t, err)
			assert.Equal(t, string(formatted), src, "README program %d is not gofmt-clean", i)

			// An overlay puts the program in a package of this module that
			// exists only for the build, so it builds against the library in
			// the parent folder with this module's go.sum.
			dir := t.TempDir()
			file := filepath.Join(dir, "main.go")
			require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
			virtual := filepath.Join(here, "readme", "program"+strconv.Itoa(i))
			overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(virtual, "main.go"): file}})
			require.NoError(t, err)
			overlayFile := filepath.Join(dir, "overlay.json")
			require.NoError(t, os.WriteFile(overlayFile, overlay, 0o644))

			cmd := exec.Command(goTool, "build", "-overlay", overlayFile, "-o", filepath.Join(dir, "program"), "./readme/program"+strconv.Itoa(i))
			cmd.Dir = here
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "README program %d does not build:\n%s", i, out)
		})
	}
}
