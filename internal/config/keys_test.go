package config

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The key list is derived from Config's tags; a field without a key tag, or
// two fields with one name, would silently lose a setting.
func TestKeysDerivedFromConfigTags(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z]+\.[a-z][a-z0-9_]*$`)
	seen := map[string]bool{}
	leaves := 0
	for _, sec := range reflect.VisibleFields(reflect.TypeFor[Config]()) {
		leaves += sec.Type.NumField()
	}
	if len(keys) != leaves {
		t.Errorf("%d keys for %d leaf fields of Config", len(keys), leaves)
	}
	for _, k := range keys {
		if !shape.MatchString(k.name) || seen[k.name] {
			t.Errorf("key %q is malformed or declared twice", k.name)
		}
		seen[k.name] = true
		if k.usage == "" {
			t.Errorf("%s has no usage tag", k.name)
		}
	}
	// The field a key names is the one its value lands in.
	c := &Config{}
	keyNamed(t, "scaler.protection_hold_down").field(c).Set(reflect.ValueOf(7 * time.Second))
	if c.Scaler.ProtectionHold != 7*time.Second {
		t.Errorf("scaler.protection_hold_down is not Scaler.ProtectionHold")
	}
}

func keyNamed(t *testing.T, name string) key {
	t.Helper()
	for _, k := range keys {
		if k.name == name {
			return k
		}
	}
	t.Fatalf("no key %s", name)
	return key{}
}

func TestSuggest(t *testing.T) {
	for unknown, want := range map[string]string{
		"queue.visibilty_timeout":  "queue.visibility_timeout", // one letter missing
		"worker.concurency":        "worker.concurrency",
		"queue.batchsize":          "queue.batch_size",
		"scaler.scaleinprotection": "scaler.scale_in_protection", // underscores left out
		"handler.comand":           "handler.command",
		"handler.cmd":              "handler.url", // three edits is still a typo
		"handler.program":          "",            // more is not
		"verbose":                  "",
		"":                         "",
	} {
		if got := suggest(unknown); got != want {
			t.Errorf("suggest(%q) = %q, want %q", unknown, got, want)
		}
	}
	// A hostile key of a megabyte is dismissed by its length alone.
	huge := strings.Repeat("q", 1<<20)
	start := time.Now()
	if got := suggest(huge); got != "" {
		t.Errorf("suggest(huge) = %q", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("suggest(huge) took %s", d)
	}
}

// Defaults are decoded once and handed out as copies.
func TestDefaultsAreCopies(t *testing.T) {
	d := Defaults()
	d.Handler.PermanentStatuses[0] = 599
	d.Log.Level = "debug"
	if again := Defaults(); again.Handler.PermanentStatuses[0] != 422 || again.Log.Level != "info" {
		t.Errorf("changing one Defaults() changed the next: %+v", again)
	}
}
