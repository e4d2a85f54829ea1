package attachment

import (
	"bytes"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// OctetStream is the type of every file whose bytes are not one of the
// allowed kinds: browsers only offer to save it.
const OctetStream = "application/octet-stream"

// allowed are the types a store's helpdesk sees — photos of parcels and
// damage, invoices, text and spreadsheets, office files, archives — as
// http.DetectContentType names them. Anything else (HTML, SVG, XML,
// scripts, executables) is stored as OctetStream.
var allowed = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true,
	"application/pdf": true, "text/plain": true, "application/zip": true,
}

// inlineImages may be shown inside the desk through ?inline=1. SVG is not
// among them and never will be: an SVG is a document that can carry
// script and links, not just pixels; the raster types here cannot.
var inlineImages = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// InlineImage reports whether a stored content type may be shown inline.
func InlineImage(contentType string) bool { return inlineImages[contentType] }

// Office formats are containers the sniffer only sees as ZIP (Office Open
// XML, OpenDocument) or as nothing it knows (the OLE2 files of older
// Office). The name's extension picks the exact type only when the bytes
// are already that container, so a name can never turn bytes into a type
// they are not.
var (
	zipByExtension = map[string]string{
		".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
		".odt":  "application/vnd.oasis.opendocument.text",
		".ods":  "application/vnd.oasis.opendocument.spreadsheet",
		".odp":  "application/vnd.oasis.opendocument.presentation",
	}
	oleByExtension = map[string]string{
		".doc": "application/msword",
		".xls": "application/vnd.ms-excel",
		".ppt": "application/vnd.ms-powerpoint",
	}
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// Sniff names a file's content type from its bytes (http.DetectContentType)
// and the allow-list; the filename only refines a container the bytes
// already are (a ZIP that is a .docx, text that is a .csv). Whatever type
// the client claimed plays no part.
func Sniff(filename string, data []byte) string {
	detected, _, _ := strings.Cut(http.DetectContentType(data), ";")
	ext := strings.ToLower(path.Ext(CleanFilename(filename)))
	switch {
	case detected == "application/zip" && zipByExtension[ext] != "":
		return zipByExtension[ext]
	case detected == OctetStream && bytes.HasPrefix(data, oleMagic) && oleByExtension[ext] != "":
		return oleByExtension[ext]
	case detected == "text/plain" && ext == ".csv":
		return "text/csv"
	case allowed[detected]:
		return detected
	}
	return OctetStream
}

// MaxFilenameRunes caps a stored name: long enough for any real file, short
// enough for a header and one line of the ticket view.
const MaxFilenameRunes = 150

// CleanFilename makes a client's filename safe to store and to put in a
// Content-Disposition header: only the last path element (either slash),
// line breaks and tabs made spaces, no control or invisible formatting
// characters (NUL, bidi overrides) and no invalid UTF-8, no quotes,
// whitespace collapsed, leading dots dropped (no hidden files), at most
// MaxFilenameRunes runes with the extension kept; "attachment" when
// nothing is left.
func CleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r): // tabs and line breaks included
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			return -1
		case r == '"' || r == '*' || r == '?' || r == '<' || r == '>' || r == '|' || r == ':':
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.Join(strings.Fields(name), " "), ". ")
	if utf8.RuneCountInString(name) > MaxFilenameRunes {
		ext := path.Ext(name)
		if utf8.RuneCountInString(ext) > 16 {
			ext = ""
		}
		base := []rune(strings.TrimSuffix(name, ext))
		name = strings.TrimSpace(string(base[:MaxFilenameRunes-utf8.RuneCountInString(ext)])) + ext
	}
	if name == "" {
		return "attachment"
	}
	return name
}

// ContentDisposition is the header value for a stored file (RFC 6266):
// an ASCII-only filename for old clients and the exact name as RFC 5987's
// filename* for every current one.
func ContentDisposition(disposition, filename string) string {
	name := CleanFilename(filename)
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' || r == ';' {
			return '_'
		}
		return r
	}, name)
	return disposition + `; filename="` + ascii + `"; filename*=UTF-8''` + encodeExtValue(name)
}

// encodeExtValue percent-encodes every byte that is not an attr-char of
// RFC 5987 (letters, digits and !#$&+-.^_`|~).
func encodeExtValue(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
