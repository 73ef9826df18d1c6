package auditelasticsearchexporter

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
)

type exporterhelperQueue = exporterhelper.QueueBatchConfig

func exporterhelperDefaultQueue() exporterhelper.QueueBatchConfig {
	return exporterhelper.NewDefaultQueueConfig()
}

// pushLogs converts ld as ConsumeLogs does and pushes it as the queue
// would. A partial failure comes back as consumererror.Logs holding the
// records still to store, picked from ld by the documents' ids, so tests
// read and resend them as a sender would.
func (e *auditExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	req, err := e.convert(ctx, ld)
	if err != nil {
		return err
	}
	err = e.push(ctx, req)
	var later *retryLater
	if !errors.As(err, &later) {
		return err
	}
	ids := map[string]bool{}
	for _, d := range later.req.docs {
		ids[d.id] = true
	}
	all := req.(*docsRequest).docs
	out := plog.NewLogs()
	ld.CopyTo(out)
	i := 0
	out.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(plog.LogRecord) bool {
				keep := ids[all[i].id]
				i++
				return !keep
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	return consumererror.NewLogs(err, out)
}
