package auditelasticsearchexporter

import (
	"context"
	"fmt"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensionauth"
)

// newClient builds the Elasticsearch client: our transport (TLS, an auth
// extension), no client-side retries (ours are per item), gzip when set.
// go-elasticsearch checks the X-Elastic-Product header of the first 2xx
// answer; it sends no GET /, so the writer needs no cluster privilege.
func newClient(ctx context.Context, cfg *Config, host component.Host) (*elasticsearch.Client, error) {
	rt, err := transport(ctx, cfg, host)
	if err != nil {
		return nil, err
	}
	c, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:           cfg.Endpoints,
		APIKey:              string(cfg.APIKey),
		Username:            cfg.User,
		Password:            string(cfg.Password),
		Transport:           rt,
		CompressRequestBody: cfg.Compression == "gzip",
		DisableRetry:        true,
	})
	if err != nil {
		return nil, fmt.Errorf("audit_elasticsearch: %w", err)
	}
	return c, nil
}

func transport(ctx context.Context, cfg *Config, host component.Host) (http.RoundTripper, error) {
	tlsCfg, err := cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit_elasticsearch: tls: %w", err)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsCfg
	base.MaxIdleConnsPerHost = 32
	base.ResponseHeaderTimeout = cfg.RequestTimeout
	var rt http.RoundTripper = base
	if cfg.Authenticator != nil {
		ext, ok := host.GetExtensions()[*cfg.Authenticator]
		if !ok {
			return nil, fmt.Errorf("audit_elasticsearch: authenticator %q is not an extension of this collector; add it under extensions and service.extensions", cfg.Authenticator)
		}
		auth, ok := ext.(extensionauth.HTTPClient)
		if !ok {
			return nil, fmt.Errorf("audit_elasticsearch: extension %q is not an HTTP client authenticator", cfg.Authenticator)
		}
		if rt, err = auth.RoundTripper(rt); err != nil {
			return nil, fmt.Errorf("audit_elasticsearch: authenticator %q: %w", cfg.Authenticator, err)
		}
	}
	return rt, nil
}
