package loadharness

import (
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/loadgen"
)

// Scenarios returns the fault scenarios, sized to events, with the
// outage windows scaled by outage (30s at full size).
func Scenarios(events int, outage time.Duration) []Scenario {
	base := func(name string) Scenario {
		// The production queue: journal_storage with fsync.
		return Scenario{Name: name, Events: events, Protocol: loadgen.OTLPGRPC, Workers: 4, Batch: 1000, Journal: true, Fsync: true}
	}
	s := []Scenario{
		base("1-no-faults"),
		func() Scenario {
			x := base("2-requests-429-10pct")
			x.Faults = estest.Faults{RequestThrottleFraction: 0.1}
			return x
		}(),
		func() Scenario {
			x := base("3-items-429-10pct")
			x.Faults = estest.Faults{ItemThrottleFraction: 0.1}
			return x
		}(),
		func() Scenario {
			x := base("4-outage-503")
			x.Outage, x.OutageAfter, x.OutageFor = "503", 0.3, outage
			return x
		}(),
		func() Scenario {
			x := base("5-outage-close")
			x.Outage, x.OutageAfter, x.OutageFor = "close", 0.3, outage
			return x
		}(),
		func() Scenario {
			x := base("6-kill-during-outage")
			x.Outage, x.OutageAfter, x.OutageFor, x.KillDuringOutage = "503", 0.3, outage, true
			return x
		}(),
		func() Scenario {
			x := base("7-indexed-then-timeout")
			x.Faults = estest.Faults{IndexThenDropFraction: 0.1}
			return x
		}(),
		func() Scenario {
			x := base("8-mapping-reject-1pct")
			x.Faults = estest.Faults{RejectIDSuffix: "99"} // ids ev-N with N%100 == 99
			return x
		}(),
		func() Scenario {
			// Issue 12's first measure: every item answered 403 for a
			// window (then 142,600 of 200,000 events were lost).
			x := base("10-items-403-window")
			x.Outage, x.OutageAfter, x.OutageFor = OutageForbidden, 0.3, outage/3
			return x
		}(),
		func() Scenario {
			// The conditions of issue 12's second measurement: data
			// streams rolled over every 20,000 documents while 10% of
			// bulk answers are lost (then 24,115 of 200,000 events were
			// stored twice). Events go to no data stream now, so the
			// rollover has nothing to split; their times spread over three
			// days with daily indices, so every retried batch spans
			// several indices.
			x := base("11-rollover-answers-lost")
			x.Faults = estest.Faults{RolloverEveryDocs: 20_000, IndexThenDropFraction: 0.1}
			x.SpreadDays = 3
			return x
		}(),
	}
	return s
}

// DownUnderSteadyLoad is scenario 9: Elasticsearch down for `down` under a
// steady rate, with a quiet period before and after.
func DownUnderSteadyLoad(rate int, before, down, after time.Duration) Scenario {
	total := before + down + after
	return Scenario{
		Name: "9-down-under-steady-load", Events: int(float64(rate) * total.Seconds()), Protocol: loadgen.OTLPGRPC,
		Workers: 4, Batch: 500, Rate: rate, Outage: "503", OutageAfter: before.Seconds() / total.Seconds(), OutageFor: down, Journal: true, Fsync: true,
	}
}
