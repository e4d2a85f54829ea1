package qr_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/qr"
	"github.com/hubdesk/hubdesk/internal/qr/qrtest"
)

func TestPNGDecodesBackToTheText(t *testing.T) {
	for _, text := range []string{
		"https://demo-shop.loopreturns.com/#/link/3f2b7c1e-0c4a-4f59-9a51-6a3c2f1b9d10",
		"https://returns.example.com/?order=%231001&email=shopper%40example.com",
		"x",
	} {
		code, err := qr.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		img, err := code.PNG(4)
		if err != nil {
			t.Fatal(err)
		}
		got, err := qrtest.DecodePNG(img)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got != text {
			t.Fatalf("decoded %q, want %q", got, text)
		}
	}
}

// The SVG must draw the same modules as the PNG: rebuild the matrix from
// the path and compare.
func TestSVGDrawsTheMatrix(t *testing.T) {
	code, err := qr.Encode("https://demo-shop.loopreturns.com/#/link/abc")
	if err != nil {
		t.Fatal(err)
	}
	svg := code.SVG(`Return <link> & "QR"`)
	if !strings.Contains(svg, "<title>Return &lt;link&gt; &amp; &quot;QR&quot;</title>") {
		t.Fatalf("title not escaped: %s", svg[:200])
	}
	n := code.Size()
	got := make([][]bool, n)
	for i := range got {
		got[i] = make([]bool, n)
	}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)`).FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		for i := 0; i < w; i++ {
			got[y-4][x-4+i] = true
		}
	}
	for y := range n {
		for x := range n {
			if got[y][x] != code.Dark[y][x] {
				t.Fatalf("module (%d,%d): svg %v, matrix %v", x, y, got[y][x], code.Dark[y][x])
			}
		}
	}
}

func TestEncodeRefusesEmptyAndHugeText(t *testing.T) {
	if _, err := qr.Encode(""); err == nil {
		t.Fatal("empty text encoded")
	}
	if _, err := qr.Encode(strings.Repeat("a", qr.MaxText+1)); err == nil {
		t.Fatal("huge text encoded")
	}
}

// Initiate return draws a code per click: encoding a deep link and
// drawing it should cost well under a millisecond.
func BenchmarkDeepLinkSVG(b *testing.B) {
	const link = "https://demo-shop.loopreturns.com/#/link/3f2b7c1e-0c4a-4f59-9a51-6a3c2f1b9d10"
	for b.Loop() {
		code, err := qr.Encode(link)
		if err != nil {
			b.Fatal(err)
		}
		_ = code.SVG("QR")
	}
}

func BenchmarkDeepLinkPNG(b *testing.B) {
	code, err := qr.Encode("https://demo-shop.loopreturns.com/#/link/3f2b7c1e-0c4a-4f59-9a51-6a3c2f1b9d10")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := code.PNG(8); err != nil {
			b.Fatal(err)
		}
	}
}
