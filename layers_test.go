package ferry_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// allowedImports is the import policy of style.md: for each Ferry package,
// the Ferry packages it may import. Any package may import internal/...,
// and internal packages may import no layer package.
var allowedImports = map[string][]string{
	"transport": {},
	"polling":   {"transport"},
	"websocket": {"transport"},
	"session":   {"transport", "polling", "websocket"},
	"parser":    {},
	"":          {"session", "parser", "transport"},
	"client":    {"transport", "polling", "websocket", "parser"},
}

const module = "github.com/ferryio/ferry"

func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var pkg struct {
			ImportPath string
			Imports    []string
		}
		require.NoError(t, dec.Decode(&pkg))
		name := strings.TrimPrefix(strings.TrimPrefix(pkg.ImportPath, module), "/")
		isInternal := strings.HasPrefix(name, "internal/")
		allowed, known := allowedImports[name]
		if !known && !isInternal && !strings.Contains(name, "/") {
			t.Errorf("package %q is not in the layer policy: add it to allowedImports", pkg.ImportPath)
			continue
		}
		seen++
		for _, imp := range pkg.Imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				if imp == module {
					t.Errorf("%s imports the root package %s", pkg.ImportPath, imp)
				}
				continue
			}
			if strings.HasPrefix(dep, "internal/") {
				continue // any package may use internal helpers
			}
			if isInternal {
				t.Errorf("%s (internal) imports layer package %s", pkg.ImportPath, imp)
				continue
			}
			layer := name
			if i := strings.Index(layer, "/"); i >= 0 {
				layer = layer[:i] // sub-packages such as transport/transporttest follow their layer
				allowed = append(slices.Clone(allowedImports[layer]), layer)
			}
			if !slices.Contains(allowed, strings.Split(dep, "/")[0]) {
				t.Errorf("%s imports %s, which its layer may not", pkg.ImportPath, imp)
			}
		}
	}
	require.NotZero(t, seen)
}
