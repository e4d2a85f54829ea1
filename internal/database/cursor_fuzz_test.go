package database_test

import (
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
)

// FuzzDecodeCursor: a cursor comes back from the browser or an API client,
// so any string may arrive. Decoding never panics, refuses what the server
// could not have made (ErrBadCursor, which the pages answer as a 400), and
// what it accepts encodes back to a cursor that decodes to the same place.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(database.EncodeCursor(1_780_000_000_123, 42))
	f.Add(database.EncodeCursor(-1, 1))
	f.Add(database.EncodeCursor(0, 9_223_372_036_854_775_807))
	f.Add("")
	f.Add("MTox")  // "1:1"
	f.Add("MTow")  // "1:0": no row has id 0
	f.Add("Oi0x")  // ":-1"
	f.Add("MTox=") // padded
	f.Add(database.EncodeTextCursor("Olivia Johnson", 7))
	f.Add(database.EncodeTextCursor("", 7))
	f.Add("dDE6")   // "t1:"
	f.Add("dDA6YQ") // "t0:a"
	f.Fuzz(func(t *testing.T, c string) {
		cur, err := database.DecodeCursor(c)
		if err != nil {
			if err != database.ErrBadCursor {
				t.Fatalf("DecodeCursor(%q) = %v, want ErrBadCursor", c, err)
			}
			return
		}
		if cur.ID <= 0 {
			t.Fatalf("DecodeCursor(%q) accepted id %d", c, cur.ID)
		}
		again, err := database.DecodeCursor(cur.Encode())
		if err != nil || *again != *cur {
			t.Fatalf("cursor %q: re-encoded it decodes to %+v, %v; want %+v", c, again, err, cur)
		}
	})
}
