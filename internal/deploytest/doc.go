// Package deploytest holds tests of the artefacts under deploy/ (the
// Kubernetes manifests in deploy/kubernetes): they decode strictly into
// the Kubernetes API types, refer to each other consistently and carry a
// collector configuration the collector accepts. It has no production code.
package deploytest
