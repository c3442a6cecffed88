package config

import (
	"errors"
	"fmt"
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

// Command is what a configuration is loaded for, which decides the keys
// required: the handler keys for `sqsfleet run`; only queue.url for the
// scaler (handler keys set are still checked: the file is shared); only a
// valid http.addr for the healthcheck, which may not see the rest.
type Command int

const ( // the commands
	ForRun Command = iota
	ForScaler
	ForHealthcheck
)

// Load builds the configuration for cmd from, in increasing precedence:
// defaults, the YAML file named by --config, SQSFLEET_* environment variables
// and the flags on fs the user set. A file that cannot be read or parsed is
// a plain error naming it; all else wrong is collected into one *Error.
func Load(fs *pflag.FlagSet, cmd Command) (*Config, error) {
	v := viper.New()
	for _, k := range keys {
		_ = v.BindEnv(k.name, EnvVar(k.name)) // fails only without a key
	}
	var ps problems
	if path, _ := fs.GetString(ConfigFlag); path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml") // whatever the file's extension
		var pe viper.ConfigParseError
		if err := v.ReadInConfig(); errors.As(err, &pe) && pe.Unwrap() != nil {
			return nil, fmt.Errorf("config: %s: invalid YAML: %s", path, strings.Join(strings.Fields(pe.Unwrap().Error()), " "))
		} else if err != nil {
			return nil, fmt.Errorf("config: %w", err) // *PathError names the file
		}
		checkKeys(&ps, v, path)
	}
	cfg := Defaults()
	for _, k := range keys {
		// Errors name the source: the value itself often looks fine ("20").
		from := "env " + EnvVar(k.name)
		if f := fs.Lookup(k.name); f != nil && f.Changed {
			// A lone value is split like an env var's; several are arguments.
			if t, ok := f.Value.(*flagText); ok && len(t.vals) > 1 {
				v.Set(k.name, t.vals)
			} else {
				v.Set(k.name, f.Value.String())
			}
			from = "flag --" + k.name
		} else if os.Getenv(EnvVar(k.name)) == "" {
			from = v.ConfigFileUsed()
		}
		if err := k.decode(v, cfg); err != nil {
			ps.add(k.name, "%v (from %s)", err, from)
		}
	}
	// A key that did not decode keeps its default, and one line.
	ps = append(ps, slices.DeleteFunc(cfg.check(cmd), func(p Problem) bool { return ps.has(p.Key) })...)
	if cmd == ForHealthcheck {
		ps = slices.DeleteFunc(ps, func(p Problem) bool { return p.Key != "http.addr" })
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkKeys reports keys in the file that Config does not declare, a line
// each (UnmarshalExact gives one per section). AllKeys does not descend into
// a known key, bound to its env var: "url: {x: 1}" is left to decoding.
func checkKeys(ps *problems, v *viper.Viper, path string) {
	for _, fk := range slices.Sorted(slices.Values(v.AllKeys())) {
		switch {
		case slices.ContainsFunc(keys, func(k key) bool { return k.name == fk }):
		case slices.ContainsFunc(keys, func(k key) bool { return strings.HasPrefix(k.name, fk+".") }):
			// "queue:" with nothing under it is harmless; "queue: 5" is not.
			ps.addIf(v.Get(fk) != nil, fk, "must be a mapping of keys, got %s", describe(v.Get(fk)))
		default:
			msg := "unknown key in " + path
			if s := suggest(fk); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			if fk == "" || strings.IndexFunc(fk, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == ':' }) >= 0 {
				fk = strconv.Quote(fk) // else invisible or ambiguous in "config: <key>: <msg>"
			}
			ps.add(fk, "%s", msg)
		}
	}
}

// suggest returns the known key within three edits of a misspelt one, if
// any; a length difference rules out a megabyte key cheaply (MaxCost errs).
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

// decode unmarshals the winning value for k, if any, into c's field.
func (k key) decode(v *viper.Viper, c *Config) error {
	f := k.field(c)
	if err := v.UnmarshalKey(k.name, f.Addr().Interface(), viper.DecodeHook(convert)); err != nil {
		return errors.Unwrap(err) // convert's, inside mapstructure's DecodeError
	}
	if f.Kind() == reflect.String {
		// Env values from secrets often end in a newline; argv keeps spaces.
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
		// No shell quoting (a YAML list keeps spaces); statuses take commas.
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
func scalar(raw any, t reflect.Type) (out any, err error) {
	wrong := fmt.Errorf("must be %s, got %s", expected[t], describe(raw))
	switch x := raw.(type) {
	case float64: // YAML's 1e1 is an integer; only strings take other floats
		if t.Kind() != reflect.String && (t.Kind() != reflect.Int || x != float64(int64(x))) {
			return nil, wrong
		}
	case string, int, int64, uint64, bool:
	default:
		return nil, wrong
	}
	switch text := strings.TrimSpace(fmt.Sprint(raw)); t {
	case reflect.TypeFor[string]():
		return fmt.Sprint(raw), nil
	case reflect.TypeFor[int]():
		out, err = strconv.Atoi(text)
	case reflect.TypeFor[time.Duration]():
		// A bare number only for the unambiguous zero: is 20 s or ns?
		out, err = time.ParseDuration(text)
	default: // strconv's true/1/t, not YAML 1.1's yes/on, as viper's env values
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
