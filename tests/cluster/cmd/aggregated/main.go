// Command aggregated is a small aggregated API server for the generator's
// --from-cluster test: the test cluster's kube-apiserver proxies the group
// agg.kubegen.test/v1 to it through an APIService. It serves, over TLS, the
// group's discovery, its OpenAPI v3 document, and a fixed list of the
// cluster-scoped kind Gizmo (get and list; nothing else).
//
//	aggregated CERT KEY
//
// It listens on a free port of 127.0.0.1 and prints that port as its first
// line on stdout.
package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

const (
	group        = "agg.kubegen.test"
	version      = "v1"
	groupVersion = group + "/" + version
	prefix       = "/apis/" + groupVersion
	schemaPrefix = "test.kubegen.agg.v1."
	metaPrefix   = "io.k8s.apimachinery.pkg.apis.meta.v1."
)

type obj = map[string]any

func gizmo(name string, size int) obj {
	return obj{
		"apiVersion": groupVersion, "kind": "Gizmo",
		"metadata": obj{"name": name, "resourceVersion": "1", "uid": "gizmo-" + name},
		"spec":     obj{"size": size, "color": "teal"},
	}
}

var gizmos = []obj{gizmo("alpha", 1), gizmo("beta", 2), gizmo("gamma", 3)}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: aggregated CERT KEY")
		os.Exit(2)
	}
	cert, err := tls.LoadX509KeyPair(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "aggregated:", err)
		os.Exit(1)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "aggregated:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)

	apiGroup := obj{
		"kind": "APIGroup", "apiVersion": "v1", "name": group,
		"versions":         []obj{{"groupVersion": groupVersion, "version": version}},
		"preferredVersion": obj{"groupVersion": groupVersion, "version": version},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apis", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, obj{"kind": "APIGroupList", "apiVersion": "v1", "groups": []obj{apiGroup}})
	})
	mux.HandleFunc("GET /apis/"+group, func(w http.ResponseWriter, _ *http.Request) { reply(w, apiGroup) })
	mux.HandleFunc("GET "+prefix, func(w http.ResponseWriter, _ *http.Request) {
		reply(w, obj{
			"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": groupVersion,
			"resources": []obj{{
				"name": "gizmos", "singularName": "gizmo", "namespaced": false, "kind": "Gizmo",
				"verbs": []string{"get", "list"},
			}},
		})
	})
	mux.HandleFunc("GET "+prefix+"/gizmos", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, obj{
			"apiVersion": groupVersion, "kind": "GizmoList",
			"metadata": obj{"resourceVersion": "1"}, "items": gizmos,
		})
	})
	mux.HandleFunc("GET "+prefix+"/gizmos/{name}", func(w http.ResponseWriter, r *http.Request) {
		for _, g := range gizmos {
			if g["metadata"].(obj)["name"] == r.PathValue("name") {
				reply(w, g)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(obj{
			"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
			"message": fmt.Sprintf("gizmos.%s %q not found", group, r.PathValue("name")),
		})
	})
	mux.HandleFunc("GET /openapi/v3", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, obj{"paths": obj{
			strings.TrimPrefix(prefix, "/"): obj{"serverRelativeURL": "/openapi/v3" + prefix + "?hash=1"},
		}})
	})
	mux.HandleFunc("GET /openapi/v3"+prefix, func(w http.ResponseWriter, _ *http.Request) { reply(w, openAPI()) })
	// Health checks of the aggregator.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, "aggregated:", err)
		os.Exit(1)
	}
}

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func gvk(kind string) []obj {
	return []obj{{"group": group, "version": version, "kind": kind}}
}

func operation(action, id, kind string) obj {
	return obj{
		"operationId": id,
		"description": action + " " + kind,
		"responses": obj{"200": obj{
			"description": "OK",
			"content":     obj{"application/json": obj{"schema": ref(schemaPrefix + kind)}},
		}},
		"x-kubernetes-action":             action,
		"x-kubernetes-group-version-kind": gvk("Gizmo")[0],
	}
}

// openAPI is the group's OpenAPI v3 document, shaped as the API server's own.
func openAPI() obj {
	str := obj{"type": "string"}
	return obj{
		"openapi": "3.0.0",
		"info":    obj{"title": "agg.kubegen.test", "version": version},
		"paths": obj{
			prefix + "/gizmos": obj{"get": operation("list", "listAggKubegenTestV1Gizmo", "GizmoList")},
			prefix + "/gizmos/{name}": obj{
				"get": operation("get", "readAggKubegenTestV1Gizmo", "Gizmo"),
				"parameters": []obj{{
					"name": "name", "in": "path", "required": true, "description": "name of the Gizmo",
					"schema": str,
				}},
			},
		},
		"components": obj{"schemas": obj{
			schemaPrefix + "Gizmo": obj{
				"description": "A gizmo, served by an aggregated API server.",
				"type":        "object",
				"properties": obj{
					"apiVersion": str,
					"kind":       str,
					"metadata":   obj{"allOf": []obj{ref(metaPrefix + "ObjectMeta")}, "default": obj{}},
					"spec":       obj{"allOf": []obj{ref(schemaPrefix + "GizmoSpec")}, "default": obj{}},
				},
				"x-kubernetes-group-version-kind": gvk("Gizmo"),
			},
			schemaPrefix + "GizmoSpec": obj{
				"description": "What a gizmo is.",
				"type":        "object",
				"required":    []string{"size"},
				"properties": obj{
					"size":  obj{"type": "integer", "format": "int32", "description": "How big."},
					"color": obj{"type": "string", "description": "Its color."},
				},
			},
			schemaPrefix + "GizmoList": obj{
				"description": "A list of gizmos.",
				"type":        "object",
				"required":    []string{"items"},
				"properties": obj{
					"apiVersion": str,
					"kind":       str,
					"items":      obj{"type": "array", "items": obj{"allOf": []obj{ref(schemaPrefix + "Gizmo")}, "default": obj{}}},
					"metadata":   obj{"allOf": []obj{ref(metaPrefix + "ListMeta")}, "default": obj{}},
				},
				"x-kubernetes-group-version-kind": gvk("GizmoList"),
			},
			metaPrefix + "ObjectMeta": obj{
				"type": "object",
				"properties": obj{
					"name": str, "namespace": str, "resourceVersion": str, "uid": str,
				},
			},
			metaPrefix + "ListMeta": obj{
				"type":       "object",
				"properties": obj{"continue": str, "resourceVersion": str},
			},
		}},
	}
}
