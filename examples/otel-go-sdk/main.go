// Command otel-go-sdk emits one audit event with the OpenTelemetry Go SDK's
// logs API to the collector's OTLP/HTTP receiver, shaped as the README's
// table says: the action in EventName, the details in attributes.
//
//	go run ./examples/otel-go-sdk -endpoint localhost:4318
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

func main() {
	endpoint := flag.String("endpoint", "localhost:4318", "the collector's OTLP/HTTP host:port")
	id := flag.String("id", "", "event.id to send (the idempotency key); empty lets the processor derive one")
	timeout := flag.Duration("timeout", 10*time.Second, "give up sending after this long")
	flag.Parse()
	if err := run(context.Background(), *endpoint, *id, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "otel-go-sdk:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, endpoint, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	otlp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(endpoint), otlploghttp.WithInsecure())
	if err != nil {
		return err
	}
	exp := &checked{Exporter: otlp}
	provider := sdklog.NewLoggerProvider(
		// Simple processor: the example sends one event and exits. Services
		// should use the default batch processor.
		sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)),
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "notebooks"))),
	)
	logger := provider.Logger("audit")

	var rec log.Record
	rec.SetTimestamp(time.Now())
	rec.SetEventName("notebook.open")
	rec.SetSeverity(log.SeverityInfo)
	rec.SetBody(attribute.StringValue("Notebook opened"))
	rec.AddAttributes(
		attribute.String("user.email", "jane.doe@example.com"),
		attribute.String("user.id", "u-123"),
		attribute.String("audit.actor.type", "user"),
		attribute.String("client.address", "203.0.113.7"),
		attribute.String("user_agent.original", "Mozilla/5.0"),
		attribute.String("cloud.region", "aws-us-west-2"),
		attribute.String("audit.resource.type", "notebook"),
		attribute.String("audit.resource.id", "nb-42"),
		attribute.String("audit.resource.name", "Quarterly revenue"),
		attribute.String("event.outcome", "success"),
	)
	if id != "" {
		rec.AddAttributes(attribute.String("event.id", id))
	}
	logger.Emit(ctx, rec)
	if err := provider.Shutdown(ctx); err != nil {
		return err
	}
	if err := exp.failed(); err != nil {
		return fmt.Errorf("the collector at %s did not take the event (is it running? make run): %w", endpoint, err)
	}
	return nil
}

// checked keeps the first export error. The SDK hands export errors to the
// global error handler, which only logs them: without this, a failed send
// would exit 0.
type checked struct {
	sdklog.Exporter
	mu  sync.Mutex
	err error
}

func (c *checked) Export(ctx context.Context, recs []sdklog.Record) error {
	err := c.Exporter.Export(ctx, recs)
	if err != nil {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
	}
	return err
}

func (c *checked) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
