package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/agext/levenshtein"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Command is what a configuration is loaded for: commands share one set of
// keys (and so one file), but not every command needs every key.
type Command int

const (
	// ForRun is `sqsfleet run`: queue.url and the handler keys are required.
	ForRun Command = iota
	// ForScaler is `sqsfleet scaler`: only queue.url is required; handler
	// keys that are set are still checked, as the file is shared.
	ForScaler
)

// Load builds the configuration for cmd from, in increasing precedence:
// defaults, the YAML file named by --config (none if empty), SQSFLEET_*
// environment variables, and the flags on fs (may be nil) the user set. A
// file that cannot be read or parsed is a plain error naming it; all else
// wrong is collected into one *Error.
func Load(fs *pflag.FlagSet, cmd Command) (*Config, error) {
	cfg, err := resolve(fs, cmd)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// HTTPAddr returns http.addr as Load would resolve it, even when other keys
// are invalid or missing: `sqsfleet healthcheck` needs only this value.
func HTTPAddr(fs *pflag.FlagSet) (string, error) {
	cfg, err := resolve(fs, ForRun)
	var cerr *Error
	if err != nil && (!errors.As(err, &cerr) || slices.ContainsFunc(cerr.Problems, func(p Problem) bool { return p.Key == "http.addr" })) {
		return "", err
	}
	return cfg.HTTP.Addr, nil
}

// resolve is Load, returning the config also when its settings have
// problems, with defaults standing in for values that do not decode.
func resolve(fs *pflag.FlagSet, cmd Command) (*Config, error) {
	if fs == nil {
		fs = pflag.NewFlagSet("none", pflag.ContinueOnError)
	}
	v := viper.New()
	for _, k := range keys {
		// Explicit names: AutomaticEnv sees only keys viper knows otherwise.
		_ = v.BindEnv(k.name, EnvVar(k.name))
	}
	var ps problems
	path := ""
	if f := fs.Lookup(ConfigFlag); f != nil {
		path = f.Value.String()
	}
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml") // whatever the file's extension
		var pe viper.ConfigParseError
		if err := v.ReadInConfig(); errors.As(err, &pe) && pe.Unwrap() != nil {
			// Without viper's prefix, and the yaml package's list on one line.
			return nil, fmt.Errorf("config: %s: invalid YAML: %s", path, strings.Join(strings.Fields(pe.Unwrap().Error()), " "))
		} else if err != nil {
			return nil, fmt.Errorf("config: %w", err) // *PathError names the file
		}
		checkKeys(&ps, v, path)
	}
	cfg, bad := Defaults(), map[string]bool{}
	for _, k := range keys {
		if f := fs.Lookup(k.name); f != nil && f.Changed {
			v.Set(k.name, flagValue(f))
		}
		if err := k.decode(v, cfg); err != nil {
			ps.add(k.name, "%v (from %s)", err, source(fs, path, k.name))
			bad[k.name] = true // its rules are skipped: one line a key
		}
	}
	ps = append(ps, slices.DeleteFunc(cfg.check(cmd), func(p Problem) bool { return bad[p.Key] })...)
	return cfg, ps.err()
}

// checkKeys reports keys in the file that Config does not declare, so that a
// typo fails loudly instead of leaving the default. UnmarshalExact would give
// one error per section, no line per key to hang a suggestion on. As every
// key is bound to its env var, AllKeys never descends into a known key's
// value: "url: {x: 1}" is left to decoding.
func checkKeys(ps *problems, v *viper.Viper, path string) {
	all := v.AllKeys()
	slices.Sort(all)
	for _, fk := range all {
		switch {
		case slices.ContainsFunc(keys, func(k key) bool { return k.name == fk }):
		case slices.ContainsFunc(keys, func(k key) bool { return strings.HasPrefix(k.name, fk+".") }):
			// "queue:" with nothing under it is harmless; "queue: 5" is not.
			ps.addIf(v.Get(fk) != nil, fk, "must be a mapping of keys, got %s", describe(v.Get(fk)))
		case suggest(fk) != "":
			ps.add(printable(fk), "unknown key in %s (did you mean %s?)", path, suggest(fk))
		default:
			ps.add(printable(fk), "unknown key in %s", path)
		}
	}
}

// suggest returns the known key within three edits of a misspelt one, if
// any. Lengths that differ by more skip the distance, so a megabyte key is
// cheap (the library's MaxCost bound returns wrong distances).
func suggest(unknown string) string {
	best, bestDist := "", 4
	for _, k := range keys {
		if n := len(k.name) - len(unknown); n < bestDist && -n < bestDist {
			if d := levenshtein.Distance(k.name, unknown, nil); d < bestDist {
				best, bestDist = k.name, d
			}
		}
	}
	return best
}

// printable quotes a key that would be invisible or ambiguous in
// "config: <key>: <msg>" (YAML allows "" and keys with spaces or colons).
func printable(k string) string {
	if k == "" || strings.IndexFunc(k, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == ':' }) >= 0 {
		return strconv.Quote(k)
	}
	return k
}

// source names where key's winning value came from: the value itself often
// looks fine ("20"). Defaults always decode, so it is a flag, env or file.
func source(fs *pflag.FlagSet, path, key string) string {
	if f := fs.Lookup(key); f != nil && f.Changed {
		return "flag --" + key
	} else if os.Getenv(EnvVar(key)) != "" {
		return "env " + EnvVar(key)
	}
	return path
}

// flagValue is a set flag's text, or texts for a list flag.
func flagValue(f *pflag.Flag) any {
	list, ok := f.Value.(pflag.SliceValue)
	if !ok {
		return f.Value.String()
	} else if f.Value.Type() == "stringSlice" && len(list.GetSlice()) == 1 {
		// `--handler.command "python3 w.py"` is split like the env var;
		// several values stay verbatim, for arguments containing spaces.
		return strings.Fields(list.GetSlice()[0])
	}
	return list.GetSlice()
}

// decode unmarshals the winning value for k, if any, into c's field, which
// keeps its value when it does not decode; the error says why.
func (k key) decode(v *viper.Viper, c *Config) error {
	if !v.IsSet(k.name) {
		return nil
	}
	f := k.field(c)
	if err := v.UnmarshalKey(k.name, f.Addr().Interface(), viper.DecodeHook(convert)); err != nil {
		return errors.Unwrap(err) // convert's, inside mapstructure's DecodeError
	}
	if f.Kind() == reflect.String {
		// Env values from secrets often end in a newline; no scalar key has
		// meaningful surrounding spaces (list elements, argv, may).
		f.SetString(strings.TrimSpace(f.String()))
	}
	return nil
}

// expected says what each field type takes, in the user's terms.
var expected = map[reflect.Type]string{
	reflect.TypeFor[string]():        "a string",
	reflect.TypeFor[int]():           "an integer",
	reflect.TypeFor[bool]():          "true or false",
	reflect.TypeFor[time.Duration](): `a duration such as "20s" or "15m"`,
	reflect.TypeFor[[]string]():      "a list of strings or a string",
	reflect.TypeFor[[]int]():         "a list of integers",
}

// convert is the decode hook: it turns a YAML node, an env var's text or a
// flag's texts into the field's type.
func convert(from, to reflect.Value) (any, error) {
	raw, t := from.Interface(), to.Type()
	if t.Kind() != reflect.Slice {
		return scalar(raw, t)
	}
	list, index := reflect.ValueOf(raw), true // errors in a YAML list name the element
	if s, ok := raw.(string); ok {
		// Whitespace splitting, no shell quoting (a YAML list keeps spaces);
		// statuses may be separated by commas too.
		sep := func(r rune) bool { return unicode.IsSpace(r) || r == ',' && t.Elem().Kind() == reflect.Int }
		list, index = reflect.ValueOf(strings.FieldsFunc(s, sep)), false
	} else if t.Elem().Kind() == reflect.Int && (list.CanInt() || list.CanFloat()) {
		list, index = reflect.ValueOf([]any{raw}), false // a lone status
	}
	if list.Kind() != reflect.Slice {
		return nil, fmt.Errorf("must be %s, got %s", expected[t], describe(raw))
	}
	out := reflect.MakeSlice(t, list.Len(), list.Len())
	for i := range list.Len() {
		x, err := scalar(list.Index(i).Interface(), t.Elem())
		if err != nil && index {
			return nil, fmt.Errorf("element %d %w", i, err)
		} else if err != nil {
			return nil, err
		}
		out.Index(i).Set(reflect.ValueOf(x))
	}
	return out.Interface(), nil
}

// scalar converts one value into t. YAML has typed 8080 or true where env
// vars and flags give text, so both are read as the text a user typed.
func scalar(raw any, t reflect.Type) (any, error) {
	wrong := fmt.Errorf("must be %s, got %s", expected[t], describe(raw))
	switch x := raw.(type) {
	case string, int, int64, uint64, bool:
	case float64: // YAML's 1e1 is an integer; no other type takes a float
		if t.Kind() == reflect.Int && x == math.Trunc(x) && x >= math.MinInt && x < math.MaxInt {
			return int(x), nil
		} else if t.Kind() != reflect.String {
			return nil, wrong
		}
	default:
		return nil, wrong
	}
	text := strings.TrimSpace(fmt.Sprint(raw))
	var out any
	var err error
	switch t {
	case reflect.TypeFor[string]():
		return fmt.Sprint(raw), nil
	case reflect.TypeFor[int]():
		out, err = strconv.Atoi(text)
	case reflect.TypeFor[time.Duration]():
		// Go's syntax takes a bare number only for the unambiguous zero: 20
		// could mean seconds or nanoseconds.
		out, err = time.ParseDuration(text)
	default:
		// strconv's true/1/t, not YAML 1.1's yes/on, which viper does not
		// apply to env values either.
		out, err = strconv.ParseBool(text)
	}
	if err != nil {
		return nil, wrong
	}
	return out, nil
}

// describe renders a value for a message without dumping a YAML subtree.
func describe(raw any) string {
	switch x := raw.(type) {
	case nil:
		return "nothing"
	case string:
		if len(x) > 80 {
			x = x[:80] + "..."
		}
		return strconv.Quote(x)
	case map[string]any, map[any]any:
		return "a mapping"
	case []any:
		return "a list"
	case time.Duration:
		// As the config writes it ("15m", not "15m0s"), to be pasted back.
		s := x.String()
		if strings.HasSuffix(s, "m0s") {
			s = s[:len(s)-2]
		}
		if strings.HasSuffix(s, "h0m") {
			s = s[:len(s)-2]
		}
		return s
	}
	return fmt.Sprint(raw)
}
