package config

import (
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "SQSFLEET_"

// ConfigFlag is the flag naming the YAML file. It is deliberately not
// defaulted to a search path: a daemon that silently picks up a stray
// ./sqsfleet.yaml is harder to reason about than one that reads nothing.
const ConfigFlag = "config"

// key is one configuration key, as a leaf field of Config declares it.
type key struct {
	name, def, usage string
	index            []int // of the field in Config
}

// keys lists every key in the order of Config's fields, which is the order
// of the reference file and of reported problems.
var keys = func() []key {
	var out []key
	for _, sec := range reflect.VisibleFields(reflect.TypeFor[Config]()) {
		for _, f := range reflect.VisibleFields(sec.Type) {
			out = append(out, key{
				name:  sec.Tag.Get("key") + "." + f.Tag.Get("key"),
				def:   f.Tag.Get("default"),
				usage: f.Tag.Get("usage"),
				index: []int{sec.Index[0], f.Index[0]},
			})
		}
	}
	return out
}()

func (k key) field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(k.index)
}

// Defaults returns the configuration used for every key no source sets.
// queue.url and handler.type have no usable default, so a Config built from
// Defaults alone does not validate.
func Defaults() *Config {
	c := *defaults()
	for _, k := range keys {
		if f := k.field(&c); f.Kind() == reflect.Slice && !f.IsNil() {
			// A copy: a caller that changes an element must not change the
			// defaults every later Load starts from.
			f.Set(reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, f.Len()), f))
		}
	}
	return &c
}

// defaults decodes the default tags once, like any other source, so that
// they are written the way users write them; one that does not decode is a
// bug here.
var defaults = sync.OnceValue(func() *Config {
	v, c := viper.New(), &Config{}
	for _, k := range keys {
		if k.def == "" {
			continue
		}
		v.Set(k.name, k.def)
		if err := k.decode(v, c); err != nil {
			panic("config: default of " + k.name + ": " + err.Error())
		}
	}
	return c
})

// EnvVar returns the environment variable that sets key, e.g.
// "queue.url" -> "SQSFLEET_QUEUE_URL".
func EnvVar(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Flags registers --config and one flag per key on fs, each named exactly
// like its key so that the YAML file, the docs and the command line share one
// vocabulary. Flag defaults are the real defaults so --help shows them, but
// Load only applies flags the user set: an unset flag must not mask the file
// or the environment.
func Flags(fs *pflag.FlagSet) {
	fs.String(ConfigFlag, "", "YAML config file; empty reads no file")
	def := Defaults()
	for _, k := range keys {
		usage := k.usage + " (env " + EnvVar(k.name) + ")"
		switch d := k.field(def).Interface().(type) {
		case string:
			fs.String(k.name, d, usage)
		case int:
			fs.Int(k.name, d, usage)
		case time.Duration:
			fs.Duration(k.name, d, usage)
		case []string:
			fs.StringSlice(k.name, d, usage)
		case []int:
			fs.IntSlice(k.name, d, usage)
		case bool:
			fs.Bool(k.name, d, usage)
		}
	}
}
