// Package simplot draws a simulation of the autoscaler as a PNG: demand
// against ready capacity on top, instance counts below, over the trace's
// seconds. It draws with the standard library's image packages and a
// bitmap font, so the one swell binary every agent runs does not carry a
// plotting library and its fonts (several megabytes of resident memory).
package simplot

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/swell-pipeline/swell/autoscaler"
)

var (
	background    = color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	ink           = color.RGBA{R: 0x22, G: 0x22, B: 0x22, A: 0xff}
	grid          = color.RGBA{R: 0xe4, G: 0xe4, B: 0xe4, A: 0xff}
	demandColor   = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	capacityColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	replicaColor  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	oracleColor   = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
)

// series is one line of a panel.
type series struct {
	name   string
	ys     []float64
	color  color.RGBA
	dashed bool
}

// Write draws r as a PNG of width × height pixels to w. target is the
// per-instance target, so ready capacity (ready × target) shares the
// demand's axis.
func Write(w io.Writer, title string, r autoscaler.SimResult, target float64, width, height int) error {
	if len(r.Series) == 0 {
		return fmt.Errorf("simplot: %s: nothing to draw", title)
	}
	if width < 200 || height < 200 {
		return fmt.Errorf("simplot: %d×%d is too small (want at least 200×200)", width, height)
	}
	n := len(r.Series)
	xs := make([]float64, n)
	demand, capacity := make([]float64, n), make([]float64, n)
	replicas, ready, oracle := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, p := range r.Series {
		xs[i] = float64(p.T)
		demand[i], capacity[i] = p.Demand, float64(p.Ready)*target
		replicas[i], ready[i], oracle[i] = float64(p.Replicas), float64(p.Ready), float64(p.Oracle)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), &image.Uniform{C: background}, image.Point{}, draw.Src)
	c := canvas{img: img}
	c.text(width/2-len(title)*charW/2, 16, title, ink)
	const top, gap, bottom = 28, 24, 34
	panelH := (height - top - gap - bottom) / 2
	c.panel(image.Rect(0, top, width, top+panelH), xs, "concurrent requests", "", []series{
		{"demand", demand, demandColor, false},
		{"ready capacity (ready x target)", capacity, capacityColor, false},
	})
	c.panel(image.Rect(0, top+panelH+gap, width, top+2*panelH+gap), xs, "instances", "seconds", []series{
		{"instances", replicas, replicaColor, false},
		{"ready", ready, capacityColor, false},
		{"oracle", oracle, oracleColor, true},
	})
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("simplot: write PNG: %w", err)
	}
	return nil
}

// charW and charH are the bitmap font's cell.
const (
	charW = 7
	charH = 13
)

type canvas struct{ img *image.RGBA }

// text draws s with its baseline at y.
func (c canvas) text(x, y int, s string, col color.Color) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// panel draws the series over xs into r: axes with ticks from 0, a legend
// at the top left, and the lines.
func (c canvas) panel(r image.Rectangle, xs []float64, ylabel, xlabel string, ss []series) {
	ymax := 1.0
	for _, s := range ss {
		for _, y := range s.ys {
			ymax = math.Max(ymax, y)
		}
	}
	ystep := niceStep(ymax * 1.1 / 5)
	ymax = math.Ceil(ymax*1.1/ystep) * ystep
	xmin, xmax := xs[0], xs[len(xs)-1]
	if xmax <= xmin {
		xmax = xmin + 1
	}
	xstep := niceStep((xmax - xmin) / 8)
	labelW := (len(strconv.FormatFloat(ymax, 'f', -1, 64)) + 1) * charW
	plot := image.Rect(r.Min.X+labelW+22, r.Min.Y+charH+8, r.Max.X-12, r.Max.Y-charH-6)
	px := func(x float64) int {
		return plot.Min.X + int(math.Round((x-xmin)/(xmax-xmin)*float64(plot.Dx())))
	}
	py := func(y float64) int {
		return plot.Max.Y - int(math.Round(y/ymax*float64(plot.Dy())))
	}
	for y := 0.0; y <= ymax+ystep/2; y += ystep {
		c.line(plot.Min.X, py(y), plot.Max.X, py(y), grid, false)
		l := strconv.FormatFloat(y, 'f', -1, 64)
		c.text(plot.Min.X-6-len(l)*charW, py(y)+4, l, ink)
	}
	for x := math.Ceil(xmin/xstep) * xstep; x <= xmax; x += xstep {
		c.line(px(x), plot.Max.Y, px(x), plot.Max.Y+4, ink, false)
		l := strconv.FormatFloat(x, 'f', -1, 64)
		c.text(px(x)-len(l)*charW/2, plot.Max.Y+4+charH, l, ink)
	}
	c.line(plot.Min.X, plot.Min.Y, plot.Min.X, plot.Max.Y, ink, false)
	c.line(plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y, ink, false)
	// The y label sits above the axis (the bitmap font has no rotation).
	c.text(r.Min.X+4, r.Min.Y+charH, ylabel, ink)
	if xlabel != "" {
		c.text(plot.Min.X+plot.Dx()/2-len(xlabel)*charW/2, r.Max.Y+6, xlabel, ink)
	}
	for _, s := range ss {
		for i := 1; i < len(xs); i++ {
			c.thick(px(xs[i-1]), py(s.ys[i-1]), px(xs[i]), py(s.ys[i]), s.color, s.dashed)
		}
	}
	for i, s := range ss {
		y := plot.Min.Y + 14 + i*(charH+2)
		c.thick(plot.Min.X+60, y, plot.Min.X+84, y, s.color, s.dashed)
		c.text(plot.Min.X+90, y+4, s.name, ink)
	}
}

// thick draws a two-pixel line.
func (c canvas) thick(x0, y0, x1, y1 int, col color.RGBA, dashed bool) {
	c.line(x0, y0, x1, y1, col, dashed)
	c.line(x0, y0+1, x1, y1+1, col, dashed)
}

// line draws from (x0, y0) to (x1, y1) (Bresenham); dashed lines draw 6
// pixels of every 10.
func (c canvas) line(x0, y0, x1, y1 int, col color.RGBA, dashed bool) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for k := 0; ; k++ {
		if !dashed || k%10 < 6 {
			c.img.SetRGBA(x0, y0, col)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
