package main

import (
	"slices"
	"testing"
)

func TestRewriteRules(t *testing.T) {
	tests := []struct {
		name, path, in, want string
		rules                []string // the rules that fire
	}{
		// Module path.
		{"go.mod", "go.mod",
			"module github.com/hexchi/starter\n\ngo 1.26.0\n",
			"module example.com/yourservice\n\ngo 1.26.0\n", []string{"module path"}},
		{"bench go.mod", "bench/go.mod",
			"module github.com/hexchi/starter/bench\n\nreplace github.com/hexchi/starter => ../\n\nrequire (\n\tgithub.com/go-chi/chi/v5 v5.5.0\n\tgithub.com/hexchi/starter v0.0.0-00010101000000-000000000000\n)\n",
			"module example.com/yourservice/bench\n\nreplace example.com/yourservice => ../\n\nrequire (\n\tgithub.com/go-chi/chi/v5 v5.5.0\n\texample.com/yourservice v0.0.0-00010101000000-000000000000\n)\n",
			[]string{"module path"}},
		{"quoted module line", "go.mod", "module \"github.com/hexchi/starter\"\n", "module \"example.com/yourservice\"\n", []string{"module path"}},
		{"import", "x.go", "import \"github.com/hexchi/starter/internal/app\"\n", "import \"example.com/yourservice/internal/app\"\n", []string{"module path"}},
		{"string literal", "x.go", "var m = []string{\n\t\"github.com/hexchi/starter\",\n}\n", "var m = []string{\n\t\"example.com/yourservice\",\n}\n", []string{"module path"}},
		{"version", "a.md", "github.com/hexchi/starter@v1.2.3", "example.com/yourservice@v1.2.3", []string{"module path"}},
		{"end of sentence", "a.md", "see github.com/hexchi/starter.\n", "see example.com/yourservice.\n", []string{"module path"}},
		{"golangci local-prefixes", ".golangci.yml",
			"    goimports:\n      local-prefixes:\n        - github.com/hexchi/starter\n",
			"    goimports:\n      local-prefixes:\n        - example.com/yourservice\n", []string{"module path"}},
		{"longer name", "x.go", `"github.com/hexchi/starterkit/x"`, `"github.com/hexchi/starterkit/x"`, nil},
		{"longer name with dash", "x.go", `"github.com/hexchi/starter-kit"`, `"github.com/hexchi/starter-kit"`, nil},
		{"dotted continuation", "a.md", "github.com/hexchi/starter.git", "github.com/hexchi/starter.git", nil},
		{"longer host", "x.go", `"mygithub.com/hexchi/starter"`, `"mygithub.com/hexchi/starter"`, nil},
		{"gonew line keeps the template", "README.md",
			"go run golang.org/x/tools/cmd/gonew@latest github.com/hexchi/starter example.com/yourservice\ncd github.com/hexchi/starter\n",
			"go run golang.org/x/tools/cmd/gonew@latest github.com/hexchi/starter example.com/yourservice\ncd example.com/yourservice\n",
			[]string{"module path"}},

		// Redis key prefix.
		{"yaml keyPrefix", "config/config.yaml",
			"    keyPrefix: \"hexchi:\" # every session key starts with it\n",
			"    keyPrefix: \"yourservice:\" # every session key starts with it\n", []string{"Redis key prefix"}},
		{"Go default", "store.go", `const DefaultKeyPrefix = "hexchi:"`, `const DefaultKeyPrefix = "yourservice:"`, []string{"Redis key prefix"}},
		{"README table", "README.md", "| `CORE_REDIS_KEY_PREFIX` | `hexchi:` |", "| `CORE_REDIS_KEY_PREFIX` | `yourservice:` |", []string{"Redis key prefix"}},
		{"key", "doc.go", "//\tHGETALL hexchi:s:<handle>", "//\tHGETALL yourservice:s:<handle>", []string{"Redis key prefix"}},
		{"ACL", "store.go", `an ACL such as "~hexchi:*"`, `an ACL such as "~yourservice:*"`, []string{"Redis key prefix"}},
		{"test prefix", "redis_test.go", `fmt.Sprintf("hexchi-test:%s:", x)`, `fmt.Sprintf("yourservice-test:%s:", x)`, []string{"Redis key prefix"}},
		{"prose colon", "a.md", "(hexchi: setting it authenticates", "(hexchi: setting it authenticates", nil},
		{"prose colon at line end", "a.md", "a load on hexchi:\nnext", "a load on hexchi:\nnext", nil},
		{"longer name prefix", "a.go", `"myhexchi:" "foo-hexchi:x"`, `"myhexchi:" "foo-hexchi:x"`, nil},

		// Docker image names.
		{"tagged image", "Taskfile.yml", "      - scripts/build-redis-image.sh hexchi/redis:local\n", "      - scripts/build-redis-image.sh yourservice/redis:local\n", []string{"Docker image name"}},
		{"env image", "README.md", "TEST_REDIS_IMAGE=hexchi/redis:local go test", "TEST_REDIS_IMAGE=yourservice/redis:local go test", []string{"Docker image name"}},
		{"shell default", "x.sh", "tag=${1:-hexchi/app:local}", "tag=${1:-yourservice/app:local}", []string{"Docker image name"}},
		{"quoted repository", "image_test.go", `const appImageRepo = "hexchi/app"`, `const appImageRepo = "yourservice/app"`, []string{"Docker image name"}},
		{"test network", "image_test.go", `createTestNetwork(t, pool, "hexchi-image-test-"+suffix)`, `createTestNetwork(t, pool, "yourservice-image-test-"+suffix)`, []string{"Docker image name"}},
		{"docker build and run", "README.md",
			"docker build -t hexchi .\ndocker run -p 8080:8080 -e X=y \\\n  -v \"$PWD/secrets:/run/secrets:ro\" hexchi\nhexchi is a template\n",
			"docker build -t yourservice .\ndocker run -p 8080:8080 -e X=y \\\n  -v \"$PWD/secrets:/run/secrets:ro\" yourservice\nhexchi is a template\n",
			[]string{"Docker image name"}},
		{"docker in a Dockerfile comment", "Dockerfile",
			"# The hexchi container image\n#   docker build --tag=hexchi .\n#   docker run --rm hexchi -print-config\n",
			"# The hexchi container image\n#   docker build --tag=yourservice .\n#   docker run --rm yourservice -print-config\n",
			[]string{"Docker image name"}},
		{"docker push", "a.md", "docker push hexchi/app\n", "docker push yourservice/app\n", []string{"Docker image name"}},
		{"docker in Markdown code", "README.md",
			"hexchi's image: `docker build -t hexchi .` builds hexchi for hexchi users\n",
			"hexchi's image: `docker build -t yourservice .` builds hexchi for hexchi users\n",
			[]string{"Docker image name"}},
		{"prose slash", "main.go", `"interleaved hexchi/scs load runs"`, `"interleaved hexchi/scs load runs"`, nil},
		{"module path is no image", "README.md", "gonew github.com/hexchi/starter x", "gonew github.com/hexchi/starter x", nil},

		// README title.
		{"README title", "README.md", "# hexchi\n\nhexchi is a Go reference application\n\n# hexchi again\n",
			"# yourservice\n\nhexchi is a Go reference application\n\n# hexchi again\n", []string{"README title"}},
		{"README first heading only", "README.md", "intro\n# Other\n# hexchi\n", "intro\n# Other\n# hexchi\n", nil},
		{"not the root README", "bench/README.md", "# hexchi\n", "# hexchi\n", nil},
		{"README title longer name", "README.md", "# hexchikit\n", "# hexchikit\n", nil},

		// Left alone.
		{"demo password", "config/dev/config.yaml", `loginHint: "Demo user: demo, password hexchi-demo."`, `loginHint: "Demo user: demo, password hexchi-demo."`, nil},
		{"flash salt", "flash.go", `const flashKeySalt = "hexchi session flash cookie v1"`, `const flashKeySalt = "hexchi session flash cookie v1"`, nil},
		{"brand", "layout.html", `<a class="brand" href="/">hexchi</a>`, `<a class="brand" href="/">hexchi</a>`, nil},
		{"user agent", "helpers_test.go", `"hexchi-test/1.0"`, `"hexchi-test/1.0"`, nil},

		// Everything in one file.
		{"README", "README.md",
			"# hexchi\n\n| `hexchi:` |\n\ndocker build -t hexchi .\n\nsee github.com/hexchi/starter/bench\n",
			"# yourservice\n\n| `yourservice:` |\n\ndocker build -t yourservice .\n\nsee example.com/yourservice/bench\n",
			[]string{"module path", "Redis key prefix", "Docker image name", "README title"}},
	}
	rs := rules("example.com/yourservice", "yourservice")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, fired := rewriteFile(tt.path, []byte(tt.in), rs)
			if string(got) != tt.want {
				t.Errorf("rewrite %s:\n%s\ngot:\n%s\nwant:\n%s", tt.path, tt.in, got, tt.want)
			}
			if !slices.Equal(fired, tt.rules) {
				t.Errorf("rules fired: %q, want %q", fired, tt.rules)
			}
		})
	}
}

// TestRewriteGoSortsImports: a renamed import moves to its sorted place, so
// that the copy stays gofmt-clean; a file that was not gofmt-clean is only
// renamed.
func TestRewriteGoSortsImports(t *testing.T) {
	rs := rules("example.com/yourservice", "yourservice")
	in := "package x\n\nimport (\n\t\"github.com/go-chi/chi/v5\"\n\t\"github.com/hexchi/starter/api\"\n)\n"
	want := "package x\n\nimport (\n\t\"example.com/yourservice/api\"\n\t\"github.com/go-chi/chi/v5\"\n)\n"
	if got, _ := rewriteFile("x.go", []byte(in), rs); string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	unformatted := "package x\nimport (\n\"github.com/go-chi/chi/v5\"\n\"github.com/hexchi/starter/api\"\n)\n"
	want = "package x\nimport (\n\"github.com/go-chi/chi/v5\"\n\"example.com/yourservice/api\"\n)\n"
	if got, _ := rewriteFile("x.go", []byte(unformatted), rs); string(got) != want {
		t.Errorf("unformatted file: got:\n%s\nwant:\n%s", got, want)
	}

	broken := "package x\nimport \"github.com/hexchi/starter/api\"\nfunc {\n"
	want = "package x\nimport \"example.com/yourservice/api\"\nfunc {\n"
	if got, _ := rewriteFile("x.go", []byte(broken), rs); string(got) != want {
		t.Errorf("file that does not parse: got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRewriteBinaryUntouched(t *testing.T) {
	in := []byte("\x89PNG\x00github.com/hexchi/starter hexchi:")
	got, fired := rewriteFile("logo.png", in, rules("example.com/yourservice", "yourservice"))
	if string(got) != string(in) || fired != nil {
		t.Errorf("binary file rewritten: %q, rules %q", got, fired)
	}
}
