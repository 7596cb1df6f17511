package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubegen/kubegen/bench/go/internal/fixture"
)

// benchNamespaces are every namespace the harness creates; cleanup deletes
// exactly these.
var benchNamespaces = []string{fixture.NamespaceList, fixture.NamespacePods, fixture.NamespaceWatch, fixture.NamespaceCrud, fixture.NamespaceCtrl}

// The names of the i-th fixture ConfigMap of a, c and h.
func listName(i int) string  { return "cm-" + strconv.Itoa(i) }
func watchName(i int) string { return "watch-" + strconv.Itoa(i) }
func ctrlName(i int) string  { return "ctrl-" + strconv.Itoa(i) }

// createConfigMaps creates n fixture ConfigMaps named name(0..n-1) in ns,
// parallel at a time.
func createConfigMaps(ctx context.Context, cs kubernetes.Interface, ns string, n, parallel int, name func(int) string) error {
	return createAll(ctx, n, parallel, func(ctx context.Context, i int) error {
		name := name(i)
		_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, fixture.ConfigMap(ns, name, i), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating configmap %s/%s: %w", ns, name, err)
		}
		return nil
	})
}

// ensureNamespace creates ns, first waiting out a Terminating namespace of
// the same name left by an earlier run.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		existing, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
		if existing.Status.Phase != corev1.NamespaceTerminating {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s is still terminating after 3 minutes", ns)
		}
		time.Sleep(2 * time.Second)
	}
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"bench.kubegen.io/owned": "true"}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return nil
}

// waitDefaultServiceAccount waits for kube-controller-manager to create the
// namespace's default ServiceAccount: pod admission rejects pods before that.
func waitDefaultServiceAccount(ctx context.Context, cs kubernetes.Interface, ns string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("serviceaccount %s/default: %w", ns, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("serviceaccount %s/default not created within a minute: is kube-controller-manager running?", ns)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// createAll runs create(i) for i in [0, n) with `parallel` concurrent
// requests and returns the first error. AlreadyExists counts as success, so a
// rerun fills in what an interrupted one left out.
func createAll(ctx context.Context, n, parallel int, create func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := create(ctx, i); err != nil && !apierrors.IsAlreadyExists(err) {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return firstErr
}

// createFixtures makes the objects every workload reads: scale ConfigMaps in
// bench-list, scale Pods in bench-pods, watchObjects ConfigMaps in
// bench-watch, the empty bench-crud namespace, and, when workload h runs
// (ctrlObjects > 0), ctrlObjects ConfigMaps in bench-ctrl.
func createFixtures(ctx context.Context, cs kubernetes.Interface, p params) error {
	for _, ns := range benchNamespaces {
		if ns == fixture.NamespaceCtrl && p.ctrlObjects == 0 {
			continue
		}
		if err := ensureNamespace(ctx, cs, ns); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := createConfigMaps(ctx, cs, fixture.NamespaceList, p.scale, p.parallel, listName); err != nil {
		return err
	}
	logf("fixtures: %d configmaps in %s (%.1fs)", p.scale, fixture.NamespaceList, time.Since(start).Seconds())

	start = time.Now()
	if err := waitDefaultServiceAccount(ctx, cs, fixture.NamespacePods); err != nil {
		return err
	}
	owner, err := cs.CoreV1().ConfigMaps(fixture.NamespacePods).Create(ctx, fixture.Owner(fixture.NamespacePods), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		owner, err = cs.CoreV1().ConfigMaps(fixture.NamespacePods).Get(ctx, fixture.OwnerName, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("owner configmap %s/%s: %w", fixture.NamespacePods, fixture.OwnerName, err)
	}
	uid := types.UID(owner.UID)
	err = createAll(ctx, p.scale, p.parallel, func(ctx context.Context, i int) error {
		name := "pod-" + strconv.Itoa(i)
		_, err := cs.CoreV1().Pods(fixture.NamespacePods).Create(ctx, fixture.Pod(fixture.NamespacePods, name, i, uid), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating pod %s/%s: %w", fixture.NamespacePods, name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	logf("fixtures: %d pods in %s (%.1fs)", p.scale, fixture.NamespacePods, time.Since(start).Seconds())

	if err := createConfigMaps(ctx, cs, fixture.NamespaceWatch, p.watchObjects, p.parallel, watchName); err != nil {
		return err
	}
	logf("fixtures: %d configmaps in %s", p.watchObjects, fixture.NamespaceWatch)

	if p.ctrlObjects == 0 {
		return nil
	}
	start = time.Now()
	if err := createConfigMaps(ctx, cs, fixture.NamespaceCtrl, p.ctrlObjects, p.parallel, ctrlName); err != nil {
		return err
	}
	logf("fixtures: %d configmaps in %s (%.1fs)", p.ctrlObjects, fixture.NamespaceCtrl, time.Since(start).Seconds())
	// The controllers of h reconcile every ConfigMap of the namespace,
	// kube-root-ca.crt included (see ctrlConfigMaps): wait until it is there.
	return waitConfigMap(ctx, cs, fixture.NamespaceCtrl, rootCAConfigMap)
}

// rootCAConfigMap is the ConfigMap kube-controller-manager's root-CA
// publisher puts in every namespace.
const rootCAConfigMap = "kube-root-ca.crt"

// ctrlConfigMaps is how many ConfigMaps bench-ctrl holds, all of which the
// controllers of h reconcile: the fixtures and kube-root-ca.crt.
func ctrlConfigMaps(p params) int { return p.ctrlObjects + 1 }

// waitConfigMap waits for kube-controller-manager to create ConfigMap ns/name.
func waitConfigMap(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("configmap %s/%s: %w", ns, name, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("configmap %s/%s not created within a minute: is kube-controller-manager running?", ns, name)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dumpPodList writes the server's list of the fixture pods in the wire
// format accept names to path: the input of the decode workloads (g in
// JSON, gp in protobuf), so every client decodes the same bytes.
func dumpPodList(ctx context.Context, cs *kubernetes.Clientset, path, accept string) (int, error) {
	raw, err := cs.CoreV1().RESTClient().Get().Namespace(fixture.NamespacePods).Resource("pods").
		SetHeader("Accept", accept).DoRaw(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing pods of %s for the decode file: %w", fixture.NamespacePods, err)
	}
	if isPB := bytes.HasPrefix(raw, []byte("k8s\x00")); isPB != strings.Contains(accept, "protobuf") {
		return 0, fmt.Errorf("listing pods of %s for the decode file: asked for %s, got %q...", fixture.NamespacePods, accept, raw[:min(len(raw), 16)])
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return 0, fmt.Errorf("writing %s: %w", path, err)
	}
	return len(raw), nil
}

// deleteNamespaces deletes the bench namespaces and waits (bounded) until
// the namespace controller has removed them, so the shared cluster is left
// as it was found.
func deleteNamespaces(cs kubernetes.Interface, wait time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), wait+30*time.Second)
	defer cancel()
	for _, ns := range benchNamespaces {
		err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			logf("cleanup: deleting namespace %s: %v", ns, err)
		}
	}
	deadline := time.Now().Add(wait)
	for _, ns := range benchNamespaces {
		for {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				logf("cleanup: namespace %s still terminating; the namespace controller will finish it", ns)
				break
			}
			time.Sleep(time.Second)
		}
	}
	logf("cleanup: bench namespaces deleted")
}
