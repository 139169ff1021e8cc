package report

import (
	"math"
	"strconv"
	"strings"
)

// Chart geometry: every chart is drawn in a viewBox of chartW × chartH and
// scales to its box; the plot area leaves room for the axes' labels.
const (
	chartW     = 640
	chartH     = 240
	plotLeft   = 64
	plotRight  = chartW - 30
	plotTop    = 14
	plotBottom = chartH - 30
	// maxPoints bounds a time series: longer runs are drawn in steps of several seconds.
	maxPoints = 600
)

// Chart is one SVG chart, drawn here and rendered by the template. The data
// domain and the plot box travel as attributes, so that the page's script can
// turn a pointer position back into values.
type Chart struct {
	ID, Title, Note string
	// Scale of the x axis: "time" (seconds) or "pct" (percentile on a log(1/(1-p)) axis).
	Scale          string
	Unit           string // of the y axis
	X0, X1, Y0, Y1 float64
	XTicks, YTicks []Tick
	Series         []Series
	Empty          bool // nothing to draw
}

// Tick is one axis label at Pos (px in the viewBox).
type Tick struct {
	Pos   float64
	Label string
}

// Series is one line of a chart: Path is an SVG path in viewBox units (gaps
// where there is no value); Class picks its colour.
type Series struct {
	Name, Class, Path string
	Dashed            bool
}

// Geometry for the template.
func (Chart) W() int          { return chartW }
func (Chart) H() int          { return chartH }
func (Chart) Left() float64   { return plotLeft }
func (Chart) Right() float64  { return plotRight }
func (Chart) Top() float64    { return plotTop }
func (Chart) Bottom() float64 { return plotBottom }

// line is a series before drawing: ys[i] belongs to xs[i]; NaN is a gap.
type line struct {
	name   string
	class  int
	dashed bool
	xs, ys []float64
}

// niceStep is 1, 2 or 5 times a power of ten, about span/n.
func niceStep(span float64, n int) float64 {
	if span <= 0 || math.IsInf(span, 0) || math.IsNaN(span) {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// draw scales the lines into the plot box: x over [x0, x1], y over [0, a nice
// maximum], and makes the y ticks (formatted by yLabel).
func draw(c *Chart, lines []line, yLabel func(float64) string) {
	ymax, points := 0.0, 0
	for _, l := range lines {
		for i, y := range l.ys {
			if math.IsNaN(y) || math.IsInf(y, 0) || y < 0 || math.IsNaN(l.xs[i]) || math.IsInf(l.xs[i], 0) {
				l.ys[i] = math.NaN() // not drawable: a gap
				continue
			}
			ymax = max(ymax, y)
			points++
		}
	}
	c.Empty = points == 0
	if ymax <= 0 {
		ymax = 1 // all zero: an axis of 0 to 1
	}
	step := niceStep(ymax, 4)
	c.Y0, c.Y1 = 0, math.Ceil(ymax/step-1e-9)*step
	for i := 0; float64(i)*step <= c.Y1+step/2; i++ {
		v := float64(i) * step
		c.YTicks = append(c.YTicks, Tick{Pos: c.py(v), Label: yLabel(v)})
	}
	for _, l := range lines {
		var b strings.Builder
		pen := false
		for i, y := range l.ys {
			if math.IsNaN(y) {
				pen = false
				continue
			}
			if pen {
				b.WriteByte('L')
			} else {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteByte('M')
			}
			b.WriteString(num(c.px(l.xs[i])))
			b.WriteByte(' ')
			b.WriteString(num(c.py(y)))
			pen = true
		}
		c.Series = append(c.Series, Series{Name: l.name, Class: "s" + strconv.Itoa(l.class%palette), Path: b.String(), Dashed: l.dashed})
	}
}

// palette is how many series colours the stylesheet defines (.s0 … .s9).
const palette = 10

func (c *Chart) px(x float64) float64 {
	if c.X1 == c.X0 {
		return plotLeft
	}
	return plotLeft + (x-c.X0)/(c.X1-c.X0)*(plotRight-plotLeft)
}

func (c *Chart) py(y float64) float64 {
	return plotBottom - (y-c.Y0)/(c.Y1-c.Y0)*(plotBottom-plotTop)
}

// num writes a coordinate with one decimal: a tenth of a viewBox unit is finer than any screen.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// timeChart draws series over the run's seconds xs (each series' ys belong to xs).
func timeChart(id, title, unit string, xs []float64, lines []line, yLabel func(float64) string) Chart {
	c := Chart{ID: id, Title: title, Scale: "time", Unit: unit}
	last := 1.0
	if len(xs) > 0 {
		last = max(xs[len(xs)-1], 1)
	}
	c.X0, c.X1 = 0, last
	step := niceTimeStep(last)
	for v := 0.0; v <= last+1e-9; v += step {
		c.XTicks = append(c.XTicks, Tick{Pos: c.px(v), Label: fmtClock(v)})
	}
	for i := range lines {
		lines[i].xs = xs
	}
	draw(&c, lines, yLabel)
	return c
}

// niceTimeStep picks a time axis step in seconds: about six labels, on whole
// seconds, minutes or hours.
func niceTimeStep(span float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400} {
		if span/s <= 7 {
			return s
		}
	}
	return niceStep(span, 6)
}

// fmtClock is a time axis label: 45s, 2m, 2m30s, 1h5m.
func fmtClock(s float64) string {
	t := int64(math.Round(s))
	h, m, sec := t/3600, t/60%60, t%60
	var b strings.Builder
	if h > 0 {
		b.WriteString(strconv.FormatInt(h, 10) + "h")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(m, 10) + "m")
	}
	if sec > 0 || t == 0 {
		b.WriteString(strconv.FormatInt(sec, 10) + "s")
	}
	return b.String()
}

// pctX places percentile p (0 ≤ p < 100) on the spectrum's x axis: log10(1/(1-p)),
// so that 90% is at 1, 99% at 2, 99.9% at 3.
func pctX(p float64) float64 { return -math.Log10(1 - p/100) }

// spectrumChart draws percentile spectra ([percentile, ms] points). The 100%
// point (the maximum) sits one tick past the last finite point.
func spectrumChart(id, title string, spectra []line) Chart {
	c := Chart{ID: id, Title: title, Scale: "pct", Unit: "ms"}
	xmax := 2.0 // at least to 99%
	for i := range spectra {
		l := &spectra[i]
		xs := make([]float64, len(l.xs))
		for j, p := range l.xs {
			if p >= 100 {
				prev := 0.0
				if j > 0 {
					prev = xs[j-1]
				}
				xs[j] = prev + math.Log10(2)/5
			} else {
				xs[j] = pctX(p)
			}
			if !math.IsNaN(xs[j]) && !math.IsInf(xs[j], 0) {
				xmax = max(xmax, xs[j])
			}
		}
		l.xs = xs
	}
	// Past 99.9999999999% the axis says nothing more; a wild percentile must not stretch it.
	c.X0, c.X1 = 0, math.Ceil(min(xmax, 12)-1e-9)
	for k := 0.0; k <= c.X1; k++ {
		c.XTicks = append(c.XTicks, Tick{Pos: c.px(k), Label: pctLabel(k)})
	}
	draw(&c, spectra, fmtMsAxis)
	return c
}

// pctLabel names the percentile at x = k on the spectrum axis: 0%, 90%, 99%, 99.9% …
func pctLabel(k float64) string {
	switch n := int(k); {
	case n <= 0:
		return "0%"
	case n == 1:
		return "90%"
	case n == 2:
		return "99%"
	default:
		return "99." + strings.Repeat("9", n-2) + "%"
	}
}

// Label positions for the template.
func (Chart) YLabelX() float64 { return plotLeft - 8 }
func (Chart) XLabelY() float64 { return plotBottom + 20 }
func (Chart) MidX() float64    { return (plotLeft + plotRight) / 2 }
func (Chart) MidY() float64    { return (plotTop + plotBottom) / 2 }
