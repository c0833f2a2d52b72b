// Package registryclient resolves package references and version ranges,
// fetches packages from stores (a local OCI image layout, remote OCI
// registries) and keeps the content-addressed cache.
package registryclient
