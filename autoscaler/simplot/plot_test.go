package simplot

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/autoscaler"
)

func TestWrite(t *testing.T) {
	r := autoscaler.SimResult{Series: []autoscaler.SimPoint{
		{T: 0, Demand: 10, Ready: 2, Replicas: 2, Desired: 2, Oracle: 2},
		{T: 1, Demand: 30, Ready: 2, Replicas: 5, Desired: 5, Oracle: 5},
		{T: 2, Demand: 30, Ready: 5, Replicas: 5, Desired: 5, Oracle: 5},
	}}
	var buf bytes.Buffer
	if err := Write(&buf, "step", r, 10, 640, 480); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Fatalf("image %v, want 640×480", b)
	}
	// Something was drawn: not one colour everywhere.
	first := img.At(0, 0)
	drawn := false
	for y := 0; y < 480 && !drawn; y += 7 {
		for x := 0; x < 640; x += 7 {
			if img.At(x, y) != first {
				drawn = true
				break
			}
		}
	}
	if !drawn {
		t.Fatal("blank image")
	}
	if err := Write(&buf, "empty", autoscaler.SimResult{}, 10, 640, 480); err == nil || !strings.Contains(err.Error(), "nothing to draw") {
		t.Fatalf("err %v", err)
	}
}
