package assets

import (
	"bytes"
	"image/png"
	"testing"
)

func TestIconIsSquarePNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(Icon))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != b.Dy() || b.Dx() < 256 {
		t.Errorf("icon is %v", b)
	}
}

func TestSmallIcon(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(SmallIcon))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 128 || b.Dy() != 128 {
		t.Errorf("small icon is %v", b)
	}
}
