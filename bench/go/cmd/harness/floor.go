package main

// The floor of a and b: the harness itself fetches the bytes a client reads
// in a and b, raw (net/http over client-go's transport for the kubeconfig:
// the same TLS, credentials and HTTP/2), and reads them to the end without
// decoding them. No client can take less time than the server takes to hand
// over its bytes; the report shows each client's time as a multiple of
// this. Each floor "run" is a column of its own in the interleaved runs
// loop, once in protobuf and once in JSON, and starts on a fresh connection
// as a client process does.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubegen/kubegen/bench/go/internal/fixture"
)

const (
	floorProtobuf = "floor (protobuf)"
	floorJSON     = "floor (JSON)"

	acceptProtobuf = "application/vnd.kubernetes.protobuf"
	acceptJSON     = "application/json"

	// initialEventsEnd marks the bookmark that ends a watch-list's initial
	// events (metav1.InitialEventsAnnotationKey).
	initialEventsEnd = "k8s.io/initial-events-end"
)

// protobufPrefix starts every protobuf body and watch frame of the server.
var protobufPrefix = []byte("k8s\x00")

// fetcher does the raw requests of the floor.
type fetcher struct {
	hc *http.Client
	cs *kubernetes.Clientset // builds the URLs
	p  params
}

func newFetcher(cfg *rest.Config, cs *kubernetes.Clientset, p params) (*fetcher, error) {
	c := rest.CopyConfig(cfg)
	c.Timeout = 5 * time.Minute
	hc, err := rest.HTTPClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("HTTP client for the floor: %w", err)
	}
	return &fetcher{hc: hc, cs: cs, p: p}, nil
}

// floorClient is the floor's column for one wire format.
func (f *fetcher) floorClient(name, accept string) client {
	return client{
		name:  name,
		cases: []string{"a", "b"},
		floor: func(ctx context.Context, caseID string) (runResult, error) {
			start := time.Now()
			var rep map[string]any
			var err error
			switch caseID {
			case "a":
				rep, err = f.floorA(ctx, accept)
			case "b":
				rep, err = f.floorB(ctx, accept)
			default:
				err = fmt.Errorf("the floor has no case %s", caseID)
			}
			if err != nil {
				return runResult{}, fmt.Errorf("%s %s: %w", name, caseID, err)
			}
			return runResult{Client: name, WallMS: ms(time.Since(start)), Reported: rep}, nil
		},
	}
}

// floorA fetches the ConfigMaps of a as a does: pages of 500.
func (f *fetcher) floorA(ctx context.Context, accept string) (map[string]any, error) {
	f.hc.CloseIdleConnections() // a fresh connection, as a new client process has
	start := time.Now()
	pages, n, err := f.pagedList(ctx, fixture.NamespaceList, "configmaps", accept)
	if err != nil {
		return nil, err
	}
	return map[string]any{"elapsed_ms": ms(time.Since(start)), "pages": pages, "bytes": n}, nil
}

// floorB fetches the Pods of b three ways, each on a fresh connection: as a
// watch-list (kubegen and client-go sync so), in pages of 500 (kube-rs
// does), and in one unpaged GET.
func (f *fetcher) floorB(ctx context.Context, accept string) (map[string]any, error) {
	ns := fixture.NamespacePods
	f.hc.CloseIdleConnections()
	start := time.Now()
	events, wlBytes, err := f.watchList(ctx, ns, "pods", accept)
	if err != nil {
		return nil, err
	}
	if events < f.p.scale {
		return nil, fmt.Errorf("watch-list of %s sent %d initial events, want at least %d", ns, events, f.p.scale)
	}
	watchList := time.Since(start)

	f.hc.CloseIdleConnections()
	start = time.Now()
	pages, pagedBytes, err := f.pagedList(ctx, ns, "pods", accept)
	if err != nil {
		return nil, err
	}
	paged := time.Since(start)

	f.hc.CloseIdleConnections()
	start = time.Now()
	u := f.cs.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").URL()
	body, err := f.get(ctx, u, accept)
	if err != nil {
		return nil, err
	}
	listBytes, err := io.Copy(io.Discard, body)
	body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the pods of %s: %w", ns, err)
	}
	list := time.Since(start)
	f.hc.CloseIdleConnections()
	return map[string]any{
		"watchlist_ms":     ms(watchList),
		"watchlist_events": events,
		"watchlist_bytes":  wlBytes,
		"paged_list_ms":    ms(paged),
		"paged_list_pages": pages,
		"paged_list_bytes": pagedBytes,
		"list_ms":          ms(list),
		"list_bytes":       listBytes,
	}, nil
}

// get starts a GET of u and returns its body once the status is 200.
func (f *fetcher) get(ctx context.Context, u *url.URL, accept string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := f.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", u.Path, resp.Status, msg)
	}
	if want := strings.TrimPrefix(accept, "application/"); !strings.Contains(resp.Header.Get("Content-Type"), want) {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: asked for %s, got %q", u.Path, accept, resp.Header.Get("Content-Type"))
	}
	return resp.Body, nil
}

// pagedList reads every page of resource in ns (limit 500, following the
// continue tokens); it decodes nothing but each page's continue token.
func (f *fetcher) pagedList(ctx context.Context, ns, resource, accept string) (pages int, n int64, err error) {
	token := ""
	for {
		req := f.cs.CoreV1().RESTClient().Get().Namespace(ns).Resource(resource).Param("limit", "500")
		if token != "" {
			req = req.Param("continue", token)
		}
		body, err := f.get(ctx, req.URL(), accept)
		if err != nil {
			return pages, n, err
		}
		data, err := io.ReadAll(body)
		body.Close()
		if err != nil {
			return pages, n, fmt.Errorf("reading page %d of the %s of %s: %w", pages+1, resource, ns, err)
		}
		pages++
		n += int64(len(data))
		if accept == acceptProtobuf {
			token, err = protobufContinue(data)
		} else {
			token, err = jsonContinue(data)
		}
		if err != nil {
			return pages, n, fmt.Errorf("page %d of the %s of %s: %w", pages, resource, ns, err)
		}
		if token == "" {
			return pages, n, nil
		}
	}
}

// watchList reads a watch-list (the initial events streamed, as client-go's
// and kubegen's reflectors ask for them) until the bookmark that ends the
// initial events, and returns the ADDED events and the bytes read. Of each
// event it reads only the type.
func (f *fetcher) watchList(ctx context.Context, ns, resource, accept string) (events int, n int64, err error) {
	u := f.cs.CoreV1().RESTClient().Get().Namespace(ns).Resource(resource).
		Param("watch", "true").
		Param("sendInitialEvents", "true").
		Param("resourceVersionMatch", "NotOlderThan").
		Param("allowWatchBookmarks", "true").URL()
	body, err := f.get(ctx, u, accept)
	if err != nil {
		return 0, 0, err
	}
	defer body.Close() // resets the stream: the server would keep watching
	br := bufio.NewReaderSize(body, 1<<20)
	var frame []byte
	for {
		var typ string
		if accept == acceptProtobuf {
			// Frames: a 4-byte big-endian length, then a WatchEvent.
			var hdr [4]byte
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				return events, n, fmt.Errorf("watch-list ended after %d events, before the %s bookmark: %w", events, initialEventsEnd, err)
			}
			size := int(binary.BigEndian.Uint32(hdr[:]))
			if cap(frame) < size {
				frame = make([]byte, size)
			}
			frame = frame[:size]
			if _, err := io.ReadFull(br, frame); err != nil {
				return events, n, fmt.Errorf("watch-list frame after %d events: %w", events, err)
			}
			n += int64(4 + size)
			typ, err = protobufWatchEventType(frame)
			if err != nil {
				return events, n, fmt.Errorf("watch-list frame after %d events: %w", events, err)
			}
		} else {
			// Lines: {"type":"ADDED","object":{...}}
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				rest, err2 := br.ReadBytes('\n')
				line, err = append(append([]byte(nil), line...), rest...), err2
			}
			if err != nil {
				return events, n, fmt.Errorf("watch-list ended after %d events, before the %s bookmark: %w", events, initialEventsEnd, err)
			}
			n += int64(len(line))
			frame = line
			const prefix = `{"type":"`
			if rest, ok := bytes.CutPrefix(line, []byte(prefix)); ok {
				if i := bytes.IndexByte(rest, '"'); i >= 0 {
					typ = string(rest[:i])
				}
			}
		}
		switch typ {
		case "ADDED":
			events++
		case "BOOKMARK":
			if bytes.Contains(frame, []byte(initialEventsEnd)) {
				return events, n, nil
			}
		case "ERROR":
			return events, n, fmt.Errorf("watch-list error event: %s", tail(string(frame), 500))
		default:
			return events, n, fmt.Errorf("watch-list event of type %q in the initial events", typ)
		}
	}
}

// protobufField returns the first length-delimited field num of message b.
func protobufField(b []byte, num protowire.Number) ([]byte, error) {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil, protowire.ParseError(l)
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil, protowire.ParseError(l)
			}
			return v, nil
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return nil, protowire.ParseError(l)
		}
		b = b[l:]
	}
	return nil, nil
}

// protobufRaw returns the message inside the envelope: k8s\0 +
// runtime.Unknown{typeMeta = 1, raw = 2, ...}.
func protobufRaw(body []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(body, protobufPrefix)
	if !ok {
		return nil, fmt.Errorf("no protobuf envelope (starts %q)", tail(string(body[:min(len(body), 16)]), 16))
	}
	return protobufField(rest, 2)
}

// protobufContinue is ListMeta.continue (3) of a list's metadata (1).
func protobufContinue(body []byte) (string, error) {
	list, err := protobufRaw(body)
	if err != nil {
		return "", err
	}
	meta, err := protobufField(list, 1)
	if err != nil {
		return "", err
	}
	token, err := protobufField(meta, 3)
	return string(token), err
}

// protobufWatchEventType is WatchEvent.type (1) of a watch frame: a bare
// metav1.WatchEvent, whose object (2) is a RawExtension holding the object
// in its envelope.
func protobufWatchEventType(frame []byte) (string, error) {
	typ, err := protobufField(frame, 1)
	return string(typ), err
}

// jsonContinue reads a JSON list's metadata.continue; the server writes
// metadata before items, so the items are not read.
func jsonContinue(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", fmt.Errorf("not a JSON object: %v", err)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", err
		}
		if key == "metadata" {
			var meta struct {
				Continue string `json:"continue"`
			}
			err := dec.Decode(&meta)
			return meta.Continue, err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", err
		}
	}
	return "", nil
}
