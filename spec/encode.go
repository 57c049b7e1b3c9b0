package spec

import (
	"bytes"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// serviceDoc puts kind first, in front of the service's own fields.
type serviceDoc struct {
	Kind    string `yaml:"kind"`
	Service `yaml:",inline"`
}

// Encode writes documents as multi-document YAML that Load reads back to
// the same values. Fields come in a fixed order (the order of the struct
// fields) and map keys sorted, so the output is stable for diffs and
// golden files.
func Encode(w io.Writer, docs []Document) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for i, d := range docs {
		if d.Kind != KindService || d.Service == nil {
			return fmt.Errorf("spec: encode document %d: kind %q cannot be encoded by this swell version", i, d.Kind)
		}
		if err := enc.Encode(serviceDoc{Kind: KindService, Service: *d.Service}); err != nil {
			return fmt.Errorf("spec: encode service %s: %w", d.Service.ID, err)
		}
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("spec: encode: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// EncodeServices is Encode for a list of services (`swell get services -o
// yaml`).
func EncodeServices(w io.Writer, services []Service) error {
	docs := make([]Document, len(services))
	for i := range services {
		docs[i] = Document{Kind: KindService, Service: &services[i]}
	}
	return Encode(w, docs)
}
