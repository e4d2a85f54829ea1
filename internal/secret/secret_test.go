package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(b byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = b
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	box, err := NewBox(1, map[int][]byte{1: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal("shpss_supersecret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "hdsec:v1:") || strings.Contains(sealed, "supersecret") {
		t.Fatalf("sealed value looks wrong: %s", sealed)
	}
	got, err := box.Open(sealed)
	if err != nil || got != "shpss_supersecret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if again, _ := box.Seal("shpss_supersecret"); again == sealed {
		t.Fatal("two seals of one value must differ (random nonce)")
	}
}

func TestRotationOpensOldValues(t *testing.T) {
	old, _ := NewBox(1, map[int][]byte{1: testKey(1)})
	sealed, _ := old.Seal("loop-key")
	rotated, err := NewBox(2, map[int][]byte{1: testKey(1), 2: testKey(2)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealed); err != nil || got != "loop-key" {
		t.Fatalf("open old value after rotation: %q %v", got, err)
	}
	if !rotated.NeedsRotation(sealed) {
		t.Fatal("old value should need rotation")
	}
	fresh, _ := rotated.Seal("loop-key")
	if !strings.HasPrefix(fresh, "hdsec:v2:") || rotated.NeedsRotation(fresh) {
		t.Fatalf("new value should use v2: %s", fresh)
	}
}

func TestOpenRejectsTamperingAndWrongKey(t *testing.T) {
	box, _ := NewBox(1, map[int][]byte{1: testKey(1)})
	other, _ := NewBox(1, map[int][]byte{1: testKey(9)})
	sealed, _ := box.Seal("value")
	tampered := sealed[:len(sealed)-2] + "AA"
	for name, v := range map[string]string{"tampered": tampered, "plain": "value", "no version": "hdsec:vX:abc"} {
		if _, err := box.Open(v); !errors.Is(err, ErrUnreadable) {
			t.Errorf("%s: want ErrUnreadable, got %v", name, err)
		}
	}
	if _, err := other.Open(sealed); !errors.Is(err, ErrUnreadable) {
		t.Errorf("wrong key: want ErrUnreadable, got %v", err)
	}
	if _, err := box.Open("hdsec:v7:abc"); !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "v7") {
		t.Errorf("unknown version: %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	cur, keys, err := ParseKeys("2:" + hexKey + ", 1:" + strings.Repeat("cd", 32))
	if err != nil || cur != 2 || len(keys) != 2 {
		t.Fatalf("ParseKeys: cur=%d keys=%d err=%v", cur, len(keys), err)
	}
	for _, bad := range []string{"", "short", "x:" + hexKey, "1:" + hexKey + ",1:" + hexKey} {
		if _, _, err := ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) should fail", bad)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	spec, created, err := LoadOrCreateKeyFile(dir)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", info.Mode(), err)
	}
	again, created, err := LoadOrCreateKeyFile(dir)
	if err != nil || created || again != spec {
		t.Fatalf("second call must read the same key: created=%v err=%v", created, err)
	}
	if _, _, err := ParseKeys(spec); err != nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
}
