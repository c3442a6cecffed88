package fauxqs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// installTimeout bounds a cold npm install; a warm one takes milliseconds.
const installTimeout = 5 * time.Minute

// setup is per process: the install script is cheap once installed, but one
// run per test binary is enough and keeps parallel tests in one package from
// queueing on the lock.
var setup = sync.OnceValues(func() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if os.Getenv("FAUXQS_NODE") != "" {
		// A user-supplied Node means the pinned linux-x64 one is not wanted
		// (e.g. on macOS); fauxqs itself must then be found via FAUXQS_APP
		// or an earlier install.
		return root, nil
	}
	return root, install(root)
})

// repoRoot walks up from the working directory, which `go test` sets to the
// package directory, to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, launcherPath)); err != nil {
				return "", fmt.Errorf("fauxqs: found go.mod in %s but not %s", dir, launcherPath)
			}
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("fauxqs: no go.mod above the working directory")
		}
		dir = parent
	}
}

// install runs scripts/fauxqs-install.sh under an exclusive file lock,
// because `go test ./...` runs many test binaries at once and each of them
// may find the emulator missing on a fresh clone; the lock makes the first
// one install and the rest wait and then see it installed.
func install(root string) error {
	tools := filepath.Join(root, ".tools")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		return fmt.Errorf("fauxqs: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(tools, "fauxqs.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("fauxqs: %w", err)
	}
	defer lock.Close() // also releases the lock
	for {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("fauxqs: locking %s: %w", lock.Name(), err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "fauxqs-install.sh"))
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("fauxqs: scripts/fauxqs-install.sh: %w\n%s", err, out)
	}
	return nil
}
