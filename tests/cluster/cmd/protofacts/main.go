// Command protofacts lists the protobuf fields of the built-in kinds whose
// zero value, read from protobuf, means "unset".
//
// The generated.proto files give field numbers and wire types but not what
// Go's structs say about presence: a non-pointer field is always written to
// protobuf, even when zero, while JSON omits it (omitempty, omitzero). A
// client that reads protobuf into the same types as JSON needs to know which
// fields those are, or a read through protobuf would differ from a read
// through JSON (generateName: "" instead of absent). Go's reflection on the
// types the kube-apiserver is built from answers it exactly.
//
// Such fields: non-pointer scalars JSON omits when empty (omitempty),
// fields JSON omits when zero (omitzero), and non-pointer Time and MicroTime
// fields (a zero time is JSON null).
//
// Output: one line per such field, "<proto message>\t<field name>", sorted.
package main

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
)

func main() {
	seen := map[reflect.Type]bool{}
	var lines []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		message := strings.ReplaceAll(t.PkgPath(), "/", ".") + "." + t.Name()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			walk(f.Type)
			tag, ok := f.Tag.Lookup("protobuf")
			if !ok || f.Type.Kind() == reflect.Pointer {
				continue
			}
			name := ""
			for _, part := range strings.Split(tag, ",") {
				if n, found := strings.CutPrefix(part, "name="); found {
					name = n
				}
			}
			json := strings.Split(f.Tag.Get("json"), ",")
			omitempty, omitzero := false, false
			for _, opt := range json[1:] {
				omitempty = omitempty || opt == "omitempty"
				omitzero = omitzero || opt == "omitzero"
			}
			scalar := false
			switch f.Type.Kind() {
			case reflect.String, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
				scalar = true
			}
			// A zero Time marshals to JSON null, which reads as unset.
			isTime := f.Type == reflect.TypeOf(metav1.Time{}) || f.Type == reflect.TypeOf(metav1.MicroTime{})
			if (omitempty && scalar) || omitzero || isTime {
				lines = append(lines, message+"\t"+name)
			}
		}
	}
	for _, t := range scheme.Scheme.AllKnownTypes() {
		walk(t)
	}
	for _, v := range []any{metav1.Status{}, metav1.WatchEvent{}, metav1.PartialObjectMetadata{}, metav1.PartialObjectMetadataList{}, metav1.APIResourceList{}, metav1.APIGroupList{}} {
		walk(reflect.TypeOf(v))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
}
