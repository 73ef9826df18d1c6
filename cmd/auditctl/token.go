package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
)

func tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke the audit log API's tokens",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("token: use `token create`, `token list` or `token revoke ID`")
			}
			return fmt.Errorf("token: unknown command %q; use create, list or revoke", args[0])
		},
	}
	tokensFlag := func(c *cobra.Command) *string {
		p := c.Flags().String("tokens-file", env("AUDIT_API_TOKENS", "data/tokens.yaml"), "API tokens file (AUDIT_API_TOKENS)")
		_ = c.MarkFlagFilename("tokens-file", "yaml", "yml")
		return p
	}

	create := &cobra.Command{
		Use:   "create --organization ORG [--role admin|viewer] [--resource TYPE:ID] [--ttl DURATION] [--name NAME]",
		Short: "Create a token and print it once (the file keeps its hash only)",
		Args:  cobra.NoArgs,
	}
	cFile := tokensFlag(create)
	var spec apitoken.Spec
	create.Flags().StringVar(&spec.Organization, "organization", "", "the organization (organization.id) whose events the token reads; \"default\" owns events without one; '*' with --role admin: a platform token, which mints viewer tokens for any organization and reads none")
	create.Flags().StringVar(&spec.Role, "role", apitoken.Viewer, "admin (reads, and mints viewer tokens) or viewer (reads)")
	create.Flags().StringVar(&spec.Resource, "resource", "", "TYPE:ID: the token reads that resource's change log only")
	create.Flags().DurationVar(&spec.TTL, "ttl", 0, "expire after this long (e.g. 720h); 0: never")
	create.Flags().StringVar(&spec.Name, "name", "", "who or what holds it: recorded with every read it makes")
	_ = create.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(apitoken.Roles, cobra.ShellCompDirectiveNoFileComp))
	create.RunE = func(cmd *cobra.Command, _ []string) error {
		tok, rec, err := apitoken.Create(*cFile, spec, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), tok)
		fmt.Fprintf(cmd.ErrOrStderr(), "auditctl: created %s token %s (%s) for organization %s in %s; the token above is shown this once\n",
			rec.Role, rec.ID, auditctl.Printable(rec.Name), auditctl.Printable(rec.Organization), *cFile)
		return nil
	}

	list := &cobra.Command{Use: "list", Short: "List the tokens (never the tokens themselves)", Args: cobra.NoArgs}
	lFile := tokensFlag(list)
	output := list.Flags().String("output", "table", "table or json")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		recs, err := apitoken.List(*lFile)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		switch *output {
		case "json":
			type row struct {
				ID           string     `json:"id"`
				Name         string     `json:"name"`
				Organization string     `json:"organization"`
				Role         string     `json:"role"`
				Resource     string     `json:"resource,omitempty"`
				Created      time.Time  `json:"created"`
				Expires      *time.Time `json:"expires,omitempty"`
				Revoked      *time.Time `json:"revoked,omitempty"`
			}
			rows := []row{}
			for _, r := range recs {
				x := row{ID: r.ID, Name: r.Name, Organization: r.Organization, Role: r.Role, Resource: r.Resource, Created: r.Created}
				if !r.Expires.IsZero() {
					x.Expires = &r.Expires
				}
				if !r.Revoked.IsZero() {
					x.Revoked = &r.Revoked
				}
				rows = append(rows, x)
			}
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(rows)
		case "table":
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tORGANIZATION\tROLE\tRESOURCE\tCREATED\tEXPIRES\tSTATUS")
			now := time.Now()
			for _, r := range recs {
				status, expires := "active", "never"
				if !r.Expires.IsZero() {
					expires = r.Expires.Format(time.RFC3339)
					if !now.Before(r.Expires) {
						status = "expired"
					}
				}
				if !r.Revoked.IsZero() {
					status = "revoked " + r.Revoked.Format(time.RFC3339)
				}
				cells := []string{r.ID, r.Name, r.Organization, r.Role, r.Resource, r.Created.Format(time.RFC3339), expires, status}
				for i, c := range cells {
					cells[i] = auditctl.Printable(c)
				}
				fmt.Fprintln(tw, strings.Join(cells, "\t"))
			}
			return tw.Flush()
		}
		return fmt.Errorf("--output %q: use table or json", *output)
	}

	revoke := &cobra.Command{Use: "revoke ID", Short: "Revoke a token (it stops working within a second; the record stays)", Args: cobra.ExactArgs(1)}
	rFile := tokensFlag(revoke)
	revoke.RunE = func(cmd *cobra.Command, args []string) error {
		rec, err := apitoken.Revoke(*rFile, args[0], time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s (%s) of organization %s\n", rec.ID, auditctl.Printable(rec.Name), auditctl.Printable(rec.Organization))
		return nil
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
