package esdoc

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// appendTime writes RFC 3339 with nanoseconds in UTC, the date_nanos
// format. It computes the civil date itself: time.Format was a fifth of the
// encoder's time.
func appendTime(b []byte, ts pcommon.Timestamp) []byte {
	var e Encoder
	return e.appendTime(b, ts)
}

// appendTime keeps the last date it wrote: records in a batch share it.
func (e *Encoder) appendTime(b []byte, ts pcommon.Timestamp) []byte {
	ns := int64(ts)
	secs, nanos := ns/1e9, ns%1e9
	days, rem := secs/86400, secs%86400
	if days != e.day || e.date[0] == 0 || ns < 0 {
		y, m, d := civil(days)
		// Past math.MaxInt64 a timestamp reads as before 1970 (pdata's
		// AsTime), where the digits below would go negative.
		if ns < 0 || y < 0 || y > 9999 {
			b = append(b, '"')
			b = ts.AsTime().UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
			return append(b, '"')
		}
		e.date[0] = '"'
		put4(e.date[1:], int(y))
		e.date[5] = '-'
		put2(e.date[6:], m)
		e.date[8] = '-'
		put2(e.date[9:], d)
		e.date[11] = 'T'
		e.day = days
	}
	var out [32]byte
	copy(out[:12], e.date[:])
	put2(out[12:], int(rem/3600))
	out[14] = ':'
	put2(out[15:], int(rem%3600/60))
	out[17] = ':'
	put2(out[18:], int(rem%60))
	out[20] = '.'
	for i := 29; i >= 21; i-- {
		out[i] = byte('0' + nanos%10)
		nanos /= 10
	}
	out[30] = 'Z'
	out[31] = '"'
	return append(b, out[:]...)
}

// civil converts days since 1970-01-01 to a date (Howard Hinnant's
// days_from_civil inverse), valid for timestamps from 1970 on.
func civil(days int64) (year int64, month, day int) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return y, int(m), int(d)
}

func put2(b []byte, v int) { b[0], b[1] = byte('0'+v/10), byte('0'+v%10) }

func put4(b []byte, v int) {
	b[0], b[1], b[2], b[3] = byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10)
}
