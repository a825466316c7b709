package secrets

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const (
	keyA = "0123456789abcdef0123456789abcdef-key-a"
	keyB = "fedcba9876543210fedcba9876543210-key-b"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k, err := NewKeyring(keyA)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte(`{"password":"canary-7f3a"}`)
	id, sealed, err := k.Seal(plain, []byte("row-1"))
	if err != nil {
		t.Fatal(err)
	}
	if id != k.CurrentID() || !strings.HasPrefix(id, "k1-") {
		t.Fatalf("key id %q, current %q", id, k.CurrentID())
	}
	if strings.Contains(sealed, "canary") || bytes.Contains([]byte(sealed), plain) {
		t.Fatal("sealed value shows the plaintext")
	}
	got, err := k.Open(id, sealed, []byte("row-1"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q, %v", got, err)
	}
	// Two seals of the same value differ (random nonce).
	_, again, _ := k.Seal(plain, []byte("row-1"))
	if again == sealed {
		t.Fatal("two seals of one value are identical")
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	a, _ := NewKeyring(keyA)
	b, _ := NewKeyring(keyB)
	id, sealed, err := a.Seal([]byte("secret"), []byte("row-1"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(sealed)
	flipped[20] ^= 0x01
	if flipped[20] == '+' || flipped[20] == '/' || flipped[20] == '=' {
		flipped[20] = 'A'
	}
	tests := []struct {
		name   string
		ring   *Keyring
		id     string
		sealed string
		aad    string
		want   error
	}{
		{"other row", a, id, sealed, "row-2", ErrCorrupt},
		{"tampered", a, id, string(flipped), "row-1", ErrCorrupt},
		{"truncated", a, id, sealed[:10], "row-1", ErrCorrupt},
		{"not base64", a, id, "%%%", "row-1", ErrCorrupt},
		{"unknown key id", b, id, sealed, "row-1", ErrUnknownKey},
		{"id of another key", a, b.CurrentID(), sealed, "row-1", ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ring.Open(tt.id, tt.sealed, []byte(tt.aad))
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error shows the plaintext: %v", err)
			}
		})
	}
}

func TestRotationKeepsPreviousReadable(t *testing.T) {
	t.Parallel()
	old, _ := NewKeyring(keyA)
	id, sealed, _ := old.Seal([]byte("v"), nil)
	rotated, err := NewKeyring(keyB, keyA)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.CurrentID() == id {
		t.Fatal("new key has the old key's id")
	}
	if !rotated.Has(id) || len(rotated.IDs()) != 2 || rotated.IDs()[0] != rotated.CurrentID() {
		t.Fatalf("ids %v, old %s", rotated.IDs(), id)
	}
	if got, err := rotated.Open(id, sealed, nil); err != nil || string(got) != "v" {
		t.Fatalf("open under the previous key: %q %v", got, err)
	}
	newID, _, _ := rotated.Seal([]byte("v"), nil)
	if newID != rotated.CurrentID() {
		t.Fatalf("sealed under %s, want the current key", newID)
	}
	// The key id depends on the material only.
	if again, _ := KeyID("  " + keyA + "\n"); again != id {
		t.Fatalf("KeyID = %s, want %s", again, id)
	}
}

func TestNewKeyringRefusesShortKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cur  string
		prev []string
		want string
	}{
		{"short", nil, "current key: must be at least 32 characters, got 5"},
		{"", nil, "current key: must be at least 32 characters, got 0"},
		{keyA, []string{"tiny"}, "previous key 1: must be at least 32 characters, got 4"},
	} {
		_, err := NewKeyring(tc.cur, tc.prev...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewKeyring(%q, %q) = %v, want %q", tc.cur, tc.prev, err, tc.want)
		}
	}
}
