package auditctl

import (
	"fmt"
	"io"
	"strings"

	"github.com/otelcol-audit/otelcol-audit/internal/catalog"
)

// CatalogLint validates catalog files with the processor's rules, together
// (so names must be unique across them), and reports each file's size.
func CatalogLint(w io.Writer, files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("catalog lint: name one or more catalog files")
	}
	if _, err := catalog.Load(files...); err != nil {
		return err
	}
	for _, f := range files {
		c, _ := catalog.Load(f)
		fmt.Fprintf(w, "%s: ok, %d events in %d categories\n", f, c.Len(), len(c.Categories()))
	}
	return nil
}

// CatalogDocs renders a catalog as Markdown: the categories, then one table
// of events per group, like the seeds' lists of auditable events.
func CatalogDocs(w io.Writer, file string) error {
	c, err := catalog.Load(file)
	if err != nil {
		return err
	}
	acts := c.Actions()
	fmt.Fprintf(w, "# Auditable events: %s\n\n", acts[0].Catalog)
	fmt.Fprintln(w, "## Categories\n\n| Category | Description |\n|---|---|")
	for _, cat := range c.Categories() {
		fmt.Fprintf(w, "| `%s` | %s |\n", cat.Name, md(cat.Description))
	}
	var groups []string
	byGroup := map[string][]*catalog.Action{}
	for _, a := range acts {
		if _, ok := byGroup[a.Group]; !ok {
			groups = append(groups, a.Group)
		}
		byGroup[a.Group] = append(byGroup[a.Group], a)
	}
	for _, g := range groups {
		fmt.Fprintf(w, "\n## %s\n\n| Event | Action name | Categories |\n|---|---|---|\n", md(g))
		for _, a := range byGroup[g] {
			fmt.Fprintf(w, "| %s | `%s` | %s |\n", md(a.Description), a.Name, strings.Join(a.Categories, ", "))
		}
	}
	return nil
}

func md(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
