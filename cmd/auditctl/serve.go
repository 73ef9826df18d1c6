package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	_ "time/tzdata" // tz= works on hosts without a zoneinfo database

	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
	"github.com/otelcol-audit/otelcol-audit/internal/auditapi"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/catalog"
	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
)

// defaultCatalogs are the shipped catalogs, for the viewer's filters.
var defaultCatalogs = []string{"config/catalogs/codatum.yaml", "config/catalogs/wherobots.yaml", "config/catalogs/analytics.yaml"}

func serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Serve the audit log API and the embeddable viewer to your customers' admins",
		Long: `Serve the tenant-scoped audit log API (/api/v1/, described at /api/v1/openapi.yaml)
and the viewer (/ and /embed) from the archive (--archive DIR) or Elasticsearch (--es URL).

Every token sees one organization's events. Every read that returns events is first
recorded as an audit_log_accessed event through the collector (--audit-endpoint); when
that fails, the read answers 503 and returns nothing.`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	esf := addESFlags(fs)
	listen := fs.String("listen", env("AUDIT_API_ENDPOINT", "localhost:8080"), "address to serve on (AUDIT_API_ENDPOINT)")
	tokensFile := fs.String("tokens-file", env("AUDIT_API_TOKENS", "data/tokens.yaml"), "API tokens file, hashes only (AUDIT_API_TOKENS); reread when it changes")
	keyFile := fs.String("signing-key-file", env("AUDIT_API_SIGNING_KEY_FILE", ""), "key that signs viewer tokens and cursors, one per line, the first signs (or AUDIT_API_SIGNING_KEY); every replica needs the same")
	var archive, auditEndpoint, auditTokenFile string
	addArchiveFlag(fs, &archive)
	addAuditFlags(fs, &auditEndpoint, &auditTokenFile)
	dataset := fs.String("dataset", "audit", "Elasticsearch: the exporter's data_stream.dataset")
	namespace := fs.String("default-namespace", "default", "Elasticsearch: the exporter's data_stream.namespace, where events without organization.id are (organization \"default\")")
	catalogs := fs.StringSlice("catalog", defaultCatalogs, "catalog files for GET /api/v1/catalog (the viewer's action and category filters)")
	rate := fs.Float64("rate-limit", 20, "requests per second per token, per replica (0: no limit)")
	burst := fs.Int("rate-burst", 40, "burst of requests per token above --rate-limit")
	maxReads := fs.Int("max-concurrent-reads", 16, "reads of the store in progress at once, over every token; past it, 503 with Retry-After")
	maxOrgReads := fs.Int("max-reads-per-organization", 4, "of those, how many one organization may run at once")
	maxExport := fs.Duration("max-export-duration", time.Hour, "end an export that takes longer, however slowly its client reads")
	frameAncestors := fs.StringSlice("frame-ancestors", nil, "origins that may embed the viewer in an iframe (CSP frame-ancestors; default 'self' only), e.g. https://app.example.com")
	allowOrigins := fs.StringSlice("allow-origin", nil, "origins whose pages may call the API from the browser (CORS), for the <audit-log-viewer> web component embedded there")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM), with --tls-key")
	tlsKey := fs.String("tls-key", "", "the certificate's private key (PEM)")
	initFiles := fs.Bool("init", false, "first start: create the tokens file with an admin token for organization \"default\" (printed once) and --signing-key-file, each only when missing")
	_ = cmd.MarkFlagFilename("tokens-file", "yaml", "yml")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		log := slog.New(slog.NewTextHandler(stderr, nil))
		if (*tlsCert == "") != (*tlsKey == "") {
			return errors.New("--tls-cert and --tls-key go together")
		}
		if *initFiles {
			if err := initService(stdout, *tokensFile, *keyFile); err != nil {
				return err
			}
		}
		keys, err := apitoken.LoadKeys(*keyFile, "AUDIT_API_SIGNING_KEY")
		if err != nil {
			return err
		}
		tokens := &apitoken.Store{Path: *tokensFile, Recheck: time.Second,
			OnReloadError: func(err error) {
				log.Error("the tokens file changed and does not read; the tokens read before stay in force", "error", err)
			}}
		if err := tokens.Load(); err != nil {
			return err
		}
		cat, err := catalog.Load(*catalogs...)
		if err != nil {
			return fmt.Errorf("--catalog: %w", err)
		}
		var store eventstore.Store
		source := ""
		if archive != "" {
			if esf.fs.Changed("es") {
				return errors.New("--archive and --es both set: serve one store")
			}
			store = &eventstore.Archive{Dir: archive, Warn: &logWriter{log: log}}
			source = "archive " + archive
		} else {
			conn, err := esf.resolve(stderr)
			if err != nil {
				return err
			}
			es, err := conn.client()
			if err != nil {
				return err
			}
			store = &eventstore.Elasticsearch{Client: es, Dataset: *dataset, Namespace: *namespace}
			source = "elasticsearch " + auditctl.RedactURL(conn.URL)
		}
		if _, _, _, _, err := warnUserinfo(stderr, "audit-endpoint", auditEndpoint); err != nil {
			return err
		}
		auditToken, err := readAuditToken(auditTokenFile, esf)
		if err != nil {
			return err
		}
		srv, err := auditapi.New(auditapi.Config{
			Store: store, Tokens: tokens, Keys: keys, Catalog: cat,
			Access:    auditapi.OTLPRecorder{Endpoint: auditEndpoint, Token: auditToken, Client: &http.Client{Timeout: 10 * time.Second}},
			RateLimit: *rate, RateBurst: *burst, MaxConcurrentReads: *maxReads, MaxReadsPerOrganization: *maxOrgReads, MaxExportDuration: *maxExport, Assets: viewerAssets(),
			FrameAncestors: *frameAncestors, AllowOrigins: *allowOrigins, Log: log,
		})
		if err != nil {
			return err
		}
		return listenAndServe(cmd.Context(), log, srv, *listen, *tlsCert, *tlsKey, source)
	}
	return cmd
}

// initService creates, when missing, the tokens file with one admin token
// for the default organization, and the signing key file.
func initService(stdout interface{ Write([]byte) (int, error) }, tokensFile, keyFile string) error {
	if keyFile != "" {
		if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
			return err
		}
		if wrote, err := apitoken.GenerateKeyFile(keyFile); err != nil {
			return fmt.Errorf("--signing-key-file: %w", err)
		} else if wrote {
			fmt.Fprintf(stdout, "auditctl serve: created the signing key %s\n", keyFile)
		}
	}
	if _, err := os.Stat(tokensFile); err == nil {
		return nil
	}
	tok, rec, err := apitoken.Create(tokensFile, apitoken.Spec{Organization: "default", Role: apitoken.Admin, Name: "first admin"}, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
auditctl serve: created %s with an admin token for organization "default" (id %s).
It is shown this once; the file keeps only its hash:

    %s

Open the viewer with it, or call the API:
    curl -H "Authorization: Bearer %s" http://localhost:8080/api/v1/events

`, tokensFile, rec.ID, tok, tok)
	return nil
}

func listenAndServe(ctx context.Context, log *slog.Logger, h http.Handler, addr, cert, key, source string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if cert != "" {
		scheme = "https"
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	log.Info("serving the audit log API and viewer", "url", scheme+"://"+ln.Addr().String(), "source", source)
	done := make(chan error, 1)
	go func() {
		if cert != "" {
			done <- srv.ServeTLS(ln, cert, key)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// logWriter turns an archive read's warnings into log lines.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(b []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(b)))
	return len(b), nil
}
