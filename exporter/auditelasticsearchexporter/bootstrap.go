package auditelasticsearchexporter

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
)

// bootstrapLoop installs the assets, retrying until it succeeds, so the
// collector starts even while Elasticsearch is down; events wait in the
// queue meanwhile.
func (e *auditExporter) bootstrapLoop(ctx context.Context) {
	defer e.wg.Done()
	steps, err := esbootstrap.Plan(e.cfg.Tiers(), e.cfg.DataStream.Namespace)
	if err != nil {
		e.logger.Error("Cannot build the Elasticsearch bootstrap plan", zap.Error(err))
		return
	}
	for {
		actx, cancel := context.WithTimeout(ctx, 4*e.cfg.RequestTimeout)
		legacy, err := esbootstrap.Legacy(actx, e.client, e.cfg.Tiers())
		if err == nil {
			err = esbootstrap.Apply(actx, e.client, esbootstrap.WithLegacy(steps, legacy))
		}
		cancel()
		if err == nil {
			e.bootstrapped.Store(true)
			e.logger.Info("Elasticsearch assets installed", zap.Int("steps", len(steps)))
			return
		}
		msg := err.Error()
		e.lastBootErr.Store(&msg)
		e.logger.Warn("Elasticsearch bootstrap failed; retrying, events wait in the queue", zap.Error(err), zap.Duration("retry_in", e.cfg.Bootstrap.RetryInterval))
		select {
		case <-ctx.Done():
			return
		case <-time.After(e.cfg.Bootstrap.RetryInterval):
		}
	}
}
