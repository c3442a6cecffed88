package config

import (
	"maps"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// Unknown keys are found by comparing viper's AllKeys with the key list,
// after every key has been bound to its env var. These pin what that relies
// on: nested unknown keys are still listed with the file that holds them,
// and values of known keys, whatever their shape, are left to decoding,
// whichever source sets the key.
func TestFileStructure(t *testing.T) {
	// The required keys come from the env, so that the file holds the case
	// alone; an empty value leaves a variable unset.
	requiredEnv := map[string]string{"SQSFLEET_HANDLER_TYPE": "exec", "SQSFLEET_HANDLER_COMMAND": "worker",
		"SQSFLEET_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q"}
	tests := []struct {
		name string
		file string
		env  map[string]string
		want []string // one line per problem; "PATH" stands for the file
	}{
		{"nested unknown key", "queue:\n  batch:\n    size: 3\n", nil,
			[]string{"config: queue.batch.size: unknown key in PATH (did you mean queue.batch_size?)"}},
		{"unknown section with a nested key", "queues:\n  url: x\n", nil,
			[]string{"config: queues.url: unknown key in PATH (did you mean queue.url?)"}},
		{"unknown key beside an env-set sibling", "log:\n  levle: debug\n", map[string]string{"SQSFLEET_LOG_LEVEL": "warn"},
			[]string{"config: log.levle: unknown key in PATH (did you mean log.level?)"}},
		{"mapping for a known key", "queue:\n  batch_size: {x: 1}\n", nil,
			[]string{"config: queue.batch_size: must be an integer, got a mapping (from PATH)"}},
		{"mapping for a known key the env overrides", "queue:\n  batch_size: {x: 1}\n", map[string]string{"SQSFLEET_QUEUE_BATCH_SIZE": "3"},
			nil},
		{"dotted key beside an env-set key", "log:\n  level.x: debug\n", map[string]string{"SQSFLEET_LOG_LEVEL": "warn"},
			[]string{"config: log.level.x: unknown key in PATH (did you mean log.level?)"}},
		{"scalar section beside an env-set key", "worker: 5\n", map[string]string{"SQSFLEET_WORKER_CONCURRENCY": "3"},
			[]string{"config: worker: must be a mapping of keys, got 5"}},
		{"null element in argv", "handler:\n  command: [sh, null]\n", map[string]string{"SQSFLEET_HANDLER_COMMAND": ""},
			[]string{"config: handler.command: element 1 must be a string, got nothing (from PATH)"}},
		{"float zero is no duration", "retry:\n  base_delay: 0.0\n", nil,
			[]string{`config: retry.base_delay: must be a duration such as "20s" or "15m", got 0 (from PATH)`}},
		{"float one is no bool", "scaler:\n  enabled: 1.0\n", nil,
			[]string{"config: scaler.enabled: must be true or false, got 1 (from PATH)"}},
		{"lone fractional status", "handler:\n  permanent_statuses: 2.5\n", nil,
			[]string{"config: handler.permanent_statuses: must be an integer, got 2.5 (from PATH)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := maps.Clone(requiredEnv)
			maps.Copy(env, tt.env)
			cfg, err := load(t, tt.file, env)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || cfg != nil {
				t.Fatalf("config %+v, error %v; want only an error", cfg, err)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) || len(problemsOf(t, err)) != len(got) {
				t.Fatalf("got %d lines, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				re := "^" + strings.ReplaceAll(regexp.QuoteMeta(w), "PATH", `/\S*/sqsfleet\.yaml`) + "$"
				if !regexp.MustCompile(re).MatchString(got[i]) {
					t.Errorf("line %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

// The winning source's value is decoded, whatever the others hold, and
// list elements keep the whitespace that scalar values lose.
func TestDecodeBySource(t *testing.T) {
	file := yamlWith(map[string]string{
		"handler.command":  `["sh", "-c", " echo hi "]`,
		"log.level":        `" warn "`,
		"queue.batch_size": "1e1",
	})
	cfg, err := load(t, file, map[string]string{"SQSFLEET_HANDLER_PERMANENT_STATUSES": "410"}, "--worker.concurrency", "7")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"sh", "-c", " echo hi "}; !reflect.DeepEqual(cfg.Handler.Command, want) {
		t.Errorf("command = %q, want %q", cfg.Handler.Command, want)
	}
	if cfg.Log.Level != "warn" || cfg.Queue.BatchSize != 10 || cfg.Worker.Concurrency != 7 ||
		!reflect.DeepEqual(cfg.Handler.PermanentStatuses, []int{410}) {
		t.Errorf("level %q, batch %d, concurrency %d, statuses %v", cfg.Log.Level, cfg.Queue.BatchSize,
			cfg.Worker.Concurrency, cfg.Handler.PermanentStatuses)
	}
}
