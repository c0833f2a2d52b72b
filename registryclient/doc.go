// Package registryclient resolves package references and version ranges,
// fetches packages from stores (a local OCI image layout, remote OCI
// registries) and keeps the content-addressed cache.
//
// A Client does everything in a few calls:
//
//	c, err := registryclient.New(registryclient.Options{}) // defaults below
//	desc, err := c.Publish(ctx, pkg)                      // pkg from bundle.LoadDir / bundle.OpenFile
//	res, err := c.Pull(ctx, "example:hello@^1.2")         // root + dependencies, verified, on disk
//	list, err := c.List(ctx, "example")                    // packages and versions
//	info, err := c.CacheList(ctx); freed, err := c.CachePrune(ctx)
//
// References (ParseRef): namespace:name@version where the version is exact
// (1.2.3), a range (^1.2, ~1.2.3, ">=1.0, <2", Masterminds/semver syntax)
// or omitted (the newest release that is not a prerelease); a plain OCI
// reference host[:port]/repo:tag or host[:port]/repo@sha256:…; or a path,
// which Pull accepts when it is a package directory or a bundle file.
//
// Registries (Config): config.toml in the wasm-pkg-tools format maps a
// package to a registry (package_registry_overrides, then
// namespace_registries, then default_registry) and a package to the OCI
// reference <host>/<prefix><namespace>/<name>:<version>. With no config,
// every package lives in the embedded local store, an OCI image layout at
// store/ in the home directory (Options.Home): publishing and running need
// no server. Options.Registry (--registry, or $WRUN_REGISTRY, which only
// the command line reads) sends every package of one client to one
// registry. Remote registries are reached through oras-go with the auth in
// config.toml, else Options.Credentials (the command line passes
// DockerCredentials: the user's docker logins and credential helpers);
// plain HTTP is used only for loopback hosts and protocol = "http".
//
// Artifacts (README.md, "wrun package artifacts"): a package that is only a wasm is published as an
// exact CNCF Wasm OCI artifact, which oras, wkg and wasmtime pull; any other
// package uses wrun's own artifact type, the wasm still an application/wasm
// layer. Pull runs both, and plain Wasm artifacts pushed by other tools.
// The content digest and the release signature travel as manifest
// annotations and are checked on every pull: blobs are verified while they
// are written to the cache, the extracted files are hashed again on every
// Pull and compared with the announced content digest, and the signature is
// checked against the keys trusted for the namespace (bundle.TrustStore).
//
// Cache (cache/ in the home directory): blobs are content-addressed and shared by every
// package, written to a temp file while hashed and renamed into place;
// concurrent processes fetch each blob once (a per-blob lock) and a process
// killed mid-pull leaves a temp file the next pull removes. An extracted
// package is packages/HEX/pkg/ (only files from the artifact), with wrun's
// own records beside it (pull.json, verified.idx), where no layer can
// write; a layer or tar entry under .wrun/ is refused, a tar entry may not
// expand past its layer's size, and extraction only ever creates new files
// (never writing through a hard link into the blob store). A package that
// is refused (bad digest, signature, wrong name) leaves nothing extracted
// and no tag remembered. Pull and Publish hold a shared cache lock,
// CachePrune an exclusive one, so a prune waits for work in progress. A tag resolved
// once is remembered, so a warm pull of an exact version, and of a
// registry package's dependencies (its resolution is cached as a lock),
// makes no network request. Options.Offline refuses every request.
//
// Dependencies: [run] runtime and [dependencies] resolve transitively, one
// version per package name, the highest satisfying every range; a conflict
// is ErrConflict naming each requirer and its range. A directory project's
// resolution is written to wrun.lock beside its wrun.toml and reused while
// it still satisfies the manifest; Options.Refresh re-resolves.
//
// Versions and tags: a version's OCI tag is the version with '+' written
// '_' (VersionTag), in the local store as in remote registries, since OCI
// tags cannot hold '+'; listing maps it back. A version whose tag would be
// over 128 characters is refused at Publish.
//
// Network: every request to a registry is bounded (Timeouts; config.toml
// [network]): connecting 10s, response headers 30s, and a transfer must
// move MinProgress (1 KiB) per 30s. A timeout is ErrTimeout naming the
// registry and the step. Paginated listings stop with ErrProtocol on a
// page seen before (a looping Link: rel="next") or past 10,000 pages or
// 1,048,576 entries.
//
// Progress: Options.Progress is told when each transfer starts, its total
// size and every byte moved; the client itself writes nothing (the command
// line draws bars on a terminal).
package registryclient
