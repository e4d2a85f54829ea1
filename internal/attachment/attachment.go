// Package attachment keeps the files of ticket messages in the database,
// so that any process on the database can serve them: the limits on what
// is accepted, the content type sniffed from the bytes (never the one a
// client claims), filenames made safe for headers, and the store.
//
// It is its own package rather than part of internal/ticket because files
// have rules of their own (sizes, sniffing, names, how they are served)
// that the conversation's rules do not need, and because the ticket use
// cases only ever hand it a message id inside their transaction.
package attachment

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Limits on what a message may carry. 10 MiB covers the photos, PDFs and
// spreadsheets a store's support sees; 25 MiB per message is what the
// large mail providers accept in one email, so a reply with its files can
// always be sent on by mail; 10 files keep the ticket view readable and
// bound the work of one form post. Everything is held in memory while a
// message is written, so these also bound a request's memory.
const (
	MaxFileBytes       = 10 << 20
	MaxMessageBytes    = 25 << 20
	MaxFilesPerMessage = 10
	// MaxRequestBytes bounds a whole multipart form carrying a message's
	// files: the files plus the text fields and the multipart framing.
	MaxRequestBytes = MaxMessageBytes + 1<<20
)

// ErrNotFound means no such attachment in this shop (or, for Add, no such
// message on that ticket).
var ErrNotFound = database.ErrNotFound

// Upload is a file as it arrives, before it is stored. Whatever content
// type the client claimed is not part of it: the type is sniffed.
type Upload struct {
	Filename string
	Data     []byte
	// ContentID names an inline image of a mail, which the mail's HTML
	// shows by cid: reference; "" for every other file.
	ContentID string
}

// Attachment is a stored file's metadata: what the ticket view lists.
type Attachment struct {
	ID          int64
	TicketID    int64
	MessageID   int64
	Filename    string
	ContentType string // sniffed, one of the allow-list or application/octet-stream
	Size        int64
	SHA256      string // hex
	ContentID   string // a mail's inline image: the name its HTML uses
	CreatedAt   time.Time
}

// Inline reports whether the file may be shown in the ticket view as an
// image (a thumbnail through ?inline=1).
func (a Attachment) Inline() bool { return InlineImage(a.ContentType) }

// File is an attachment with its bytes, for the download.
type File struct {
	Attachment
	Data []byte
}

// ValidationError names the file that was refused and why.
type ValidationError struct {
	Filename string
	Problem  string
}

func (e *ValidationError) Error() string {
	if e.Filename == "" {
		return "attachments: " + e.Problem
	}
	return fmt.Sprintf("attachment %q %s", e.Filename, e.Problem)
}

// Check applies the per-file and per-message limits to the files of one
// message, before anything is written: a form is refused as a whole, with
// the first file at fault named.
func Check(uploads []Upload) error {
	if len(uploads) > MaxFilesPerMessage {
		return &ValidationError{Problem: fmt.Sprintf("at most %d files per message", MaxFilesPerMessage)}
	}
	total := 0
	for _, u := range uploads {
		if err := checkFile(u); err != nil {
			return err
		}
		total += len(u.Data)
		if total > MaxMessageBytes {
			return &ValidationError{Filename: CleanFilename(u.Filename),
				Problem: fmt.Sprintf("makes the message's files larger than %d MiB together", MaxMessageBytes>>20)}
		}
	}
	return nil
}

func checkFile(u Upload) error {
	switch {
	case len(u.Data) == 0:
		return &ValidationError{Filename: CleanFilename(u.Filename), Problem: "is empty"}
	case len(u.Data) > MaxFileBytes:
		return &ValidationError{Filename: CleanFilename(u.Filename), Problem: fmt.Sprintf("is larger than %d MiB", MaxFileBytes>>20)}
	}
	return nil
}

// Store reads and writes attachments. Every query is scoped by shop.
type Store struct {
	db  database.Querier
	now func() time.Time
}

// NewStore returns the attachment store over db; now stamps new files
// (time.Now when nil).
func NewStore(db database.Querier, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// With returns the store running on q: the transaction that writes the
// message, so that the message and its files commit or roll back together.
func (s *Store) With(q database.Querier) *Store { return &Store{db: q, now: s.now} }

// Add stores one file of a message. Call it on a store bound to the
// transaction that wrote the message. The limits are checked against the
// files the message already has, so calling Add per file keeps them too;
// the content type is sniffed from the bytes and the name cleaned. A
// message that is not on that ticket of that shop is ErrNotFound.
func (s *Store) Add(ctx context.Context, shopID, ticketID, messageID int64, u Upload) (*Attachment, error) {
	if err := checkFile(u); err != nil {
		return nil, err
	}
	a := &Attachment{TicketID: ticketID, MessageID: messageID, Filename: CleanFilename(u.Filename),
		ContentType: Sniff(u.Filename, u.Data), Size: int64(len(u.Data)), ContentID: u.ContentID, CreatedAt: s.now().UTC()}
	sum := sha256.Sum256(u.Data)
	a.SHA256 = hex.EncodeToString(sum[:])
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var count, total int64
		err := tx.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM attachments WHERE shop_id = ? AND message_id = ?`,
			shopID, messageID).Scan(&count, &total)
		if err != nil {
			return fmt.Errorf("attachment: files of message %d: %w", messageID, err)
		}
		if count >= MaxFilesPerMessage {
			return &ValidationError{Filename: a.Filename, Problem: fmt.Sprintf("is one file too many: at most %d files per message", MaxFilesPerMessage)}
		}
		if total+a.Size > MaxMessageBytes {
			return &ValidationError{Filename: a.Filename,
				Problem: fmt.Sprintf("makes the message's files larger than %d MiB together", MaxMessageBytes>>20)}
		}
		// The message is looked up with its ticket, so a file can never
		// hang on one ticket's message while naming another ticket.
		err = tx.QueryRow(ctx, `INSERT INTO attachments (shop_id, ticket_id, message_id, filename, content_type, size_bytes, sha256, data,
			content_id, created_at)
			SELECT m.shop_id, m.ticket_id, m.id, ?, ?, ?, ?, ?, ?, ? FROM ticket_messages m
			WHERE m.shop_id = ? AND m.id = ? AND m.ticket_id = ? RETURNING id`,
			a.Filename, a.ContentType, a.Size, a.SHA256, u.Data, a.ContentID, database.Time(a.CreatedAt), shopID, messageID, ticketID).Scan(&a.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("attachment: add to message %d: %w", messageID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

const metadataColumns = `id, ticket_id, message_id, filename, content_type, size_bytes, sha256, content_id, created_at`

func scanMetadata(row interface{ Scan(...any) error }, extra ...any) (Attachment, error) {
	var a Attachment
	err := row.Scan(append([]any{&a.ID, &a.TicketID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.ContentID,
		(*database.Time)(&a.CreatedAt)}, extra...)...)
	return a, err
}

// ForMessages lists the files of the given messages, without their bytes,
// keyed by message id and in the order they were added: the ticket view's
// one query for the whole conversation.
func (s *Store) ForMessages(ctx context.Context, shopID int64, messageIDs []int64) (map[int64][]Attachment, error) {
	out := map[int64][]Attachment{}
	if len(messageIDs) == 0 {
		return out, nil
	}
	in, ids := database.InList(messageIDs)
	rows, err := s.db.Query(ctx, `SELECT `+metadataColumns+` FROM attachments WHERE shop_id = ? AND message_id IN (`+in+`) ORDER BY id`,
		append([]any{shopID}, ids...)...)
	if err != nil {
		return nil, fmt.Errorf("attachment: files of messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanMetadata(rows)
		if err != nil {
			return nil, fmt.Errorf("attachment: scan: %w", err)
		}
		out[a.MessageID] = append(out[a.MessageID], a)
	}
	return out, rows.Err()
}

// Open returns one file of the shop with its bytes.
func (s *Store) Open(ctx context.Context, shopID, id int64) (*File, error) {
	var f File
	var err error
	f.Attachment, err = scanMetadata(s.db.QueryRow(ctx, `SELECT `+metadataColumns+`, data FROM attachments WHERE shop_id = ? AND id = ?`,
		shopID, id), &f.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("attachment: open %d: %w", id, err)
	}
	return &f, nil
}

// SizeLabel is the file's size for people: bytes, KB or MB (decimal
// units, as file managers show them).
func (a Attachment) SizeLabel() string {
	switch {
	case a.Size < 1000:
		return fmt.Sprintf("%d B", a.Size)
	case a.Size < 1000_000:
		return fmt.Sprintf("%.0f KB", float64(a.Size)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(a.Size)/1000_000)
}

// ReadForTicket queues into b the read of the files of a ticket's
// messages, by message id (as ForMessages), for a page batching the
// ticket's reads.
func ReadForTicket(b *database.Batch, shopID, ticketID int64, into map[int64][]Attachment) {
	b.Read(`SELECT `+metadataColumns+` FROM attachments WHERE shop_id = ? AND ticket_id = ? ORDER BY id`, []any{shopID, ticketID},
		func(row database.RowScanner) error {
			a, err := scanMetadata(row)
			if err != nil {
				return fmt.Errorf("attachment: scan: %w", err)
			}
			into[a.MessageID] = append(into[a.MessageID], a)
			return nil
		})
}
