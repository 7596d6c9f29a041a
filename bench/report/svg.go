package report

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// LangColors colours the bars by language; ours are drawn solid, peers
// lighter.
var LangColors = map[string][2]string{
	"go":     {"#00758f", "#7fc6d6"},
	"c":      {"#555555", "#aaaaaa"},
	"python": {"#3a6ea5", "#a8c4e3"},
	"node":   {"#3c873a", "#a5d6a3"},
	"ruby":   {"#a91401", "#e8a59c"},
	"php":    {"#6c4f9c", "#c3b3de"},
}

// Charts renders one SVG per workload group and metric: rps-<group>.svg
// and p99-<group>.svg, a panel per workload with one horizontal bar per
// server, servers grouped by language.
func (res *Results) Charts() map[string]string {
	out := map[string]string{}
	groups := []string{}
	for _, w := range res.Workloads {
		if len(groups) == 0 || groups[len(groups)-1] != w.Group {
			groups = append(groups, w.Group)
		}
	}
	for _, g := range groups {
		var ws []Workload
		for _, w := range res.Workloads {
			if w.Group == g {
				ws = append(ws, w)
			}
		}
		out["rps-"+g+".svg"] = res.chart(ws, "req/s (median; more is better)", func(r *Row) float64 { return r.ReqPerSec },
			func(v float64) string { return fmtInt(int64(math.Round(v))) })
		out["p99-"+g+".svg"] = res.chart(ws, "p99 latency (median; less is better)", func(r *Row) float64 { return float64(r.P99) },
			func(v float64) string { return fmtDur(time.Duration(v)) })
	}
	return out
}

func (res *Results) chart(ws []Workload, metric string, value func(*Row) float64, label func(float64) string) string {
	const (
		width   = 860
		labelW  = 150
		valueW  = 110
		barH    = 14
		gap     = 3
		panelHd = 26
		top     = 52
	)
	var servers []Server
	for _, s := range res.Servers {
		if s.Unavailable == "" {
			servers = append(servers, s)
		}
	}
	height := top + len(ws)*(panelHd+len(servers)*(barH+gap)+12) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := fmt.Sprintf("%s — %s", ws[0].Group, metric)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	// Legend.
	x := 10
	for _, lang := range []string{"go", "c", "python", "node", "ruby", "php"} {
		c := LangColors[lang]
		fmt.Fprintf(&b, `<rect x="%d" y="32" width="10" height="10" fill="%s"/><text x="%d" y="41">%s</text>`+"\n", x, c[0], x+14, lang)
		x += 70
	}
	fmt.Fprintf(&b, `<text x="%d" y="41" fill="#555">solid: Spikard, light: peers</text>`+"\n", x+10)
	y := top
	for _, w := range ws {
		max := 0.0
		for _, s := range servers {
			if r := res.Row(s.Name, w.Name); r != nil && r.Valid() {
				max = math.Max(max, value(r))
			}
		}
		fmt.Fprintf(&b, `<text x="10" y="%d" font-size="12" font-weight="bold">%s</text>`+"\n", y+16, html.EscapeString(w.Name+" — "+w.Request))
		y += panelHd
		prevLang := ""
		for _, s := range servers {
			if prevLang != "" && s.Lang != prevLang {
				fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#ddd"/>`+"\n", 10, width-10, y-1, y-1)
			}
			prevLang = s.Lang
			c := LangColors[s.Lang]
			fill := c[1]
			if s.Ours {
				fill = c[0]
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-6, y+barH-3, html.EscapeString(s.Name))
			r := res.Row(s.Name, w.Name)
			switch {
			case r == nil:
			case !r.Valid():
				fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#999">%s</text>`+"\n", labelW, y+barH-3, html.EscapeString(r.Status))
			default:
				v := value(r)
				bw := 0.0
				if max > 0 {
					bw = v / max * float64(width-labelW-valueW)
				}
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %s</title></rect>`+"\n",
					labelW, y, math.Max(bw, 1), barH, fill, html.EscapeString(s.Name), html.EscapeString(w.Name), label(v))
				fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(labelW)+math.Max(bw, 1)+4, y+barH-3, label(v))
			}
			y += barH + gap
		}
		y += 12
	}
	b.WriteString("</svg>\n")
	return b.String()
}
