// Package simplot draws a simulation of the autoscaler as a PNG: demand
// against ready capacity on top, instance counts below, over the trace's
// seconds. It is apart from package autoscaler so the decision core does
// not carry a plotting library into the server.
package simplot

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/swell-pipeline/swell/autoscaler"
)

var (
	demandColor   = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	capacityColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	replicaColor  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	oracleColor   = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
)

// Write draws r as a PNG of width × height pixels to w. target is the
// per-instance target, so ready capacity (ready × target) shares the
// demand's axis.
func Write(w io.Writer, title string, r autoscaler.SimResult, target float64, width, height int) error {
	if len(r.Series) == 0 {
		return fmt.Errorf("simplot: %s: nothing to draw", title)
	}
	demand := make(plotter.XYs, len(r.Series))
	capacity := make(plotter.XYs, len(r.Series))
	replicas := make(plotter.XYs, len(r.Series))
	ready := make(plotter.XYs, len(r.Series))
	oracle := make(plotter.XYs, len(r.Series))
	for i, p := range r.Series {
		x := float64(p.T)
		demand[i] = plotter.XY{X: x, Y: p.Demand}
		capacity[i] = plotter.XY{X: x, Y: float64(p.Ready) * target}
		replicas[i] = plotter.XY{X: x, Y: float64(p.Replicas)}
		ready[i] = plotter.XY{X: x, Y: float64(p.Ready)}
		oracle[i] = plotter.XY{X: x, Y: float64(p.Oracle)}
	}
	top := plot.New()
	top.Title.Text = title
	top.Y.Label.Text = "concurrent requests"
	if err := addLines(top, []series{
		{"demand", demand, demandColor, false},
		{"ready capacity (ready × target)", capacity, capacityColor, false},
	}); err != nil {
		return err
	}
	bottom := plot.New()
	bottom.X.Label.Text = "seconds"
	bottom.Y.Label.Text = "instances"
	if err := addLines(bottom, []series{
		{"instances", replicas, replicaColor, false},
		{"ready", ready, capacityColor, false},
		{"oracle", oracle, oracleColor, true},
	}); err != nil {
		return err
	}
	for _, p := range []*plot.Plot{top, bottom} {
		p.Legend.Top = true
		p.Legend.Left = true
		p.Y.Min = 0
	}
	img := vgimg.New(vg.Length(width)*vg.Inch/vg.Length(vgimg.DefaultDPI), vg.Length(height)*vg.Inch/vg.Length(vgimg.DefaultDPI))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8), PadY: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("simplot: write PNG: %w", err)
	}
	return nil
}

type series struct {
	name   string
	xys    plotter.XYs
	color  color.Color
	dashed bool
}

func addLines(p *plot.Plot, ss []series) error {
	for _, s := range ss {
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return fmt.Errorf("simplot: %s: %w", s.name, err)
		}
		l.Color = s.color
		l.Width = vg.Points(1)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		}
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	return nil
}
