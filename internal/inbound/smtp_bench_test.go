package inbound_test

import (
	"fmt"
	"net/smtp"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// BenchmarkSMTPIntake measures mail accepted over SMTP: each operation is
// one message, MAIL to 250, stored with its processing job, on both
// engines; serial is one sending connection, parallel one per goroutine
// (GOMAXPROCS × -cpu). msgs/s is reported.
//
//	HUBDESK_TEST_POSTGRES_URL=… go test ./internal/inbound -run '^$' -bench SMTPIntake -benchtime 2000x
func BenchmarkSMTPIntake(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.Open(b, d)
			r := startSMTP(b, db)
			b.Run("serial", func(b *testing.B) {
				c := dialSMTP(b, r.addr)
				defer c.Quit()
				b.ResetTimer()
				for i := range b.N {
					sendOn(b, c, fmt.Sprintf("serial-%d-%d", b.N, i))
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
			b.Run("parallel", func(b *testing.B) {
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					c := dialSMTP(b, r.addr)
					defer c.Quit()
					for i := 0; pb.Next(); i++ {
						sendOn(b, c, fmt.Sprintf("parallel-%p-%d", c, i))
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		})
	}
}

func dialSMTP(b *testing.B, addr string) *smtp.Client {
	c, err := smtp.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Hello("bench.example"); err != nil {
		b.Fatal(err)
	}
	return c
}

func sendOn(b *testing.B, c *smtp.Client, id string) {
	if err := c.Mail("ada@example.com"); err != nil {
		b.Fatal(err)
	}
	if err := c.Rcpt("support@shop-a.example"); err != nil {
		b.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		b.Fatal(err)
	}
	// A typical support mail: a few headers and a paragraph or two.
	if _, err := w.Write(message(id, "Hello, my order #1001 has not arrived. It was due on Monday; the tracking page has said 'in transit' for a week. Could you look into it? Thanks, Ada")); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
