package auditelasticsearchexporter

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
)

// queueSyncer is a storage extension that lets the queue's writes return
// before they are synced (journal_storage). The persistent queue writes
// under one lock, so syncing inside each write serializes one fdatasync
// per request and per queue step; syncing after Offer, outside that lock,
// lets concurrent requests share one.
type queueSyncer interface {
	DeferSync(kind component.Kind, id component.ID, storageName string) func(context.Context) error
}

// deferQueueSync runs before the queue opens its storage client.
func (e *auditExporter) deferQueueSync(host component.Host) {
	if !e.cfg.QueueConfig.HasValue() || e.cfg.QueueConfig.Get().StorageID == nil {
		return
	}
	s, ok := host.GetExtensions()[*e.cfg.QueueConfig.Get().StorageID].(queueSyncer)
	if !ok {
		return
	}
	sync := s.DeferSync(component.KindExporter, e.set.ID, pipeline.SignalLogs.String())
	e.queueSync.Store(&sync)
}

// syncedLogs acknowledges a request only after the queue's storage has
// made it durable.
type syncedLogs struct {
	exporter.Logs
	e *auditExporter
}

// Start syncs once the queue has started: it re-queues, unsynced, the
// items that were being exported when the collector last stopped.
func (s syncedLogs) Start(ctx context.Context, host component.Host) error {
	if err := s.Logs.Start(ctx, host); err != nil {
		return err
	}
	if sync := s.e.queueSync.Load(); sync != nil {
		if err := (*sync)(ctx); err != nil {
			return fmt.Errorf("audit_elasticsearch: syncing the queue after it started: %w", err)
		}
	}
	return nil
}

func (s syncedLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if err := s.Logs.ConsumeLogs(ctx, ld); err != nil {
		return err
	}
	sync := s.e.queueSync.Load()
	if sync == nil {
		return nil
	}
	if err := (*sync)(ctx); err != nil {
		// The request is queued and will be exported; the sender retries,
		// and the retry is stored once (the _id is the event id).
		return fmt.Errorf("audit_elasticsearch: the queue took the events but could not sync them to disk; retry: %w", err)
	}
	return nil
}
