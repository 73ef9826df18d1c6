package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
)

const rootLong = `auditctl administers the otelcol-audit store.

  auditctl setup [flags]              install or upgrade the Elasticsearch assets (ILM policies,
                                      templates, the dead-letter data stream), the writer and
                                      reader roles and, with --kibana [--kibana-space ID], the
                                      Kibana saved objects and quick ranges
  auditctl search [flags] [TEXT]      find events, newest first (table, json or csv)
  auditctl export [flags] [TEXT]      write every match as CSV or NDJSON, streaming
  auditctl serve [flags]              serve the tenant-scoped audit log API and the embeddable
                                      viewer (--archive DIR or Elasticsearch)
  auditctl token create|list|revoke   manage the API's tokens (the file keeps hashes only)
  auditctl keygen --out DIR           write an Ed25519 key pair for signing digests
  auditctl verify [flags]             check the archive or Elasticsearch against the signed
                                      digests: exit 0 only when intact
  auditctl catalog lint FILE...       validate catalogs with the processor's rules
  auditctl catalog docs FILE          print a catalog as a Markdown table
  auditctl version                    print auditctl's version
  auditctl completion SHELL           shell completion for bash, zsh, fish or powershell

Settings come from flags, then the environment, then an optional YAML file (--config FILE,
AUDITCTL_CONFIG, or ~/.config/auditctl/config.yaml) with keys elasticsearch_url, api_key,
es_user, es_password, audit_endpoint, audit_token, actor and audit (off).
Elasticsearch: --es or ELASTICSEARCH_URL (default http://localhost:9200), and an API key
(ELASTICSEARCH_API_KEY, --api-key-file FILE or ELASTICSEARCH_API_KEY_FILE; - reads stdin) or a
user (--es-user, ELASTICSEARCH_USER) with a password (ELASTICSEARCH_PASSWORD, --es-password-file
FILE or ELASTICSEARCH_PASSWORD_FILE). --api-key and --es-password work too, with a warning: ps
shows the command line. Credentials in a URL are used but never printed or recorded.`

// newRoot builds the command tree. Flag defaults read the environment and
// the config file, so it is built after loadConfigFile.
func newRoot(ctx context.Context, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "auditctl",
		Short:         "Administer and read the otelcol-audit store",
		Long:          rootLong,
		SilenceErrors: true, // main prints them, escaped
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w; see %s --help", err, c.CommandPath())
	})
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetContext(ctx)
	// Read by loadConfigFile before parsing; declared for help and completion.
	root.PersistentFlags().String("config", "", "auditctl config file (default ~/.config/auditctl/config.yaml, or AUDITCTL_CONFIG)")
	root.AddCommand(setupCommand(), findCommand("search"), findCommand("export"), serveCommand(), tokenCommand(), keygenCommand(), verifyCommand(), catalogCommand(), versionCommand())
	return root
}

func setupCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "setup [flags]",
		Short: "Install or upgrade the Elasticsearch assets, roles and Kibana saved objects",
		Args:  cobra.NoArgs,
	}
	fs := cmd.Flags()
	esf := addESFlags(fs)
	collectorCfg := addCollectorConfigFlag(cmd, "config/elasticsearch.yaml")
	exporter := fs.String("exporter", "", "the audit_elasticsearch exporter to read when the collector config has several (e.g. audit_elasticsearch/eu)")
	kibanaURL := fs.String("kibana", "", "Kibana URL; also import the saved objects and add the quick ranges")
	kibanaSpace := fs.String("kibana-space", "", "Kibana space id to install into (default: the default space)")
	namespace := fs.String("namespace", "", "namespace of the dead-letter data stream to create (default: the exporter's)")
	dryRun := fs.Bool("dry-run", false, "print what would be done, change nothing")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		cfg, err := exporterConfig(*collectorCfg, *exporter)
		if err != nil {
			return err
		}
		ns := cfg.DataStream.Namespace
		if *namespace != "" {
			ns = *namespace
		}
		conn, err := esf.resolve(stderr)
		if err != nil {
			return err
		}
		kibana, kUser, kPassword, kHasUser, err := warnUserinfo(stderr, "kibana", *kibanaURL)
		if err != nil {
			return err
		}
		if kHasUser && (conn.cfg.APIKey != "" || conn.cfg.Username != "") {
			return errors.New("--kibana carries credentials (user:password@) and Elasticsearch credentials are set, which Kibana calls also use: use one; remove user:password@ from --kibana")
		}
		es, err := conn.client()
		if err != nil {
			return err
		}
		if !*dryRun {
			if _, err := es.Info(); err != nil {
				return fmt.Errorf("cannot reach Elasticsearch at %s: %v; set ELASTICSEARCH_URL or --es", auditctl.RedactURL(conn.URL), err)
			}
		}
		if err := auditctl.ValidateSpace(*kibanaSpace); err != nil {
			return err
		}
		// The digest tier too: the host running setup need not hold the
		// signing key that turns digests on in the collector.
		tiers := cfg.Tiers()
		if !cfg.Digest.Enabled() {
			tiers = append(tiers, cfg.DigestTier())
		}
		o := auditctl.SetupOptions{ES: es, Tiers: tiers, Namespace: ns, Kibana: auditctl.Kibana{URL: kibana, Space: *kibanaSpace}, DryRun: *dryRun, Out: stdout}
		if kibana != "" {
			c := conn.cfg
			o.Kibana.Auth = func(r *http.Request) {
				switch {
				case c.APIKey != "":
					r.Header.Set("Authorization", "ApiKey "+c.APIKey)
				case c.Username != "":
					r.SetBasicAuth(c.Username, c.Password)
				case kHasUser:
					r.SetBasicAuth(kUser, kPassword)
				}
			}
		}
		return auditctl.Setup(cmd.Context(), o)
	}
	return cmd
}

// addCollectorConfigFlag declares --collector-config, which names a YAML
// file; setup and search/export read it by default from different files.
func addCollectorConfigFlag(cmd *cobra.Command, def string) *string {
	p := cmd.Flags().String("collector-config", def, "the collector's config: setup installs what its audit_elasticsearch exporter writes (tiers, dataset); search and export suggest its file exporter's archive when Elasticsearch is out of reach")
	_ = cmd.MarkFlagFilename("collector-config", "yaml", "yml")
	return p
}

func catalogCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Check and document event catalogs",
		// A parent without RunE would answer an unknown subcommand with
		// its help and exit 0.
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("catalog: use `catalog lint FILE...` or `catalog docs FILE`")
			}
			return fmt.Errorf("catalog: unknown command %q; use lint or docs", args[0])
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "lint FILE...",
		Short: "Validate catalogs with the processor's rules (names unique across them)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return auditctl.CatalogLint(cmd.OutOrStdout(), args)
		},
	}, &cobra.Command{
		Use:   "docs FILE",
		Short: "Print a catalog as a Markdown table",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("catalog docs: name exactly one catalog file")
			}
			return auditctl.CatalogDocs(cmd.OutOrStdout(), args[0])
		},
	})
	return cmd
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print auditctl's version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { printVersion(cmd.OutOrStdout()) },
	}
}
