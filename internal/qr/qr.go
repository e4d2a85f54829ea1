// Package qr renders QR codes locally (no third party sees the link):
// github.com/yeqown/go-qrcode/v2 computes the module matrix, and this
// package draws it as inline SVG for pages and as PNG for downloads.
package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// quietZone is the blank margin, in modules, that readers need around a
// code (ISO/IEC 18004 asks for four).
const quietZone = 4

// MaxText bounds what is encoded: a deep link is far shorter, and a
// larger code would be unreadable on a phone screen anyway.
const MaxText = 1024

// Code is the module matrix of one QR code: Dark[y][x] is true for a dark
// module.
type Code struct {
	Dark [][]bool
}

// Encode computes the QR code of text at error correction level M, which
// survives a smudged print or a screen glare without making a deep link's
// code too dense to scan.
func Encode(text string) (Code, error) {
	if text == "" || len(text) > MaxText {
		return Code{}, fmt.Errorf("qr: text must be 1 to %d bytes", MaxText)
	}
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return Code{}, fmt.Errorf("qr: encode: %w", err)
	}
	var m matrixWriter
	if err := q.Save(&m); err != nil {
		return Code{}, fmt.Errorf("qr: encode: %w", err)
	}
	return m.code, nil
}

// matrixWriter receives the finished matrix from the encoder.
type matrixWriter struct{ code Code }

func (w *matrixWriter) Write(mat qrcode.Matrix) error {
	dark := make([][]bool, mat.Height())
	for y := range dark {
		dark[y] = make([]bool, mat.Width())
	}
	mat.Iterate(qrcode.IterDirection_ROW, func(x, y int, v qrcode.QRValue) {
		dark[y][x] = v.IsSet()
	})
	w.code.Dark = dark
	return nil
}

func (w *matrixWriter) Close() error { return nil }

// Size is the code's width in modules, without the quiet zone.
func (c Code) Size() int { return len(c.Dark) }

// SVG draws the code as one path of unit squares in a viewBox of modules,
// so it scales to any size without blurring; title names it for screen
// readers. Nothing of the text is written into the SVG but the title,
// which is escaped.
func (c Code) SVG(title string) string {
	n := c.Size() + 2*quietZone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" class="qr">`, n, n)
	if title != "" {
		b.WriteString("<title>")
		b.WriteString(escapeXML(title))
		b.WriteString("</title>")
	}
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range c.Dark {
		// Runs of dark modules become one rectangle each, which keeps the
		// path a few kilobytes for a deep link.
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start+quietZone, y+quietZone, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}

// PNG draws the code in black on white, scale pixels per module.
func (c Code) PNG(scale int) ([]byte, error) {
	if scale < 1 {
		scale = 1
	}
	n := (c.Size() + 2*quietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, n, n), color.Palette{color.White, color.Black})
	// Draw one pixel row per module row, then copy it scale times: the
	// pixels are the palette index, 1 for dark.
	for y, row := range c.Dark {
		top := (y + quietZone) * scale
		line := img.Pix[top*img.Stride : top*img.Stride+n]
		for x, dark := range row {
			if dark {
				start := (x + quietZone) * scale
				for i := start; i < start+scale; i++ {
					line[i] = 1
				}
			}
		}
		for dy := 1; dy < scale; dy++ {
			copy(img.Pix[(top+dy)*img.Stride:], line)
		}
	}
	var buf bytes.Buffer
	// Two colours compress well at any level; the fastest keeps a click
	// quick.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: png: %w", err)
	}
	return buf.Bytes(), nil
}

func escapeXML(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
