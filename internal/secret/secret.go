// Package secret encrypts values stored at rest (Shopify client secrets,
// Loop API keys, webhook secrets) with AES-256-GCM.
//
// A sealed value reads "hdsec:v<version>:<base64(nonce|ciphertext)>". The
// prefix makes encrypted columns recognisable, and the version says which
// key sealed it, so a new key can be introduced while old values still open.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const prefix = "hdsec:v"

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// ErrUnreadable is returned for a sealed value this box cannot open: sealed
// with a key version it is not given, with another key under the same
// version (AES-GCM cannot tell that from damage), or corrupt. Callers tell
// it from a failing database: the value stays stored, and a process given
// the right key opens it.
var ErrUnreadable = errors.New("secret: sealed value cannot be opened with this process's keys (sealed with another key, or corrupt)")

// Box seals with its current key and opens with any key it knows.
type Box struct {
	current int
	aeads   map[int]cipher.AEAD
}

// NewBox builds a box whose current key is keys[current].
func NewBox(current int, keys map[int][]byte) (*Box, error) {
	b := &Box{current: current, aeads: map[int]cipher.AEAD{}}
	for v, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("secret: key v%d is %d bytes, want %d", v, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secret: key v%d: %w", v, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: key v%d: %w", v, err)
		}
		b.aeads[v] = aead
	}
	if _, ok := b.aeads[current]; !ok {
		return nil, fmt.Errorf("secret: no key for current version v%d", current)
	}
	return b, nil
}

// Seal encrypts plaintext. The empty string stays empty so "not set" needs
// no special column.
func (b *Box) Seal(plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	aead := b.aeads[b.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return prefix + strconv.Itoa(b.current) + ":" + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value made by Seal.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrUnreadable
	}
	ver, payload, ok := strings.Cut(rest, ":")
	if !ok {
		return "", ErrUnreadable
	}
	v, err := strconv.Atoi(ver)
	if err != nil {
		return "", ErrUnreadable
	}
	aead, ok := b.aeads[v]
	if !ok {
		return "", fmt.Errorf("%w: sealed with key v%d, which this process is not given", ErrUnreadable, v)
	}
	raw, err := base64.RawStdEncoding.DecodeString(payload)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", ErrUnreadable
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return "", ErrUnreadable
	}
	return string(plain), nil
}

// NeedsRotation reports whether a sealed value was made with an older key.
func (b *Box) NeedsRotation(sealed string) bool {
	return sealed != "" && !strings.HasPrefix(sealed, prefix+strconv.Itoa(b.current)+":")
}

// ParseKeys reads a key specification: one or more comma-separated
// "[version:]key" entries, each key 32 bytes as hex (64 characters) or
// base64. The first entry is the current key; the others only open old
// values. An entry without a version is v1, so a rotation must name them:
// "2:NEWKEY,1:OLDKEY".
func ParseKeys(spec string) (current int, keys map[int][]byte, err error) {
	keys = map[int][]byte{}
	for i, entry := range strings.Split(strings.TrimSpace(spec), ",") {
		entry = strings.TrimSpace(entry)
		v := 1
		if ver, key, ok := strings.Cut(entry, ":"); ok {
			n, err := strconv.Atoi(strings.TrimPrefix(ver, "v"))
			if err != nil || n < 1 {
				return 0, nil, fmt.Errorf("secret key entry %d: version %q is not a positive number", i+1, ver)
			}
			v, entry = n, key
		}
		key, err := decodeKey(entry)
		if err != nil {
			return 0, nil, fmt.Errorf("secret key entry %d: %w", i+1, err)
		}
		if _, dup := keys[v]; dup {
			return 0, nil, fmt.Errorf("secret key entry %d: version v%d given twice", i+1, v)
		}
		keys[v] = key
		if i == 0 {
			current = v
		}
	}
	return current, keys, nil
}

func decodeKey(s string) ([]byte, error) {
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("key must be %d bytes as 64 hex characters or base64", KeySize)
}

// KeyFileName is where a generated key is kept inside the data directory.
const KeyFileName = "secret.key"

// LoadOrCreateKeyFile reads the key file in dataDir, creating it with a
// fresh random key (mode 0600) when it does not exist yet.
func LoadOrCreateKeyFile(dataDir string) (spec string, created bool, err error) {
	path := filepath.Join(dataDir, KeyFileName)
	data, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(data)), false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read secret key file: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("create data directory: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", false, err
	}
	spec = "1:" + hex.EncodeToString(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			return LoadOrCreateKeyFile(dataDir)
		}
		return "", false, fmt.Errorf("create secret key file: %w", err)
	}
	if _, err := f.WriteString(spec + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("write secret key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, err
	}
	return spec, true, f.Close()
}
