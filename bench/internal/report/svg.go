package report

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/hexchi/starter/bench/internal/apps"
	"github.com/hexchi/starter/bench/internal/measure"
)

// series are the bars of each group, in order, with their legend and
// colour: the Okabe-Ito palette, which colour-blind readers can tell
// apart, and grey for the ceiling.
var series = []struct {
	label string
	color string
	setup func(idle bool) measure.Setup
}{
	{"hexchi", "#0072B2", func(idle bool) measure.Setup { return measure.Setup{Library: apps.Hexchi, Idle: idle} }},
	{"hexchi, near cache", "#56B4E9", func(idle bool) measure.Setup { return measure.Setup{Library: apps.Hexchi, Idle: idle, Near: true} }},
	{"scs", "#E69F00", func(idle bool) measure.Setup { return measure.Setup{Library: apps.SCS, Idle: idle} }},
	{"gorilla", "#009E73", func(idle bool) measure.Setup { return measure.Setup{Library: apps.Gorilla, Idle: idle} }},
	{"no session", "#999999", measure.Ceiling},
}

// ThroughputSVG draws the median throughput of every setup for read-only
// and modifying requests, idle timeout off and on, as a grouped bar chart.
func (r *Results) ThroughputSVG() string {
	var groups []barGroup
	for _, req := range measure.LoadRequests {
		for _, idle := range []bool{false, true} {
			g := barGroup{Label: string(req) + ", " + idleLabel(measure.Setup{Idle: idle})}
			for _, se := range series {
				s := se.setup(idle)
				sum, ok := r.LoadSummary(s, req)
				if !ok {
					continue
				}
				g.Bars = append(g.Bars, bar{Label: se.label, Value: sum.PerSecond, Color: se.color})
				if s.Library == apps.Hexchi && s.Near && sum.RatioVsSCS > 0 {
					g.Notes = append(g.Notes, fmt.Sprintf("near cache = %.2f× scs", sum.RatioVsSCS))
					if sum.VsCeiling > 0 {
						g.Notes = append(g.Notes, percent(sum.VsCeiling)+" of the ceiling")
					}
				}
			}
			groups = append(groups, g)
		}
	}
	sub := fmt.Sprintf("median of up to %d interleaved %s runs per bar (gorilla: %d), %d clients, %d CPUs shared by client, server and Redis",
		r.Run.Reps, human(r.Run.Duration), r.Run.GorillaReps, r.Run.Clients, r.Machine.CPUs)
	return barChart("Session middleware throughput on loopback, requests per second (higher is better)", sub, groups)
}

type barGroup struct {
	Label string
	Notes []string // lines under the label
	Bars  []bar
}

type bar struct {
	Label string
	Value float64
	Color string
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 920, 440
	marginL        = 64
	marginR        = 16
	marginT        = 78
	marginB        = 80
	barW           = 32
	barGap         = 5
)

// barChart returns a standalone SVG document: plain shapes and text, no
// script and no external resources, so that it renders anywhere markdown
// shows images.
func barChart(title, subtitle string, groups []barGroup) string {
	top := 0.0
	for _, g := range groups {
		for _, b := range g.Bars {
			top = math.Max(top, b.Value)
		}
	}
	step := niceStep(top / 5)
	yMax := math.Ceil(top*1.1/step) * step
	if yMax == 0 { // nothing measured: still draw a valid, empty chart
		yMax = step
	}
	plotW := float64(chartW - marginL - marginR)
	plotH := float64(chartH - marginT - marginB)
	y := func(v float64) float64 { return float64(marginT) + plotH*(1-v/yMax) }

	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartW, chartH)
	fmt.Fprintf(&s, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", marginL, esc(title))
	fmt.Fprintf(&s, `<text x="%d" y="40" fill="#555555">%s</text>`+"\n", marginL, esc(subtitle))

	// Grid lines and their labels.
	for v := 0.0; v <= yMax+step/2; v += step {
		fmt.Fprintf(&s, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#dddddd"/>`+"\n", marginL, chartW-marginR, y(v), y(v))
		fmt.Fprintf(&s, `<text x="%d" y="%.1f" text-anchor="end" fill="#555555">%s</text>`+"\n", marginL-6, y(v)+4, shortNumber(v))
	}

	// Legend: every series that has a bar somewhere.
	x := float64(marginL)
	for _, se := range series {
		if !hasBar(groups, se.label) {
			continue
		}
		fmt.Fprintf(&s, `<rect x="%.1f" y="52" width="12" height="12" fill="%s"/>`, x, se.color)
		fmt.Fprintf(&s, `<text x="%.1f" y="62">%s</text>`+"\n", x+16, esc(se.label))
		x += 40 + 7*float64(len(se.label))
	}

	// The groups, each centred in an equal slot.
	slot := plotW / float64(max(len(groups), 1))
	for i, g := range groups {
		cx := float64(marginL) + slot*(float64(i)+0.5)
		width := float64(len(g.Bars))*(barW+barGap) - barGap
		bx := cx - width/2
		for _, b := range g.Bars {
			fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s: %.0f req/s</title></rect>`+"\n",
				bx, y(b.Value), barW, y(0)-y(b.Value), b.Color, esc(b.Label), b.Value)
			fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%s</text>`+"\n",
				bx+barW/2, y(b.Value)-4, shortNumber(b.Value))
			bx += barW + barGap
		}
		if len(g.Bars) == 0 {
			fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555555">not measured</text>`+"\n", cx, y(0)-8)
		}
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", cx, chartH-marginB+20, esc(g.Label))
		for j, note := range g.Notes {
			fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle" fill="#0072B2" font-weight="bold">%s</text>`+"\n",
				cx, chartH-marginB+38+16*j, esc(note))
		}
	}
	fmt.Fprintf(&s, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#333333"/>`+"\n", marginL, chartW-marginR, y(0), y(0))
	s.WriteString("</svg>\n")
	return s.String()
}

func hasBar(groups []barGroup, label string) bool {
	for _, g := range groups {
		for _, b := range g.Bars {
			if b.Label == label {
				return true
			}
		}
	}
	return false
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten, so that grid
// lines fall on round numbers.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// shortNumber shows 12500 as "12.5k".
func shortNumber(v float64) string {
	if v >= 1000 {
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/1000), ".0") + "k"
	}
	return fmt.Sprintf("%.0f", v)
}

func esc(s string) string { return html.EscapeString(s) }
