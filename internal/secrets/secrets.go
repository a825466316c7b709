package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MinKeyLength is the minimum length of key material (ENCRYPTION_KEY): 32 characters, such as
// the 64 hex digits of `openssl rand -hex 32`.
const MinKeyLength = 32

// Errors callers branch on.
var (
	// ErrUnknownKey: the value was sealed under a key id the keyring does not hold.
	ErrUnknownKey = errors.New("sealed under an unknown encryption key")
	// ErrCorrupt: the value is malformed, was tampered with, or belongs to other associated data.
	ErrCorrupt = errors.New("sealed value is corrupt or does not belong here")
)

// key is one derived AES-256 key with its id.
type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring seals under its current key and opens under any of its keys. Safe for concurrent use.
type Keyring struct {
	current key
	byID    map[string]key
}

// NewKeyring derives the current key from current and one key from each previous material
// (ENCRYPTION_KEY_PREVIOUS). Every material must be at least MinKeyLength characters (surrounding
// white space is ignored).
func NewKeyring(current string, previous ...string) (*Keyring, error) {
	cur, err := derive(current)
	if err != nil {
		return nil, fmt.Errorf("current key: %w", err)
	}
	k := &Keyring{current: cur, byID: map[string]key{cur.id: cur}}
	for i, p := range previous {
		pk, err := derive(p)
		if err != nil {
			return nil, fmt.Errorf("previous key %d: %w", i+1, err)
		}
		if _, dup := k.byID[pk.id]; !dup {
			k.byID[pk.id] = pk
		}
	}
	return k, nil
}

func derive(material string) (key, error) {
	if len(strings.TrimSpace(material)) < MinKeyLength {
		return key{}, fmt.Errorf("must be at least %d characters, got %d", MinKeyLength, len(strings.TrimSpace(material)))
	}
	secret := []byte(strings.TrimSpace(material))
	aesKey, err := hkdf.Key(sha256.New, secret, nil, "aggregator/secrets/aes-256-gcm/v1", 32)
	if err != nil {
		return key{}, fmt.Errorf("derive key: %w", err)
	}
	idBytes, err := hkdf.Key(sha256.New, secret, nil, "aggregator/secrets/key-id/v1", 8)
	if err != nil {
		return key{}, fmt.Errorf("derive key id: %w", err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return key{}, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, fmt.Errorf("gcm: %w", err)
	}
	return key{id: "k1-" + hex.EncodeToString(idBytes), aead: aead}, nil
}

// KeyID derives the key id of material without building a keyring (for diagnostics).
func KeyID(material string) (string, error) {
	k, err := derive(material)
	return k.id, err
}

// CurrentID is the id of the key Seal uses.
func (k *Keyring) CurrentID() string { return k.current.id }

// Has reports whether the keyring can open values sealed under id.
func (k *Keyring) Has(id string) bool {
	_, ok := k.byID[id]
	return ok
}

// IDs returns the ids of every key, the current one first.
func (k *Keyring) IDs() []string {
	out := []string{k.current.id}
	for id := range k.byID {
		if id != k.current.id {
			out = append(out, id)
		}
	}
	return out
}

// Seal encrypts plaintext under the current key, bound to aad, and returns the key id and the
// sealed value (base64 of a random 96-bit nonce followed by the ciphertext and tag).
func (k *Keyring) Seal(plaintext, aad []byte) (keyID, sealed string, err error) {
	nonce := make([]byte, k.current.aead.NonceSize(), k.current.aead.NonceSize()+len(plaintext)+k.current.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", "", fmt.Errorf("seal: nonce: %w", err)
	}
	out := k.current.aead.Seal(nonce, nonce, plaintext, aad)
	return k.current.id, base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal returned, under the key keyID names, checking aad.
func (k *Keyring) Open(keyID, sealed string, aad []byte) ([]byte, error) {
	kk, ok := k.byID[keyID]
	if !ok {
		return nil, fmt.Errorf("key id %q: %w", keyID, ErrUnknownKey)
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < kk.aead.NonceSize()+kk.aead.Overhead() {
		return nil, ErrCorrupt
	}
	n := kk.aead.NonceSize()
	plain, err := kk.aead.Open(nil, raw[:n], raw[n:], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}
