package bundle

// HTTP is [http]: how `wrun serve` serves the package.
type HTTP struct {
	Routes []HTTPRoute `toml:"routes" json:"routes,omitempty"`
}

// HTTPRoute is one [[http.routes]] entry.
type HTTPRoute struct {
	Path    string `toml:"path" json:"path"`
	Static  string `toml:"static" json:"static,omitempty"`
	Handler string `toml:"handler" json:"handler,omitempty"`
}

// validateHTTP checks [http].
func (m *Manifest) validateHTTP() error { return nil }
