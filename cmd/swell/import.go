//go:build !swellnode

package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/spec"
)

func newImportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert other tools' definitions into swell YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errUsage(cmd, "import needs a format, e.g. 'swell import marathon app.json'")
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "marathon FILE",
		Short: "Convert Marathon app or group JSON into swell Service YAML",
		Long: `import marathon reads a Marathon app, a group (nested apps and groups,
ids resolved as Marathon does), a GET /v2/apps answer or an array of apps,
and prints swell Service documents on standard output, ready for
'swell apply -f'. What swell has no equivalent for is listed on standard
error as '# swell import: …' lines, so the two can be kept apart:

  swell import marathon app.json > app.yaml

FILE '-' reads standard input.`,
		Example: `  swell import marathon app.json > app.yaml
  curl -s marathon.local:8080/v2/groups/shop | swell import marathon -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				data []byte
				err  error
			)
			if args[0] == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("import marathon: %w", err)
			}
			out, warnings, err := spec.ImportMarathon(data)
			for _, w := range warnings {
				for _, line := range strings.Split(w, "\n") {
					if _, err := fmt.Fprintf(g.stderr, "# swell import: %s\n", line); err != nil {
						return err
					}
				}
			}
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			_, err = g.stdout.Write(out)
			return err
		},
	})
	return cmd
}
