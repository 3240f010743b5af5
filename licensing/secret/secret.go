// Package secret stores small secrets (the marketplace credentials, the
// cached authorization) in the OS keyring: the Secret Service on Linux, the
// Credential Manager on Windows, the Keychain on macOS, through go-keyring.
//
// Every keyring call is bounded by a timeout: a locked or hung Secret Service
// (or one that go-keyring autostarts and that then waits for a password
// prompt nobody sees) must never freeze the caller. Memory is an in-memory
// Store for tests.
//
// It must not import fyne or anything of the license domain: it stores
// opaque strings.
package secret

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// Service is the keyring service name of every iscdesk entry (a name other
// tools rely on: docs/cli.md).
const Service = "iscdesk"

// MaxValueBytes is the largest value one keyring entry may hold everywhere:
// the Windows Credential Manager caps a credential blob at 2560 bytes.
const MaxValueBytes = 2560

// DefaultTimeout bounds one keyring call.
const DefaultTimeout = 5 * time.Second

// Errors. Callers test them with errors.Is.
var (
	ErrNotFound    = errors.New("secret: not found")
	ErrTooBig      = fmt.Errorf("secret: value larger than %d bytes", MaxValueBytes)
	ErrTimeout     = errors.New("secret: the OS keyring did not answer in time (is it locked?)")
	ErrUnavailable = errors.New("secret: no OS keyring service")
)

// Store holds named secrets.
type Store interface {
	Get(ctx context.Context, account string) (string, error)
	Set(ctx context.Context, account, value string) error
	Delete(ctx context.Context, account string) error
}

// Keyring is the OS keyring.
type Keyring struct {
	Service string        // "" means Service
	Timeout time.Duration // 0 means DefaultTimeout
}

var _ Store = Keyring{}

func (k Keyring) service() string {
	if k.Service == "" {
		return Service
	}
	return k.Service
}

// Get returns the value of account, or ErrNotFound.
func (k Keyring) Get(ctx context.Context, account string) (string, error) {
	var v string
	err := k.call(ctx, func() (err error) {
		v, err = keyring.Get(k.service(), account)
		return err
	})
	return v, err
}

// Set stores value under account; values over MaxValueBytes are refused.
func (k Keyring) Set(ctx context.Context, account, value string) error {
	if len(value) > MaxValueBytes {
		return ErrTooBig
	}
	return k.call(ctx, func() error { return keyring.Set(k.service(), account, value) })
}

// Delete removes account; deleting a missing entry is not an error.
func (k Keyring) Delete(ctx context.Context, account string) error {
	err := k.call(ctx, func() error { return keyring.Delete(k.service(), account) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// call runs f on its own goroutine and gives up after the timeout. A call that
// hangs is abandoned (go-keyring offers no cancellation); its goroutine ends
// when the keyring answers or the process exits.
func (k Keyring) call(ctx context.Context, f func() error) error {
	timeout := k.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if err := available(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return mapError(err)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ErrTimeout
		}
		return ctx.Err()
	}
}

func mapError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return ErrTooBig
	case errors.Is(err, keyring.ErrUnsupportedPlatform):
		return ErrUnavailable
	}
	return classifyPlatformError(err)
}

// Memory is an in-memory Store, safe for concurrent use. Fail, when set,
// makes every call return that error (a keyring that is missing or broken).
type Memory struct {
	mu   sync.Mutex
	m    map[string]string
	Fail error
}

var _ Store = (*Memory)(nil)

// Get returns the value of account, or ErrNotFound.
func (m *Memory) Get(_ context.Context, account string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return "", m.Fail
	}
	v, ok := m.m[account]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

// Set stores value under account, refusing values over MaxValueBytes like the
// real keyring on Windows.
func (m *Memory) Set(_ context.Context, account, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return m.Fail
	}
	if len(value) > MaxValueBytes {
		return ErrTooBig
	}
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[account] = value
	return nil
}

// Delete removes account.
func (m *Memory) Delete(_ context.Context, account string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return m.Fail
	}
	delete(m.m, account)
	return nil
}

// Entries returns a copy of every entry, by account (for tests).
func (m *Memory) Entries() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.m)
}

// Len returns how many entries are stored (for tests).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
