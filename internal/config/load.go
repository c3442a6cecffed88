package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/agext/levenshtein"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Load builds the configuration from, in increasing precedence: defaults,
// the YAML file named by --config (none if empty), SQSFLEET_* environment
// variables, and the flags on fs that the user set. fs may be nil.
//
// A file that cannot be read or parsed is a plain error naming the file.
// Everything else wrong (unknown keys, undecodable values, failed
// validation) is collected into one *Error. Load validates for `sqsfleet
// run`; LoadFor chooses the command.
func Load(fs *pflag.FlagSet) (*Config, error) {
	return LoadFor(fs, ForRun)
}

// LoadFor is Load for the given command, which decides the required keys.
func LoadFor(fs *pflag.FlagSet, cmd Command) (*Config, error) {
	cfg, err := resolve(fs, cmd)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// HTTPAddr returns http.addr as Load would resolve it from fs, the file and
// the environment, even when other keys are invalid or missing: `sqsfleet
// healthcheck` needs only this one value and must not fail because, say,
// the queue URL lives in a variable its environment lacks.
func HTTPAddr(fs *pflag.FlagSet) (string, error) {
	cfg, err := resolve(fs, ForRun)
	var cerr *Error
	if err != nil && !errors.As(err, &cerr) {
		return "", err
	}
	if cerr != nil && slices.ContainsFunc(cerr.Problems, func(p Problem) bool { return p.Key == "http.addr" }) {
		return "", cerr
	}
	return cfg.HTTP.Addr, nil
}

// resolve is Load, except that with validation problems it returns the
// decoded config alongside the *Error (defaults standing in for bad keys).
func resolve(fs *pflag.FlagSet, cmd Command) (*Config, error) {
	if fs == nil {
		fs = pflag.NewFlagSet("none", pflag.ContinueOnError)
	}
	v := viper.New()
	for _, k := range keys {
		// Explicit binding, not AutomaticEnv: viper's automatic lookup only
		// sees keys it already knows from somewhere, and an explicit name
		// does not depend on viper's replacer rules. (It fails only when
		// given no key.)
		_ = v.BindEnv(k.name, EnvVar(k.name))
	}

	var ps problems
	path := ""
	if f := fs.Lookup(ConfigFlag); f != nil {
		path = f.Value.String()
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err) // *PathError names the file
		}
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			var pe viper.ConfigParseError
			if errors.As(err, &pe) && pe.Unwrap() != nil {
				err = pe.Unwrap() // drop viper's "While parsing config:" prefix
			}
			return nil, fmt.Errorf("config: %s: invalid YAML: %s", path, flatten(err.Error()))
		}
		checkKeys(&ps, v, path)
	}

	cfg, bad := Defaults(), map[string]bool{}
	for _, k := range keys {
		if f := fs.Lookup(k.name); f != nil && f.Changed {
			v.Set(k.name, flagValue(f))
		}
		if err := k.decode(v, cfg); err != nil {
			// The field keeps its default, and its validation is skipped: a
			// second line for the same key would only confuse.
			ps.add(k.name, "%v (from %s)", err, source(fs, path, k.name))
			bad[k.name] = true
		}
	}
	ps = append(ps, slices.DeleteFunc(cfg.check(cmd), func(p Problem) bool { return bad[p.Key] })...)
	// Report in the order of the reference file, file-structure mistakes
	// (unknown keys) first, whichever stage found them.
	rank := func(p Problem) int {
		return slices.IndexFunc(keys, func(k key) bool { return k.name == p.Key })
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return rank(a) - rank(b) })
	return cfg, ps.err()
}

// checkKeys reports keys in the file that Config does not declare, so a
// typo such as queue.batchsize fails loudly instead of leaving the default.
// It compares viper's AllKeys with the key list rather than using
// UnmarshalExact, whose one "has invalid keys" error per section gives no
// line per key to hang a suggestion on, and whose merged input splits a key
// with a dot in it ("level.x" under log) into a path that collides with a
// known key. As every known key is bound to its env var, AllKeys never
// descends into a known key's value: "queue: {url: {x: 1}}" is left to
// decoding queue.url, which says what is wrong with it.
func checkKeys(ps *problems, v *viper.Viper, path string) {
	all := v.AllKeys()
	slices.Sort(all)
	for _, fk := range all {
		switch {
		case slices.ContainsFunc(keys, func(k key) bool { return k.name == fk }):
		case slices.ContainsFunc(keys, func(k key) bool { return strings.HasPrefix(k.name, fk+".") }):
			// "queue:" with nothing under it is harmless; "queue: 5" is not.
			if val := v.Get(fk); val != nil {
				ps.add(fk, "must be a mapping of keys, got %s", describe(val))
			}
		default:
			msg := "unknown key in " + path
			if s := suggest(fk); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			ps.add(printableKey(fk), "%s", msg)
		}
	}
}

// suggest returns the known key closest to a misspelled one, if any is
// within three edits, close enough to be a plausible typo. Keys whose
// lengths already differ by more are skipped, which also keeps hostile
// multi-megabyte keys cheap. (The library's own bound, MaxCost, returns
// wrong distances, so it is not used.)
func suggest(unknown string) string {
	best, bestDist := "", 4
	for _, k := range keys {
		if n := len(k.name) - len(unknown); n >= bestDist || -n >= bestDist {
			continue
		}
		if d := levenshtein.Distance(k.name, unknown, nil); d < bestDist {
			best, bestDist = k.name, d
		}
	}
	return best
}

// printableKey quotes a key that would otherwise be invisible or ambiguous
// in "config: <key>: <msg>" (YAML allows "" and keys with spaces or colons).
func printableKey(k string) string {
	if k == "" || strings.IndexFunc(k, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == ':' }) >= 0 {
		return strconv.Quote(k)
	}
	return k
}

// flatten joins the yaml package's multi-line "unmarshal errors:" list so
// that every config error stays on one log line.
func flatten(msg string) string {
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.ReplaceAll(strings.Join(lines, "; "), ":; ", ": ")
}

// source names where key's winning value came from, for decode errors: the
// value itself is often fine-looking ("20") and the fix is in one place.
// Defaults always decode, so it is a flag, the environment or the file.
func source(fs *pflag.FlagSet, path, key string) string {
	if f := fs.Lookup(key); f != nil && f.Changed {
		return "flag --" + key
	}
	if os.Getenv(EnvVar(key)) != "" {
		return "env " + EnvVar(key)
	}
	return path
}

// flagValue is a set flag's value as text, or a list of texts for a list
// flag, the forms decoding takes from env vars and YAML as well.
func flagValue(f *pflag.Flag) any {
	list, ok := f.Value.(pflag.SliceValue)
	if !ok {
		return f.Value.String()
	}
	vals := list.GetSlice()
	if f.Value.Type() == "stringSlice" && len(vals) == 1 {
		// `--handler.command "python3 worker.py"` is what people type; treat
		// a lone value like the env var and split it, while comma-separated
		// or repeated values stay verbatim for arguments containing spaces.
		return strings.Fields(vals[0])
	}
	return vals
}
