package auditctl

import (
	"fmt"
	"strings"
)

// ProgressBar renders "[=====>    ] 1234/5678 (21%)".
func ProgressBar(done, total, width int) string {
	if total <= 0 {
		return fmt.Sprintf("%d", done)
	}
	filled := min(width, done*width/total)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	return fmt.Sprintf("[%s] %d/%d (%d%%)", bar, done, total, done*100/total)
}

// ByteProgressBar renders "[=====     ] 50% of 2.0 MiB".
func ByteProgressBar(done, total int64, width int) string {
	pct, filled := int64(0), 0
	if total > 0 {
		pct = min(100, done*100/total)
		filled = int(min(int64(width), done*int64(width)/total))
	}
	return fmt.Sprintf("[%s%s] %d%% of %s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), pct, bytesize(total))
}

// bytesize renders a size in B, KiB, MiB or GiB.
func bytesize(n int64) string {
	if n < 1<<10 {
		return fmt.Sprintf("%d B", n)
	}
	v, units := float64(n)/(1<<10), []string{"KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1<<10 && i < len(units)-1 {
		v /= 1 << 10
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// progress reports the bytes read so far.
type progress struct {
	report      func(done, total int64)
	done, total int64
}

func (p *progress) add(n int64) {
	if p.report != nil && n > 0 {
		p.done += n
		p.report(p.done, max(p.total, p.done))
	}
}
