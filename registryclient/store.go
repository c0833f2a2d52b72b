package registryclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

// Store is one repository of a registry, in oras-go's shapes: fetch, push,
// exists, resolve, tag and list tags. The remote implementation is oras-go's
// *remote.Repository; the local one is a repository inside an OCI image
// layout (content/oci). Pull (cache.copyManifest) and Publish move content
// between a Store and the local cache; there is no general copy.
type Store interface {
	// oras.Target's two halves, named here so that oras-go's root package
	// (whose init compiles a regular expression every wrun start would
	// pay for) is not linked.
	content.Storage     // Fetch, Push, Exists
	content.TagResolver // Resolve, Tag
	registry.TagLister
}

var (
	_ Store = (*remote.Repository)(nil)
	_ Store = (*layoutRepo)(nil)
)

// openStore opens the repository of target. client is the HTTP client for
// remote registries (it refuses requests when offline).
func openStore(t Target, repo string, client *http.Client, creds credentials.Store) (Store, error) {
	if t.Layout != "" {
		return openLayout(t.Layout, repo)
	}
	r, err := remote.NewRepository(t.Host + "/" + repo)
	if err != nil {
		return nil, fmt.Errorf("%w: repository %s/%s: %w", ErrInvalidRef, t.Host, repo, err)
	}
	r.PlainHTTP = t.PlainHTTP
	r.Client = authClient(t, client, creds)
	return r, nil
}

// authClient is the one constructor of the HTTP client every registry
// request goes through (repositories and the catalog alike): wrun's
// User-Agent, a token cache, and the target's credentials — config.toml's
// auth for the host when set, else creds (nil: anonymous).
func authClient(t Target, client *http.Client, creds credentials.Store) *auth.Client {
	ac := &auth.Client{Client: client, Cache: auth.NewCache(), Header: http.Header{"User-Agent": {"wrun"}}}
	switch {
	case t.Credential != nil:
		ac.Credential = auth.StaticCredential(t.Host, *t.Credential)
	case creds != nil:
		ac.Credential = credentials.Credential(creds)
	}
	return ac
}

// DockerCredentials is the user's docker configuration (DOCKER_CONFIG,
// else ~/.docker/config.json) with its credential helpers, or nil when there
// is none to read: pass it as Options.Credentials to use docker's logins, as
// the command line does.
func DockerCredentials() credentials.Store {
	s, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
	if err != nil {
		return nil
	}
	return s
}

// layoutRepo is one repository inside an OCI image layout. Tags are stored
// as "REPOSITORY:TAG" in index.json (org.opencontainers.image.ref.name), so
// one layout holds every package and shares blobs between them. index.json
// is read and written under a file lock, since oras-go rewrites it in place
// and several wrun processes may publish at once.
type layoutRepo struct {
	root string
	repo string
	cas  *oci.Storage
}

func openLayout(root, repo string) (*layoutRepo, error) {
	cas, err := oci.NewStorage(root)
	if err != nil {
		return nil, fmt.Errorf("opening local store %s: %w", root, err)
	}
	return &layoutRepo{root: root, repo: repo, cas: cas}, nil
}

// withIndex runs fn on a fresh view of the layout, holding the lock.
func (l *layoutRepo) withIndex(ctx context.Context, exclusive bool, fn func(*oci.Store) error) error {
	if err := os.MkdirAll(l.root, 0o755); err != nil {
		return fmt.Errorf("creating local store: %w", err)
	}
	unlock, err := lockFile(filepath.Join(l.root, ".wrun-lock"), exclusive)
	if err != nil {
		return err
	}
	defer unlock()
	s, err := oci.NewWithContext(ctx, l.root)
	if err != nil {
		return fmt.Errorf("opening local store %s: %w", l.root, err)
	}
	return fn(s)
}

func (l *layoutRepo) Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	rc, err := l.cas.Fetch(ctx, d)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, fmt.Errorf("%w: blob %s (%s) in local store %s", ErrNotFound, d.Digest, d.MediaType, l.root)
	}
	return rc, err
}

func (l *layoutRepo) Exists(ctx context.Context, d ocispec.Descriptor) (bool, error) {
	return l.cas.Exists(ctx, d)
}

func (l *layoutRepo) Push(ctx context.Context, d ocispec.Descriptor, r io.Reader) error {
	if !isManifest(d.MediaType) {
		// Held while oras-go writes the blob to ingest/: cleanupIngest
		// removes leftovers only when no wrun process holds it.
		if err := os.MkdirAll(l.root, 0o755); err != nil {
			return fmt.Errorf("creating local store: %w", err)
		}
		unlock, err := lockFile(filepath.Join(l.root, ingestLockName), false)
		if err != nil {
			return err
		}
		defer unlock()
		return l.cas.Push(ctx, d, r)
	}
	return l.withIndex(ctx, true, func(s *oci.Store) error { return s.Push(ctx, d, r) })
}

func (l *layoutRepo) ref(reference string) string {
	if strings.HasPrefix(reference, "sha256:") {
		return reference
	}
	return l.repo + ":" + reference
}

func (l *layoutRepo) Resolve(ctx context.Context, reference string) (d ocispec.Descriptor, err error) {
	err = l.withIndex(ctx, false, func(s *oci.Store) error {
		d, err = s.Resolve(ctx, l.ref(reference))
		return err
	})
	if errors.Is(err, errdef.ErrNotFound) {
		err = fmt.Errorf("%w: %s:%s in local store %s", ErrNotFound, l.repo, reference, l.root)
	}
	return d, err
}

func (l *layoutRepo) Tag(ctx context.Context, d ocispec.Descriptor, reference string) error {
	return l.withIndex(ctx, true, func(s *oci.Store) error { return s.Tag(ctx, d, l.ref(reference)) })
}

// Tags lists the repository's tags, sorted, after last.
func (l *layoutRepo) Tags(ctx context.Context, last string, fn func([]string) error) error {
	if _, err := os.Stat(filepath.Join(l.root, "index.json")); errors.Is(err, os.ErrNotExist) {
		return fn(nil)
	}
	var tags []string
	err := l.withIndex(ctx, false, func(s *oci.Store) error {
		return s.Tags(ctx, "", func(all []string) error {
			for _, t := range all {
				repo, tag, ok := strings.Cut(t, ":")
				if ok && (l.repo == "" || repo == l.repo) && (last == "" || tag > last) {
					if l.repo == "" {
						tag = t
					}
					tags = append(tags, tag)
				}
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	sort.Strings(tags)
	return fn(tags)
}

// ingestLockName is the lock blob writers of a layout hold shared.
const ingestLockName = ".wrun-ingest-lock"

// ingestMinAge spares ingest files written to within the last minute, in
// case a tool other than wrun (which does not take the lock) is writing.
const ingestMinAge = time.Minute

// cleanupIngest removes the temp files oras-go leaves in a layout's
// ingest/ when its process is killed mid-publish (kill -9): only while no
// wrun process is writing a blob there (the exclusive lock is free), and
// only files untouched for ingestMinAge.
func cleanupIngest(root string) {
	ents, err := os.ReadDir(filepath.Join(root, "ingest"))
	if err != nil || len(ents) == 0 {
		return
	}
	lock := filepath.Join(root, ingestLockName)
	if f, err := os.OpenFile(lock, os.O_CREATE|os.O_RDWR, 0o644); err == nil {
		f.Close()
	}
	unlock, ok := tryLockFile(lock)
	if !ok {
		return // a publish is writing blobs now; the next run cleans up
	}
	defer unlock()
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < ingestMinAge {
			continue
		}
		os.Remove(filepath.Join(root, "ingest", e.Name()))
	}
}

func isManifest(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == ocispec.MediaTypeImageIndex ||
		mt == "application/vnd.docker.distribution.manifest.v2+json"
}

// transport refuses every request when offline and marks network failures
// with ErrUnreachable, naming the host.
// Every request runs under the timeouts (timeout.go).
type transport struct {
	base     http.RoundTripper
	offline  bool
	timeouts Timeouts
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.offline {
		return nil, fmt.Errorf("%w: refusing %s %s (--offline); run once online or drop --offline", ErrOffline, req.Method, req.URL.Host)
	}
	resp, err := t.roundTrip(req)
	var te *timeoutError
	if err != nil && req.Context().Err() == nil && !errors.As(err, &te) {
		return nil, &unreachableError{host: req.URL.Host, err: err}
	}
	return resp, err
}

// unreachableError is a network failure talking to a registry.
type unreachableError struct {
	host string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("registry %s is unreachable (%v): check that it is running; cached exact versions still run, and --offline uses only the cache", e.host, e.err)
}

func (e *unreachableError) Is(target error) bool { return target == ErrUnreachable }

func (e *unreachableError) Unwrap() error { return e.err }

// netError replaces an HTTP client error chain by its cause when that is
// offline or unreachable, so the message starts with what matters.
func netError(err error) error {
	var ue *unreachableError
	if errors.As(err, &ue) {
		return ue
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return te
	}
	if errors.Is(err, ErrOffline) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err
		}
	}
	return err
}

var _ content.Storage = (*oci.Storage)(nil)

func isAlreadyExists(err error) bool { return errors.Is(err, errdef.ErrAlreadyExists) }
