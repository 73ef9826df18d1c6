package esdoc

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
)

// AppendCreate appends a bulk "create" action line: into the events index
// of period p holding ts, or with no period into t's data stream.
func AppendCreate(b []byte, t Target, p assets.Period, ts pcommon.Timestamp, id string) []byte {
	b = append(b, `{"create":{"_index":`...)
	if plainString(t.Dataset) && plainString(t.Namespace) {
		b = append(b, '"')
		b = appendIndex(b, t, p, ts)
		b = append(b, '"')
	} else {
		b = appendString(b, string(appendIndex(nil, t, p, ts)))
	}
	b = append(b, `,"_id":`...)
	b = appendString(b, id)
	return append(b, "}}\n"...)
}

// AppendCreate is the package's AppendCreate with the target's name
// encoded once and the index date once per day.
func (e *Encoder) AppendCreate(b []byte, t Target, p assets.Period, ts pcommon.Timestamp, id string) []byte {
	tj := e.targetJSON(t)
	if tj.create == nil {
		return AppendCreate(b, t, p, ts, id)
	}
	b = append(b, tj.create...)
	if p != "" {
		days := int64(ts) / 1e9 / 86400
		if days != e.idxDay || p != e.idxPeriod || e.idxDate[0] == 0 {
			copy(e.idxDate[:], appendIndexDate(e.idxDate[:0], p, ts))
			e.idxDay, e.idxPeriod = days, p
		}
		b = append(b, e.idxDate[:]...)
	}
	b = append(b, `","_id":`...)
	b = appendString(b, id)
	return append(b, "}}\n"...)
}

// appendIndex writes logs-<dataset>-<namespace>[-<yyyy.MM.dd>], the date
// being the first day of the period holding ts (UTC; weeks from Monday),
// as assets.Period.Start computes it, without time.Time.
func appendIndex(b []byte, t Target, p assets.Period, ts pcommon.Timestamp) []byte {
	b = append(b, "logs-"...)
	b = append(b, t.Dataset...)
	b = append(b, '-')
	b = append(b, t.Namespace...)
	if p == "" {
		return b
	}
	return appendIndexDate(b, p, ts)
}

// appendIndexDate writes -<yyyy.MM.dd>, the first day of the period
// holding ts.
func appendIndexDate(b []byte, p assets.Period, ts pcommon.Timestamp) []byte {
	days := int64(ts) / 1e9 / 86400
	if p == assets.Week {
		days -= (days + 3) % 7 // 1970-01-01 was a Thursday
	}
	y, m, d := civil(days)
	if p == assets.Month {
		d = 1
	}
	var date [11]byte
	date[0] = '-'
	put4(date[1:], int(y))
	date[5] = '.'
	put2(date[6:], m)
	date[8] = '.'
	put2(date[9:], d)
	return append(b, date[:]...)
}
