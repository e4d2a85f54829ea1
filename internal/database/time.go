package database

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Time stores a time.Time as Unix milliseconds in a BIGINT column. Integers
// compare and index the same way on SQLite and PostgreSQL, which the
// "newer updated_at wins" upserts depend on; text timestamps do not.
type Time time.Time

// Value implements driver.Valuer.
func (t Time) Value() (driver.Value, error) { return time.Time(t).UnixMilli(), nil }

// Scan implements sql.Scanner.
func (t *Time) Scan(src any) error {
	ms, err := toInt64(src)
	if err != nil {
		return err
	}
	*t = Time(time.UnixMilli(ms).UTC())
	return nil
}

// NullTime is a nullable Time; a nil pointer is SQL NULL.
type NullTime struct{ T **time.Time }

// OptionalTime wraps a *time.Time for use as a query argument.
func OptionalTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// ScanOptionalTime returns a Scanner that fills *dst, leaving it nil for NULL.
func ScanOptionalTime(dst **time.Time) NullTime { return NullTime{T: dst} }

// Scan implements sql.Scanner.
func (n NullTime) Scan(src any) error {
	if src == nil {
		*n.T = nil
		return nil
	}
	ms, err := toInt64(src)
	if err != nil {
		return err
	}
	t := time.UnixMilli(ms).UTC()
	*n.T = &t
	return nil
}

func toInt64(src any) (int64, error) {
	switch v := src.(type) {
	case int64:
		return v, nil
	case int32:
		return int64(v), nil
	case float64:
		return int64(v), nil
	default:
		return 0, fmt.Errorf("database: cannot scan %T into a time", src)
	}
}
