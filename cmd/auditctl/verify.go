package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/verify"
)

// exitError carries a process exit status: verify exits 1 on findings
// and 2 on a usage error or input it cannot read.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
func (e exitError) ExitCode() int { return e.code }

func usage(err error) error { return exitError{2, err} }

// outputUsage is --output's usage on every command that has it.
const outputUsage = "table, json or csv (search: table on a terminal, else json; export: csv); verify: text (default) or json"

const verifyLong = `Check the audit store against its signed digests, and report every event and digest
concerned: modified, deleted, inserted or reordered events, missing, edited or undecodable
digests, broken chains, bad signatures, and chains whose newest digest is older than --max-age
(or 3 of that digest's windows, To − From, when longer: the chain's cadence) and not final
(the newest entries cut off).

  auditctl verify --archive DIR --public-key audit-signing.pub
  auditctl verify --es https://es:9200 --public-key old.pub,new.pub --since 30d

Events and dead letters observed within --grace may not be in a digest yet and are counted,
not reported; one dated more than 10m in the future, or before the first digest when no
--since/--from limited the window, is inserted.
Events gone with their retention are counted, not reported (Elasticsearch: the index is gone
and its ILM delete age has run out; the archive: the event comes, in its chain's order, before
the chain's first record kept, and that record is in the oldest file left). Dates without a zone are UTC. Exit status: 0 intact, 1 findings, 2 a usage error or input that cannot be read.`

func verifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify (--archive DIR | --es URL) --public-key FILE [flags]",
		Short: "Check the audit store against its signed digests (exit 0 only when intact)",
		Long:  verifyLong,
		Args:  cobra.NoArgs,
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usage(fmt.Errorf("%w; see %s --help", err, c.CommandPath()))
	})
	fs := cmd.Flags()
	esf := addESFlags(fs)
	var archive, digests, since, from, to, org, output, dataset string
	var keys []string
	var maxLine, maxDigest, maxFindings int
	addArchiveFlag(fs, &archive)
	fs.StringVar(&digests, "digests", "", "with --archive: the digests file (default "+verify.DigestsFile+" in the archive directory)")
	fs.StringSliceVar(&keys, "public-key", nil, "public key file (auditctl keygen's "+digest.PublicKeyFile+"); repeat it or give a comma list for rotated keys")
	fs.StringVar(&since, "since", "", "yesterday, 2d, 7d, 30d, 90d, or a duration such as 12h")
	fs.StringVar(&from, "from", "", "start: RFC 3339 or a date (YYYY-MM-DD)")
	fs.StringVar(&to, "to", "", "end: RFC 3339 or a date (YYYY-MM-DD)")
	fs.StringVar(&org, "organization", "", "check only this organization's chains and events (its namespace)")
	grace := fs.Duration("grace", verify.DefaultGrace, "events observed within this are not yet in a digest: counted, not reported")
	maxAge := fs.Duration("max-age", verify.DefaultMaxAge, "a chain whose newest digest is not final and older than this, or than 3 × that digest's window (To − From) when longer (the chain's cadence), is stale (truncation)")
	fs.StringVar(&output, "output", "", outputUsage)
	fs.StringVar(&dataset, "dataset", "audit", "Elasticsearch: the exporter's data_stream.dataset")
	fs.IntVar(&maxLine, "max-line-bytes", auditctl.DefaultMaxLineBytes, "with --archive: skip (and report) archive lines longer than this")
	fs.IntVar(&maxDigest, "max-digest-bytes", verify.DefaultMaxDigestBytes, "bound on one stored digest; a longer one is a finding (bad_digest)")
	fs.IntVar(&maxFindings, "max-findings", verify.DefaultMaxFindings, "list at most this many findings of each kind (all are counted)")
	_ = cmd.MarkFlagFilename("public-key", "pub", "pem")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{verify.Text, verify.JSON}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		if archive != "" && fs.Changed("es") {
			return usage(errors.New("--archive and --es both set: check one store at a time"))
		}
		if digests != "" && archive == "" {
			return usage(errors.New("--digests names the archive's digests file: use it with --archive (Elasticsearch keeps its digests in logs-<dataset>.digest-*)"))
		}
		if output == "" {
			output = verify.Text
		}
		if output != verify.Text && output != verify.JSON {
			return usage(fmt.Errorf("--output %q: use text or json", output))
		}
		if len(keys) == 0 {
			return usage(errors.New("--public-key FILE is required: the public key of the collector's signing key (auditctl keygen writes " + digest.PublicKeyFile + "); repeat it for rotated keys"))
		}
		if *grace < 0 || *maxAge < 0 {
			return usage(errors.New("--grace and --max-age must not be negative"))
		}
		if maxLine < 1<<10 || maxLine > auditctl.MaxLineBytesLimit {
			return usage(fmt.Errorf("--max-line-bytes %d: use %d to %d", maxLine, 1<<10, auditctl.MaxLineBytesLimit))
		}
		if maxDigest < 1<<10 || maxDigest > auditctl.MaxLineBytesLimit {
			return usage(fmt.Errorf("--max-digest-bytes %d: use %d to %d", maxDigest, 1<<10, auditctl.MaxLineBytesLimit))
		}
		o := verify.Options{Now: time.Now(), Grace: *grace, MaxAge: *maxAge, MaxFindings: max(maxFindings, 1)}
		for _, k := range keys {
			pub, err := digest.LoadPublicKey(k)
			if err != nil {
				return usage(fmt.Errorf("--public-key: %w", err))
			}
			o.Keys = append(o.Keys, ed25519.PublicKey(pub))
		}
		var err error
		switch {
		case since != "" && from != "":
			return usage(errors.New("--since and --from both set: use one"))
		case since != "":
			if o.From, err = auditquery.ParseSince(since, o.Now, time.UTC); err != nil {
				return usage(err)
			}
		case from != "":
			if o.From, err = auditquery.ParseTime("--from", from, time.UTC); err != nil {
				return usage(err)
			}
		}
		if to != "" {
			if o.To, err = auditquery.ParseTime("--to", to, time.UTC); err != nil {
				return usage(err)
			}
			if !o.From.IsZero() && o.To.Before(o.From) {
				return usage(errors.New("--to is before --from"))
			}
		}
		if org != "" {
			o.Namespace = assets.Namespace(org, "default")
		}
		var rep *verify.Report
		if archive != "" {
			rep, err = verify.CheckArchive(cmd.Context(), o, verify.Archive{Dir: archive, Digests: digests, MaxLineBytes: maxLine, MaxDigestBytes: maxDigest})
		} else {
			conn, cerr := esf.resolve(stderr)
			if cerr != nil {
				return usage(cerr)
			}
			client, cerr := conn.client()
			if cerr != nil {
				return usage(cerr)
			}
			rep, err = verify.CheckES(cmd.Context(), o, verify.ES{Client: client, Dataset: dataset, MaxDigestBytes: maxDigest})
			if err != nil {
				err = fmt.Errorf("%s: %w", auditctl.RedactURL(conn.URL), err)
			}
		}
		if err != nil {
			return usage(fmt.Errorf("verify: %w", err))
		}
		if err := verify.Write(stdout, rep, output, o); err != nil {
			return usage(err)
		}
		if !rep.Intact() {
			return exitError{1, fmt.Errorf("verify: %d findings: the store or its digests were changed, or are damaged (listed above)", len(rep.Findings)+rep.Omitted)}
		}
		return nil
	}
	return cmd
}
