package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxSignatureRunes bounds a mail signature: a name, a role, a line or
// two of contact details.
const MaxSignatureRunes = 500

// ErrSignatureTooLong refuses a signature over MaxSignatureRunes.
var ErrSignatureTooLong = fmt.Errorf("user: a signature is at most %d characters", MaxSignatureRunes)

// MailSignature is the text the person's replies end with in mail; ""
// for none.
func (s *Store) MailSignature(ctx context.Context, shopID, userID int64) (string, error) {
	var sig string
	err := s.db.QueryRow(ctx, `SELECT mail_signature FROM users WHERE shop_id = ? AND id = ?`, shopID, userID).Scan(&sig)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("user: signature of %d: %w", userID, err)
	}
	return sig, nil
}

// SetMailSignature keeps the person's signature, trimmed, with Windows
// line ends made plain.
func (s *Store) SetMailSignature(ctx context.Context, shopID, userID int64, signature string) error {
	signature = strings.TrimSpace(strings.ReplaceAll(signature, "\r\n", "\n"))
	if utf8.RuneCountInString(signature) > MaxSignatureRunes {
		return ErrSignatureTooLong
	}
	res, err := s.db.Exec(ctx, `UPDATE users SET mail_signature = ? WHERE shop_id = ? AND id = ?`, signature, shopID, userID)
	if err != nil {
		return fmt.Errorf("user: set signature of %d: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}
