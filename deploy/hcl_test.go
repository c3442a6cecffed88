package deploy

// A small reader for the Terraform in terraform/: it parses every .tf file
// with HCL and evaluates expressions the way Terraform would at plan time,
// as far as the configuration alone decides them. Variables take their
// defaults, locals are computed, and everything that only exists after
// apply (resources, data sources, module outputs) is unknown. A value the
// tests compare is therefore known only if the configuration alone fixes
// it, which is what a default must do.

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// tfModule is one directory of .tf files: a module or an example.
type tfModule struct {
	dir     string // under terraform/, e.g. "modules/queue"
	abs     string
	files   []string
	bodies  []*hclsyntax.Body
	vars    map[string]*hclsyntax.Block
	outputs map[string]*hclsyntax.Block
	locals  map[string]*hclsyntax.Attribute
	ctx     *hcl.EvalContext
}

var (
	modulesOnce sync.Once
	modulesAll  map[string]*tfModule
	modulesErr  error
)

// tfModules parses every directory under terraform/ that has .tf files.
func tfModules(t *testing.T) map[string]*tfModule {
	t.Helper()
	modulesOnce.Do(func() { modulesAll, modulesErr = loadModules("terraform") })
	if modulesErr != nil {
		t.Fatal(modulesErr)
	}
	return modulesAll
}

// tfModuleAt returns the module in dir (e.g. "modules/queue").
func tfModuleAt(t *testing.T, dir string) *tfModule {
	t.Helper()
	m := tfModules(t)[dir]
	if m == nil {
		t.Fatalf("no Terraform in terraform/%s", dir)
	}
	return m
}

func loadModules(root string) (map[string]*tfModule, error) {
	byDir := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".tf") {
			byDir[filepath.Dir(p)] = append(byDir[filepath.Dir(p)], p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	parser := hclparse.NewParser()
	mods := map[string]*tfModule{}
	for dir, files := range byDir {
		rel, _ := filepath.Rel(root, dir)
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		m := &tfModule{
			dir: filepath.ToSlash(rel), abs: abs, files: files,
			vars: map[string]*hclsyntax.Block{}, outputs: map[string]*hclsyntax.Block{}, locals: map[string]*hclsyntax.Attribute{},
		}
		sort.Strings(files)
		for _, f := range files {
			file, diags := parser.ParseHCLFile(f)
			if diags.HasErrors() {
				return nil, fmt.Errorf("%s: %s", f, diags.Error())
			}
			body := file.Body.(*hclsyntax.Body)
			m.bodies = append(m.bodies, body)
			for _, b := range body.Blocks {
				switch b.Type {
				case "variable":
					m.vars[b.Labels[0]] = b
				case "output":
					m.outputs[b.Labels[0]] = b
				case "locals":
					for name, a := range b.Body.Attributes {
						if m.locals[name] != nil {
							return nil, fmt.Errorf("%s: local.%s defined twice", dir, name)
						}
						m.locals[name] = a
					}
				}
			}
		}
		ctx, err := m.evalContext(nil)
		if err != nil {
			return nil, err
		}
		m.ctx = ctx
		mods[m.dir] = m
	}
	return mods, nil
}

// blocks returns the top-level blocks of type typ whose labels start with
// labels.
func (m *tfModule) blocks(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, body := range m.bodies {
		for _, b := range body.Blocks {
			if b.Type == typ && len(b.Labels) >= len(labels) && slices.Equal(b.Labels[:len(labels)], labels) {
				out = append(out, b)
			}
		}
	}
	return out
}

// block returns the one top-level block with exactly these labels.
func (m *tfModule) block(t *testing.T, typ string, labels ...string) *hclsyntax.Block {
	t.Helper()
	bs := m.blocks(typ, labels...)
	if len(bs) != 1 {
		t.Fatalf("%s: want one %s %q, found %d", m.dir, typ, labels, len(bs))
	}
	return bs[0]
}

// nested returns the bodies of the child blocks of type typ, including the
// content of `dynamic "typ"` blocks.
func nested(body *hclsyntax.Body, typ string) []*hclsyntax.Body {
	var out []*hclsyntax.Body
	for _, b := range body.Blocks {
		switch {
		case b.Type == typ:
			out = append(out, b.Body)
		case b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == typ:
			for _, c := range b.Body.Blocks {
				if c.Type == "content" {
					out = append(out, c.Body)
				}
			}
		}
	}
	return out
}

// defaultOf is a variable's default; cty.NilVal when it has none (required).
func (m *tfModule) defaultOf(name string) (cty.Value, error) {
	b := m.vars[name]
	if b == nil {
		return cty.NilVal, fmt.Errorf("%s: no variable %q", m.dir, name)
	}
	a := b.Body.Attributes["default"]
	if a == nil {
		return cty.NilVal, nil
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s: default of var.%s: %s", m.dir, name, diags.Error())
	}
	return v, nil
}

// evalContext builds the context expressions are evaluated in, with the
// given variables overriding their defaults.
func (m *tfModule) evalContext(override map[string]cty.Value) (*hcl.EvalContext, error) {
	vars := map[string]cty.Value{}
	for name := range m.vars {
		v, err := m.defaultOf(name)
		if err != nil {
			return nil, err
		}
		if v == cty.NilVal {
			v = cty.DynamicVal
		}
		vars[name] = v
	}
	for name, v := range override {
		vars[name] = v
	}
	variables := map[string]cty.Value{
		"var":  cty.ObjectVal(vars),
		"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(m.abs), "root": cty.StringVal(m.abs), "cwd": cty.StringVal(m.abs)}),
	}
	// Resources, data sources, modules, count/each and iterators: unknown.
	for _, tr := range m.traversals() {
		if _, ok := variables[tr.RootName()]; !ok && tr.RootName() != "local" {
			variables[tr.RootName()] = cty.DynamicVal
		}
	}
	ctx := &hcl.EvalContext{Variables: variables, Functions: functions()}
	// Locals may use each other: evaluate until nothing changes.
	locals := map[string]cty.Value{}
	for name := range m.locals {
		locals[name] = cty.DynamicVal
	}
	for range len(m.locals) + 1 {
		ctx.Variables["local"] = cty.ObjectVal(locals)
		changed := false
		for name, a := range m.locals {
			v, diags := a.Expr.Value(ctx)
			if diags.HasErrors() {
				continue
			}
			if !v.RawEquals(locals[name]) {
				locals[name], changed = v, true
			}
		}
		if !changed {
			break
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(locals)
	return ctx, nil
}

// eval evaluates expr in the module's context; errors leave it unknown.
func (m *tfModule) eval(expr hcl.Expression) cty.Value {
	v, diags := expr.Value(m.ctx)
	if diags.HasErrors() {
		return cty.DynamicVal
	}
	return v
}

// evalWith evaluates expr with some variables set.
func (m *tfModule) evalWith(t *testing.T, expr hcl.Expression, vars map[string]cty.Value) cty.Value {
	t.Helper()
	ctx, err := m.evalContext(vars)
	if err != nil {
		t.Fatal(err)
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", m.dir, diags.Error())
	}
	return v
}

// attr evaluates the attribute name of body; it fails the test when the
// attribute is missing.
func (m *tfModule) attr(t *testing.T, body *hclsyntax.Body, name string) cty.Value {
	t.Helper()
	a := body.Attributes[name]
	if a == nil {
		t.Fatalf("%s: %s: no attribute %q", m.dir, body.SrcRange, name)
	}
	return m.eval(a.Expr)
}

// traversals returns every variable reference in the module, once.
func (m *tfModule) traversals() []hcl.Traversal {
	var out []hcl.Traversal
	seen := map[hcl.Range]bool{}
	for _, body := range m.bodies {
		hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			if e, ok := n.(hclsyntax.Expression); ok {
				for _, tr := range e.Variables() {
					if !seen[tr.SourceRange()] {
						seen[tr.SourceRange()] = true
						out = append(out, tr)
					}
				}
			}
			return nil
		})
	}
	return out
}

// references reports whether expr refers to root.name (e.g. "var",
// "queue_arn").
func references(expr hcl.Expression, root, name string) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() == root && len(tr) > 1 {
			if a, ok := tr[1].(hcl.TraverseAttr); ok && a.Name == name {
				return true
			}
		}
	}
	return false
}

// unknown stands for a value that is not known before apply.
type unknown struct{}

func (unknown) String() string { return "(known after apply)" }

// goValue converts v into strings, float64s, bools, []any and
// map[string]any, with unknown{} for unknown parts and nil for null.
func goValue(v cty.Value) any {
	switch {
	case !v.IsKnown():
		return unknown{}
	case v.IsNull():
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case ty == cty.Bool:
		return v.True()
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, goValue(e))
		}
		return out
	case ty.IsMapType() || ty.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = goValue(e)
		}
		return out
	}
	return unknown{}
}

// strs returns v as strings, failing the test unless it is a known list of
// known strings.
func strs(t *testing.T, what string, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: want a known list of strings, got %v", what, v)
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			t.Fatalf("%s: want known strings, got %v", what, v)
		}
		out = append(out, s)
	}
	return out
}

// functions are the Terraform functions the configuration uses, as far as
// the HCL libraries provide them, plus file and templatefile.
func functions() map[string]function.Function {
	fns := map[string]function.Function{
		"alltrue":      allTrueFunc,
		"base64encode": base64EncodeFunc,
		"can":          tryfunc.CanFunc,
		"coalesce":     stdlib.CoalesceFunc,
		"concat":       stdlib.ConcatFunc,
		"contains":     stdlib.ContainsFunc,
		"distinct":     stdlib.DistinctFunc,
		"element":      stdlib.ElementFunc,
		"endswith":     endsWithFunc,
		"file":         fileFunc,
		"floor":        stdlib.FloorFunc,
		"format":       stdlib.FormatFunc,
		"join":         stdlib.JoinFunc,
		"jsonencode":   stdlib.JSONEncodeFunc,
		"keys":         stdlib.KeysFunc,
		"length":       lengthFunc,
		"lower":        stdlib.LowerFunc,
		"merge":        stdlib.MergeFunc,
		"one":          oneFunc,
		"range":        stdlib.RangeFunc,
		"regex":        stdlib.RegexFunc,
		"replace":      replaceFunc,
		"sort":         stdlib.SortFunc,
		"split":        stdlib.SplitFunc,
		"startswith":   startsWithFunc,
		"strcontains":  strContainsFunc,
		"substr":       stdlib.SubstrFunc,
		"tostring":     stdlib.MakeToFunc(cty.String),
		"toset":        stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"trimprefix":   stdlib.TrimPrefixFunc,
		"try":          tryfunc.TryFunc,
		"upper":        stdlib.UpperFunc,
		"values":       stdlib.ValuesFunc,
	}
	fns["templatefile"] = templateFileFunc(fns)
	return fns
}

var fileFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "path", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		b, err := os.ReadFile(args[0].AsString())
		if err != nil {
			return cty.NilVal, err
		}
		return cty.StringVal(string(b)), nil
	},
})

var allTrueFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		result := cty.True
		for it := args[0].ElementIterator(); it.Next(); {
			_, v := it.Element()
			if !v.IsKnown() {
				return cty.UnknownVal(cty.Bool), nil
			}
			if v.IsNull() || v.False() {
				return cty.False, nil
			}
		}
		return result, nil
	},
})

// lengthFunc is Terraform's length: of a collection, or of a string in
// characters (go-cty's LengthFunc takes collections only).
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if args[0].Type() == cty.String {
			return stdlib.Strlen(args[0])
		}
		return stdlib.Length(args[0])
	},
})

var oneFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.DynamicPseudoType),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		l := args[0]
		if !l.IsKnown() {
			return cty.DynamicVal, nil
		}
		switch n := l.LengthInt(); n {
		case 0:
			return cty.NullVal(cty.DynamicPseudoType), nil
		case 1:
			return l.Index(cty.NumberIntVal(0)), nil
		default:
			return cty.NilVal, fmt.Errorf("one: %d elements", n)
		}
	},
})

var base64EncodeFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(args[0].AsString()))), nil
	},
})

var startsWithFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "prefix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(strings.HasPrefix(args[0].AsString(), args[1].AsString())), nil
	},
})

var strContainsFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "substr", Type: cty.String}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(strings.Contains(args[0].AsString(), args[1].AsString())), nil
	},
})

// replaceFunc is Terraform's replace: a substring, or a regular expression
// when the pattern is wrapped in slashes.
var replaceFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "substr", Type: cty.String}, {Name: "replace", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		pat := args[1].AsString()
		if len(pat) > 1 && strings.HasPrefix(pat, "/") && strings.HasSuffix(pat, "/") {
			return stdlib.RegexReplace(args[0], cty.StringVal(pat[1:len(pat)-1]), args[2])
		}
		return stdlib.Replace(args[0], args[1], args[2])
	},
})

var endsWithFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "suffix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(strings.HasSuffix(args[0].AsString(), args[1].AsString())), nil
	},
})

func templateFileFunc(fns map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}, {Name: "vars", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			tmpl, err := parseTemplate(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			if !args[1].IsWhollyKnown() {
				return cty.UnknownVal(cty.String), nil
			}
			v, diags := tmpl.Value(&hcl.EvalContext{Variables: args[1].AsValueMap(), Functions: fns})
			if diags.HasErrors() {
				return cty.NilVal, diags
			}
			return v, nil
		},
	})
}

func parseTemplate(path string) (hclsyntax.Expression, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	expr, diags := hclsyntax.ParseTemplate(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	return expr, nil
}

// number converts a known number to float64.
func number(v cty.Value) (float64, bool) {
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Number {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	return f, true
}

// TestTerraformExpressions evaluates every attribute of every block the
// way Terraform would before apply: a type mismatch, a wrong attribute of
// a known object, a bad function call or a local that cannot be computed
// shows up here, without the provider.
func TestTerraformExpressions(t *testing.T) {
	for dir, m := range tfModules(t) {
		var walk func(body *hclsyntax.Body, block string)
		walk = func(body *hclsyntax.Body, block string) {
			for name, a := range body.Attributes {
				if block == "variable" && name == "type" {
					continue // a type constraint, not a value
				}
				if _, diags := a.Expr.Value(m.ctx); diags.HasErrors() {
					t.Errorf("terraform/%s: %s", dir, diags.Error())
				}
			}
			for _, b := range body.Blocks {
				walk(b.Body, b.Type)
			}
		}
		for _, body := range m.bodies {
			walk(body, "")
		}
	}
}
