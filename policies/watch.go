package policies

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Watch reloads Options.Dir whenever its content changes, until ctx ends. A
// policy that fails to load is logged and counted; the last good one keeps
// serving. Without a Dir it returns at once.
func (e *Engine) Watch(ctx context.Context) {
	if e.opts.Dir == "" {
		return
	}
	every := e.opts.PollInterval
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastBad := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		digest, err := dirDigest(e.opts.Dir)
		if err != nil {
			if digest != lastBad {
				e.reloaded(false, err)
			}
			lastBad = digest
			continue
		}
		e.mu.Lock()
		current := e.source.digest
		e.mu.Unlock()
		if digest == current || digest == lastBad {
			continue
		}
		if err := e.Reload(ctx); err != nil {
			lastBad = digest
			continue
		}
		lastBad = ""
	}
}

// Reload loads Options.Dir now. On error the current policy stays.
func (e *Engine) Reload(ctx context.Context) error {
	src, err := loadDir(e.opts.Dir)
	if err == nil {
		err = e.install(ctx, src)
	}
	e.reloaded(err == nil, err)
	return err
}

func (e *Engine) reloaded(ok bool, err error) {
	if ok {
		e.log.Info("policy reloaded", "dir", e.opts.Dir)
	} else {
		e.log.Error("policy rejected; the previous policy keeps serving", "dir", e.opts.Dir, "error", err)
	}
	if e.opts.OnReload != nil {
		e.opts.OnReload(ok, err)
	}
}

// dirDigest hashes the names and contents of every file under dir, so any
// change (including an editor's atomic rename) is seen.
func dirDigest(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		io.WriteString(h, rel)
		h.Write([]byte{0})
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		h.Write([]byte{0})
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
