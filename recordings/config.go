package recordings

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"hotline/store"
)

// Config is the recordings manager's configuration. Dir and Tenants come
// from the server's YAML (see docs/recordings.md); the rest is wiring.
type Config struct {
	// Dir is the root of the recordings tree, normally <data>/recordings;
	// files live at <Dir>/<tenant>/YYYY/MM/DD/<call>.wav (.wav.enc when
	// encrypted), dated by the recording's start in UTC.
	Dir string
	// DefaultRetentionDays applies to tenants without their own value;
	// 0 keeps recordings forever.
	DefaultRetentionDays int
	Tenants              map[string]TenantConfig

	// Store keeps the metadata rows and the access audit; nil runs without
	// metadata (tests of the audio path only).
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time // the clock for Start, Sweep and audit; default time.Now
	// Getenv resolves TenantConfig.KeyEnv; default os.Getenv.
	Getenv func(string) string
	// SyncEvery fsyncs a recording's file this often during the call.
	// Zero (the default) syncs only at Close: a killed process loses
	// nothing the kernel already has, and fsyncing thousands of files a
	// second would cost more disk time than the audio itself; only a
	// machine crash can lose the unsynced tail (the kernel's writeback
	// interval, about 30 s).
	SyncEvery time.Duration
	// RingFrames is each recorder's queue of 20 ms frames between the
	// pacer and the writer (default 64, 1.28 s): how long a disk stall
	// may last before frames are dropped (as silence, counted).
	RingFrames int
	// Writers is how many goroutines move frames from all recorders'
	// rings to their files (default 2). A few shared writers, rather than
	// one per call, keep the number of threads doing disk I/O, and so
	// competing with the pacer for the CPU, small (docs/recordings.md,
	// "Measured").
	Writers int
}

// TenantConfig is one tenant's recording policy.
type TenantConfig struct {
	// RetentionDays deletes recordings this many days after they started;
	// 0 falls back to Config.DefaultRetentionDays, negative keeps forever.
	RetentionDays int
	// KeyFile or KeyEnv (not both) names a 32-byte AES-256 key written as
	// 64 hex digits or base64; with one, the tenant's recordings are
	// encrypted at rest.
	KeyFile string
	KeyEnv  string
}

// Store is the metadata the manager keeps; *store.Store implements it.
// Every method is tenant-scoped.
type Store interface {
	SaveRecording(ctx context.Context, r store.Recording) error
	GetRecording(ctx context.Context, tenantID string, callID uuid.UUID) (*store.Recording, error)
	RecordingsInStatus(ctx context.Context, tenantID, status string) ([]store.Recording, error)
	ExpiredRecordings(ctx context.Context, tenantID string, cutoff time.Time, limit int) ([]store.Recording, error)
	MarkRecordingDeleted(ctx context.Context, tenantID string, callID uuid.UUID, at time.Time) error
	AddRecordingAccess(ctx context.Context, a store.RecordingAccess) error
}

// tenantKey is a loaded encryption key. The id, a hash prefix, goes into
// each file's header so a file names the key it needs without revealing it.
type tenantKey struct {
	id  string
	key []byte
}

// validTenantID is the tenants table's rule (^[a-z0-9][a-z0-9_-]{0,62}$);
// it also keeps a tenant id from being a path element like "..".
func validTenantID(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// loadKey reads and decodes one tenant's key.
func loadKey(tenant string, tc TenantConfig, getenv func(string) string) (*tenantKey, error) {
	var raw, from string
	switch {
	case tc.KeyFile != "" && tc.KeyEnv != "":
		return nil, fmt.Errorf("tenant %s: set key_file or key_env, not both", tenant)
	case tc.KeyFile != "":
		b, err := os.ReadFile(tc.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: recording key: %w", tenant, err)
		}
		raw, from = string(b), "key file "+tc.KeyFile
	case tc.KeyEnv != "":
		raw, from = getenv(tc.KeyEnv), "environment variable "+tc.KeyEnv
		if raw == "" {
			return nil, fmt.Errorf("tenant %s: recording key: %s is empty or unset", tenant, from)
		}
	default:
		return nil, nil
	}
	key, err := decodeKey(strings.TrimSpace(raw))
	if err != nil {
		// Never the value itself: it would land in logs.
		return nil, fmt.Errorf("tenant %s: recording key in %s: %w", tenant, from, err)
	}
	sum := sha256.Sum256(key)
	return &tenantKey{id: hex.EncodeToString(sum[:8]), key: key}, nil
}

func decodeKey(s string) ([]byte, error) {
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("want 32 bytes as 64 hex digits or base64")
}
